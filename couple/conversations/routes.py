"""Conversations page and its changes: thin views that parse, call one operation, answer."""
import hashlib
import json

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user, login_required

from ..access import current_couple
from ..models_base import utcnow
from ..socket_changes import over_socket
from ..state import state_for
from ..web import done, op_id_from, payload
from . import operations
from .labels import ENTRY_LABELS, ROUND_STATUS_LABELS, break_words

bp = Blueprint("conversations", __name__, url_prefix="/conversations")


def _then(conversation_id=None):
    return url_for("conversations.index",
                   _anchor=f"conv-{conversation_id}" if conversation_id else None)


def _sig(item: dict) -> str:
    """A card's fingerprint: the page's script redraws only the cards whose item changed."""
    return hashlib.sha256(json.dumps(item, sort_keys=True).encode()).hexdigest()[:16]


def _cards_context() -> dict:
    """What a card needs to be drawn (templates/conversations/_cards.html), on the page and in
    the cards a page asks for."""
    return dict(entry_labels=ENTRY_LABELS, round_labels=ROUND_STATUS_LABELS,
                break_words=break_words, max_waiting=operations.MAX_WAITING, sig_of=_sig,
                back_at_passed=lambda item: operations.back_at_passed(item, utcnow()))


@bp.get("")
@login_required
def index():
    """Every conversation of the couple: open ones first, each round with its steps. With
    ?cards=<id> (repeated), only those conversations' cards: what a page asks for when they
    changed, instead of the whole page, which grows with every conversation ever had."""
    if current_user.active_couple is None:
        return render_template("conversations/unlinked.html")
    couple = current_couple()
    partner = couple.partner_of(current_user)
    # A closed conversation is a summary in the state (operations.closed_summary); ?read=<id>
    # shows one in full, in its place. Only an id is in the address, never its words.
    read = request.args.get("read", type=int)
    found = operations.items_for(couple, [read]) if read is not None else []
    reading = found[0] if found and found[0]["status"] == "closed" else None
    # How many of this person's questions and feelings wait on the partner: the cap's hint.
    waiting = operations.waiting_count(couple.id, current_user.id)
    if "cards" in request.args:
        wanted = request.args.getlist("cards", type=int)
        return render_template(
            "conversations/cards.html", items=operations.state_items_for(couple, wanted),
            partner=partner, reading=reading, waiting=waiting, **_cards_context())
    return render_template(
        "conversations/index.html", state=state_for(current_user), partner=partner,
        reading=reading, page_script="conversations", waiting=waiting, **_cards_context())


@over_socket("conversations.open_")
def open_change(user, data: dict) -> dict:
    return operations.open_conversation(user, kind=data.get("kind"), title=data.get("title"),
                                        text=data.get("text"), op_id=op_id_from(data))


@bp.post("")
@login_required
def open_():
    """Open a conversation with a question or a feeling; both partners' pages show it (also
    over the socket: couple/socket_changes.py)."""
    item = open_change(current_user, payload())
    return done(item, then=_then(item["id"]), message="Sent. There is no rush for an answer.")


@bp.get("/print")
@login_required
def print_summary():
    """A clean page to print or bring to a counsellor: the conversations the couple chose
    (ticked on this page; nothing is stored about the choice), beside the agreed boundaries."""
    couple = current_couple()
    partner = couple.partner_of(current_user)
    convs = operations.state_collections(current_user)[operations.CONVERSATIONS]
    wanted = {i for i in request.args.getlist("c", type=int)}
    # Read in full here: the state holds closed conversations as summaries only.
    chosen = operations.items_for(couple, sorted(wanted))
    agreed, groups, group_labels = [], (), {}
    try:
        from ..boundaries import operations as boundaries
        from ..boundaries.content import GROUP_LABELS, GROUPS
    except ModuleNotFoundError:  # pragma: no cover (a build without boundaries)
        pass
    else:
        view = boundaries.overview(couple)
        agreed = [b for b in view["boundaries"] if b["agreement"]["state"] == "agreed"]
        groups, group_labels = GROUPS, GROUP_LABELS
    return render_template(
        "conversations/print.html", convs=sorted(convs.values(), key=lambda c: c["id"]),
        chosen=chosen, wanted=wanted, agreed=agreed, groups=groups, group_labels=group_labels,
        partner=partner, entry_labels=ENTRY_LABELS, round_labels=ROUND_STATUS_LABELS)


def _step(name, doc, call, message):
    """A step of a conversation: its change (served over the socket too) and its POST route.
    What a quick exit kept of the field sent is forgotten by the operation, in its change."""
    def change(user, data: dict, conversation_id: int) -> dict:
        return call(user, data, conversation_id)

    def view(conversation_id):
        item = change(current_user, payload(), conversation_id=conversation_id)
        return done(item, then=_then(conversation_id), message=message)

    change.__name__ = f"{name}_change"
    view.__name__ = name
    view.__doc__ = doc
    over_socket(f"conversations.{name}")(change)
    bp.post(f"/<int:conversation_id>/{name}", endpoint=name)(login_required(view))


_step("answer", "Answer a question openly, or say not ready yet, or with our counsellor.",
      lambda u, d, cid: operations.answer(u, cid, d.get("kind"), d.get("text", ""),
                                          op_id_from(d)),
      "Sent. Thank you for answering.")
_step("heard", "The listener writes what they heard, in their own words.",
      lambda u, d, cid: operations.hear_back(u, cid, d.get("text"), op_id_from(d)),
      "Sent. Your partner can say whether that is it.")
_step("confirm", "The speaker confirms \u201cyes, that's it\u201d, or adds what was missed.",
      lambda u, d, cid: operations.confirm(u, cid, text=d.get("text", ""), op_id=op_id_from(d)),
      "Sent.")
_step("round", "Either partner asks the next question or shares the next feeling.",
      lambda u, d, cid: operations.next_round(u, cid, kind=d.get("kind"), text=d.get("text"),
                                              op_id=op_id_from(d)),
      "Sent. There is no rush for an answer.")
_step("withdraw", "Take back your own question or feeling while it is unanswered.",
      lambda u, d, cid: operations.withdraw(u, cid, op_id_from(d)),
      "Withdrawn. Your partner sees that it was withdrawn, not the words.")
_step("pause", "Take a break, for both of you, until a time you choose.",
      lambda u, d, cid: operations.pause(u, cid, until=d.get("until"), tz=d.get("tz") or "UTC",
                                         note=d.get("note", ""), op_id=op_id_from(d)),
      "On a break. It waits for both of you.")
_step("resume", "Come back to a conversation after a break.",
      lambda u, d, cid: operations.resume(u, cid, op_id_from(d)), "Back to it.")
_step("close", "Close a conversation; what was said stays.",
      lambda u, d, cid: operations.close(u, cid, op_id_from(d)),
      "Closed. What was said stays.")
