"""Home's "what now?" for one person: what is theirs to mark today, which boundaries wait for
*their* acceptance, and their next guide step. Computed from the same state a page starts from
(and the boundaries document), for the first render and for the page's live refresh alike.
"""
from ..guides.content import GUIDES
from ..guides.models import STEP_STATE_LABELS
from ..guides.operations import guide_of

SHOW_AT_MOST = 3  # calm and short: the rest is one link away
TEXT_AT_MOST = 140


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TEXT_AT_MOST else text[:TEXT_AT_MOST - 1].rstrip() + "…"


def due_today(user, data: dict) -> dict:
    """The person's own commitments that fall due today and are not marked yet."""
    items = [c for c in data.get("commitments", {}).values() if c["owner_id"] == user.id]
    marks = data.get("commitment_marks", {})
    due = [c for c in sorted(items, key=lambda c: c["id"])
           if c["due_today"] and f"{c['id']}:{c['today']}" not in marks]
    done = sum(1 for c in items if f"{c['id']}:{c['today']}" in marks)
    earlier = sum(len(c["unmarked"]) for c in items if c["status"] != "ended")
    return {"items": [{"id": c["id"], "wording": c["wording"], "day": c["today"]} for c in due],
            "done": done, "earlier": earlier, "any": bool(items)}


def waiting_for(user) -> dict:
    """Boundaries whose current wording this person has not accepted, and removals the partner
    proposed that wait for them."""
    couple = user.active_couple
    if couple is None:
        return {"items": [], "count": 0, "removals": 0, "total": 0}
    from ..boundaries.operations import overview

    view = overview(couple)
    waiting, removals = [], 0
    for b in view["boundaries"]:
        if user.id not in b["agreement"]["by"]:
            waiting.append({"id": b["id"], "text": _short(b["text"]),
                            "partner_accepted": bool(b["agreement"]["by"])})
        if b["removal_by"] and user.id not in b["removal_by"]:
            removals += 1
    # Empty boundaries (just added, nothing typed yet) are not something to accept yet.
    waiting = [w for w in waiting if w["text"]]
    # The ones the partner already accepted first: they only need this person now.
    waiting.sort(key=lambda w: not w["partner_accepted"])
    return {"items": waiting[:SHOW_AT_MOST], "count": len(waiting), "removals": removals,
            "total": view["total"]}


def next_step(user, data: dict) -> dict | None:
    """The first step the person is working on, else the first not started; None when every
    step is practised (or the person has no guide yet)."""
    role = guide_of(user)
    if role is None:
        return None
    guide = GUIDES[role]
    progress = data.get("progress", {})
    states = {s.number: (progress.get(f"{user.id}:{role}:{s.number}") or {}).get("state",
                                                                              "not_started")
              for s in guide.steps}
    for wanted in ("working", "not_started"):
        for step in guide.steps:
            if states[step.number] == wanted:
                return {"number": step.number, "title": step.title, "state": wanted,
                        "label": STEP_STATE_LABELS[wanted], "total": len(guide.steps)}
    return {"number": None, "title": None, "state": "practising", "label": None,
            "total": len(guide.steps)}


def what_now(user, data: dict) -> dict:
    return {"due": due_today(user, data), "waiting": waiting_for(user),
            "next": next_step(user, data), "linked": user.couple is not None}
