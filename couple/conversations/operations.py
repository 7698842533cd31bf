"""Conversation operations: open, answer, hear back, confirm or add, next round, withdraw,
take a break, come back, close.

The one path (couple/realtime.py), through events.change: each operation takes the couple's
row, answers a repeated op id with its first result, checks and changes rows, records the
couple's event with the conversation's whole item, forgets what a quick exit kept of the
fields it sent, remembers the op id, and commits; the event is sent after the commit.

Concurrency: every step names the round state it acts on; the couple's row lock orders two
partners' steps, and a step that no longer fits (the other answered meanwhile, the conversation
was paused) is a 400 in words, with nothing changed.
"""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from .. import events
from ..access import couple_of, couple_row
from ..errors import Forbidden, InvalidInput, NotFound
from ..extensions import db
from ..guides import drafts
from ..models_base import utcnow
from ..pairing.models import Couple
from ..text import checked_text
from .models import ENDED_ROUND, KINDS, Conversation, ConversationEntry, ConversationRound

CONVERSATIONS = "conversations"
MAX_TITLE = 120
MAX_TEXT = 4000
MAX_NOTE = 280
# No interrogation: at most this many of one partner's questions or feelings wait on the other
# at once (docs/safety.md, conversations).
MAX_WAITING = 3
MAX_ROUNDS = 50
MAX_ENTRIES = 40  # per round: "what I heard" and "what was missed" may go back and forth
MAX_BREAK_DAYS = 30
MAX_READ = 100  # conversations read in full at once (the counsellor summary)
ANSWER_KINDS = ("answer", "not_ready", "counsellor")


# ---------------------------------------------------------------- helpers

def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _text(value, field: str, limit: int, *, what: str, required: bool = True) -> str:
    return checked_text(value, field, limit, what=what, required=required)


def _finish(change, couple_id: int, verb: str, item: dict, *drafts_sent: str) -> dict:
    """Record the event (the whole item), forget what a quick exit kept of the fields just
    sent, remember the op id and commit (events.change); the event is sent after commit."""
    change.record(events.couple_stream(couple_id), f"conversations.{verb}",
                  {"set": {CONVERSATIONS: {str(item["id"]): item}}})
    for key in drafts_sent:
        drafts.forget_draft(change.user, key)
    return change.applied(item)


def _conversation_step(user, conversation_id, op_id, step) -> dict:
    """What every step on one conversation shares: the couple's stream lock and the op id
    (events.change), a retried op answered with its first result, the conversation read for this
    couple (NotFound otherwise). `step(change, couple, c)` checks and changes it and returns
    `_finish(...)`."""
    couple = couple_of(user)
    with events.change(user, op_id, lock=events.couple_stream(couple.id)) as change:
        if change.repeated:
            return _first_answer(change, conversation_id)
        return step(change, couple, conversation_for(user, conversation_id))


def _first_answer(change, conversation_id=None, *, opened=None) -> dict:
    """The stored result of a retried op id, if that op was this same step: an op id is unique
    per person, not per operation, so one used again for another conversation (or for
    something else altogether) would be answered with that other thing and "ok" while the words
    just sent were dropped. That is refused in words instead, with nothing changed."""
    result = change.result
    same = isinstance(result, dict) and "rounds" in result
    if same and opened is not None:
        title, kind = opened
        first = (result.get("rounds") or [{}])[0]
        same = (result.get("title") == title and first.get("kind") == kind
                and result.get("opener_id") == change.user_id)
    elif same:
        same = result.get("id") == conversation_id
    if not same:
        raise InvalidInput("This was sent with the mark of an earlier step. Reload the page and "
                           "send it again.", "op_id")
    return result


def conversation_for(user, conversation_id) -> Conversation:
    """The conversation if it belongs to this person's active couple; NotFound otherwise."""
    return couple_row(user, Conversation, conversation_id)


def _other(couple: Couple, user_id: int) -> int | None:
    return couple.supporting_id if couple.rebuilding_id == user_id else couple.rebuilding_id


def roles_of(rnd: ConversationRound, couple: Couple) -> tuple[int | None, int | None]:
    """(speaker, listener): whose words are heard in this round, and who hears them back."""
    other = _other(couple, rnd.opener_id)
    return (other, rnd.opener_id) if rnd.kind == "question" else (rnd.opener_id, other)


def _rounds(conversation_ids) -> dict[int, list[ConversationRound]]:
    out = {cid: [] for cid in conversation_ids}
    if not out:
        return out
    for r in db.session.scalars(
            select(ConversationRound)
            .where(ConversationRound.conversation_id.in_(list(out)))
            .order_by(ConversationRound.number)
            .execution_options(populate_existing=True)):
        out[r.conversation_id].append(r)
    return out


def _entries(round_ids) -> dict[int, list[ConversationEntry]]:
    out = {rid: [] for rid in round_ids}
    if not out:
        return out
    for e in db.session.scalars(
            select(ConversationEntry).where(ConversationEntry.round_id.in_(list(out)))
            .order_by(ConversationEntry.id).execution_options(populate_existing=True)):
        out[e.round_id].append(e)
    return out


def conversation_item(c: Conversation, couple: Couple, rounds, entries) -> dict:
    """The whole item both partners' clients hold for one conversation. No read, seen or typing
    field, ever (tests/conversations/test_conversations_operations.py checks the keys)."""
    out_rounds = []
    for r in rounds:
        speaker, listener = roles_of(r, couple)
        out_rounds.append({
            "number": r.number, "kind": r.kind, "opener_id": r.opener_id,
            "speaker_id": speaker, "listener_id": listener, "text": r.text,
            "status": r.status, "created_at": _iso(r.created_at),
            "withdrawn_at": _iso(r.withdrawn_at),
            "entries": [{"id": e.id, "kind": e.kind, "author_id": e.author_id, "text": e.text,
                         "at": _iso(e.created_at)} for e in entries.get(r.id, [])],
        })
    return {
        "id": c.id, "title": c.title, "opener_id": c.opener_id, "status": c.status,
        "pause": None if c.status != "paused" else {
            "by": c.paused_by, "until": c.pause_until, "tz": c.pause_tz,
            "note": c.pause_note or ""},
        "closed_by": c.closed_by, "created_at": _iso(c.created_at), "rounds": out_rounds,
    }


def closed_summary(c: Conversation, rounds_total: int) -> dict:
    """What both partners' clients hold of a closed conversation: its title and who closed it,
    not its words. A couple's history grows without end (300 conversations of 10 rounds made
    every page carry 2.7 MB of state and the conversations page 6 MB, fetched again on every
    step the partner sent); a closed conversation changes no more, and is read in full on
    request (the page's ?read=<id>, the counsellor summary, the export)."""
    return {"id": c.id, "title": c.title, "opener_id": c.opener_id, "status": "closed",
            "pause": None, "closed_by": c.closed_by, "created_at": _iso(c.created_at),
            "rounds": [], "rounds_total": rounds_total}


def items_for(couple: Couple, ids) -> list[dict]:
    """The whole items of these conversations of this couple (closed ones too), by id; ids of
    anything else are left out."""
    # Only ids a database can hold (a bigger one names nothing; PostgreSQL ids are 32-bit).
    ids = [i for i in ids if isinstance(i, int) and not isinstance(i, bool)
           and 0 < i <= 2**31 - 1][:MAX_READ]
    if not ids:
        return []
    convs = list(db.session.scalars(
        select(Conversation).where(Conversation.couple_id == couple.id, Conversation.id.in_(ids))
        .order_by(Conversation.id)))
    rounds = _rounds([c.id for c in convs])
    entries = _entries([r.id for rs in rounds.values() for r in rs])
    return [conversation_item(c, couple, rounds[c.id], entries) for c in convs]


def state_items_for(couple: Couple, ids) -> list[dict]:
    """These conversations of this couple as both partners' state holds them (closed ones
    folded to their summary, as state_collections gives them), by id."""
    return [folded(item) for item in items_for(couple, ids)]


def folded(item: dict) -> dict:
    """A whole item (items_for) as the state holds it: a closed one as its closed_summary."""
    if item["status"] != "closed":
        return item
    return {"id": item["id"], "title": item["title"], "opener_id": item["opener_id"],
            "status": "closed", "pause": None, "closed_by": item["closed_by"],
            "created_at": item["created_at"], "rounds": [],
            "rounds_total": len(item["rounds"])}


def _summary_for(c: Conversation) -> dict:
    db.session.flush()
    total = db.session.scalar(select(func.count(ConversationRound.id))
                              .where(ConversationRound.conversation_id == c.id)) or 0
    return closed_summary(c, total)


def item_for(c: Conversation, couple: Couple) -> dict:
    db.session.flush()
    rounds = _rounds([c.id])[c.id]
    return conversation_item(c, couple, rounds, _entries([r.id for r in rounds]))


def state_collections(user) -> dict:
    """Both partners hold every conversation of their current couple; nothing after an unlink."""
    out = {CONVERSATIONS: {}}
    couple = user.active_couple
    if couple is None:
        return out
    convs = list(db.session.scalars(
        select(Conversation).where(Conversation.couple_id == couple.id).order_by(Conversation.id)))
    # Closed ones as summaries (closed_summary): only conversations still going carry words.
    going = [c for c in convs if c.status != "closed"]
    rounds = _rounds([c.id for c in going])
    entries = _entries([r.id for rs in rounds.values() for r in rs])
    closed_ids = [c.id for c in convs if c.status == "closed"]
    totals = dict(db.session.execute(
        select(ConversationRound.conversation_id, func.count(ConversationRound.id))
        .where(ConversationRound.conversation_id.in_(closed_ids))
        .group_by(ConversationRound.conversation_id)).all()) if closed_ids else {}
    for c in convs:
        out[CONVERSATIONS][str(c.id)] = (
            closed_summary(c, totals.get(c.id, 0)) if c.status == "closed"
            else conversation_item(c, couple, rounds[c.id], entries))
    return out


def waiting_count(couple_id: int, user_id: int) -> int:
    """This person's questions and feelings waiting on the partner, in conversations not closed."""
    return db.session.scalar(
        select(func.count(ConversationRound.id))
        .join(Conversation, Conversation.id == ConversationRound.conversation_id)
        .where(Conversation.couple_id == couple_id, Conversation.status != "closed",
               ConversationRound.opener_id == user_id,
               ((ConversationRound.kind == "question") & (ConversationRound.status == "asked"))
               | ((ConversationRound.kind == "feeling") & (ConversationRound.status == "answered")))
    ) or 0


def _check_cap(couple_id: int, user_id: int) -> None:
    if waiting_count(couple_id, user_id) >= MAX_WAITING:
        raise InvalidInput(
            f"{MAX_WAITING} of your questions or feelings are already waiting on your partner. "
            "Give them room: close or withdraw one, or wait until they have answered.", "text")


def _kind(value) -> str:
    if value not in KINDS:
        raise InvalidInput("Choose a question or a feeling you want heard.", "kind")
    return value


def _new_round(c: Conversation, number: int, kind: str, user, text: str) -> ConversationRound:
    r = ConversationRound(conversation_id=c.id, number=number, kind=kind, opener_id=user.id,
                          text=text, status="asked" if kind == "question" else "answered",
                          created_at=utcnow())
    db.session.add(r)
    return r


def _current(c: Conversation) -> ConversationRound:
    return db.session.scalar(
        select(ConversationRound).where(ConversationRound.conversation_id == c.id)
        .order_by(ConversationRound.number.desc()).limit(1)
        .execution_options(populate_existing=True))


def _entry_count(rnd: ConversationRound) -> int:
    return db.session.scalar(select(func.count(ConversationEntry.id))
                             .where(ConversationEntry.round_id == rnd.id)) or 0


def _must_be_open(c: Conversation) -> None:
    if c.status == "closed":
        raise InvalidInput("This conversation is closed.", "status")
    if c.status == "paused":
        raise InvalidInput("This conversation is on a break. Come back to it first.", "status")


# ---------------------------------------------------------------- operations

def open_conversation(user, *, kind, title, text, op_id: str | None = None) -> dict:
    """Open a conversation with a question or a feeling; either partner can."""
    kind = _kind(kind)
    title = _text(title, "title", MAX_TITLE, what="title")
    text = _text(text, "text", MAX_TEXT, what="question" if kind == "question" else "feeling")
    couple = couple_of(user)
    with events.change(user, op_id, lock=events.couple_stream(couple.id)) as change:
        if change.repeated:
            return _first_answer(change, opened=(title, kind))
        if couple.partner_of(user) is None:
            raise NotFound("Link with your partner first.")
        _check_cap(couple.id, user.id)
        c = Conversation(couple_id=couple.id, opener_id=user.id, title=title, status="open",
                         created_at=utcnow())
        db.session.add(c)
        db.session.flush()
        _new_round(c, 1, kind, user, text)
        return _finish(change, couple.id, "started", item_for(c, couple),
                       "conversation:new:title", "conversation:new:text")


def answer(user, conversation_id, kind, text="", op_id: str | None = None) -> dict:
    """Answer a question openly, or say "not ready yet" or "with our counsellor" (both full,
    respected answers: the round is set aside and nothing more is asked of it)."""
    if kind not in ANSWER_KINDS:
        raise InvalidInput("Answer, or say you are not ready yet, or that you would like to "
                           "talk about it with your counsellor.", "kind")
    # "Not ready yet" and "with our counsellor" carry no words: the one answer field may hold
    # a half-typed answer that the person just chose not to send (it never reaches the partner).
    text = _text(text, "text", MAX_TEXT, what="answer") if kind == "answer" else ""

    def step(change, couple, c):
        _must_be_open(c)
        rnd = _current(c)
        speaker, _listener = roles_of(rnd, couple)
        if rnd.kind != "question" or rnd.status != "asked":
            raise InvalidInput("There is no question waiting for an answer here.", "kind")
        if speaker != user.id:
            raise Forbidden("This is your own question: your partner answers it.")
        db.session.add(ConversationEntry(round_id=rnd.id, author_id=user.id, kind=kind, text=text,
                                         created_at=utcnow()))
        rnd.status = "answered" if kind == "answer" else "set_aside"
        return _finish(change, couple.id, "answered", item_for(c, couple),
                       f"conversation:{c.id}:answer")

    return _conversation_step(user, conversation_id, op_id, step)


def hear_back(user, conversation_id, text, op_id: str | None = None) -> dict:
    """The listener writes, in their own words, what they heard."""
    text = _text(text, "text", MAX_TEXT, what="what you heard")

    def step(change, couple, c):
        _must_be_open(c)
        rnd = _current(c)
        _speaker, listener = roles_of(rnd, couple)
        if rnd.status != "answered":
            raise InvalidInput("There is nothing waiting to be heard back here.", "text")
        if listener != user.id:
            raise Forbidden("These are your own words: your partner says what they heard.")
        if _entry_count(rnd) >= MAX_ENTRIES:
            raise InvalidInput("This round has gone back and forth many times. Start a new round, "
                               "or take a break.", "text")
        db.session.add(ConversationEntry(round_id=rnd.id, author_id=user.id, kind="heard",
                                         text=text, created_at=utcnow()))
        rnd.status = "checking"
        return _finish(change, couple.id, "heard_back", item_for(c, couple),
                       f"conversation:{c.id}:heard")

    return _conversation_step(user, conversation_id, op_id, step)


def confirm(user, conversation_id, *, text="", op_id: str | None = None) -> dict:
    """The speaker answers "what I heard": "yes, that's it" (no text: the round ends heard), or
    adds what was missed (text: the listener hears it back again)."""
    added = _text(text, "text", MAX_TEXT, what="what was missed", required=False)

    def step(change, couple, c):
        _must_be_open(c)
        rnd = _current(c)
        speaker, _listener = roles_of(rnd, couple)
        if rnd.status != "checking":
            raise InvalidInput("There is no \u201cwhat I heard\u201d waiting for you here.", "text")
        if speaker != user.id:
            raise Forbidden("Your partner confirms whether you heard them.")
        db.session.add(ConversationEntry(round_id=rnd.id, author_id=user.id,
                                         kind="added" if added else "confirmed", text=added,
                                         created_at=utcnow()))
        rnd.status = "answered" if added else "heard"
        return _finish(change, couple.id, "added" if added else "confirmed",
                       item_for(c, couple), f"conversation:{c.id}:added")

    return _conversation_step(user, conversation_id, op_id, step)


def next_round(user, conversation_id, *, kind, text, op_id: str | None = None) -> dict:
    """Either partner asks the next question or shares the next feeling, once a round ended."""
    kind = _kind(kind)
    text = _text(text, "text", MAX_TEXT, what="question" if kind == "question" else "feeling")

    def step(change, couple, c):
        _must_be_open(c)
        rnd = _current(c)
        if rnd.status not in ENDED_ROUND:
            raise InvalidInput("Finish this round first: it is still going.", "text")
        if rnd.number >= MAX_ROUNDS:
            raise InvalidInput("This conversation is long: open a new one.", "text")
        _check_cap(couple.id, user.id)
        _new_round(c, rnd.number + 1, kind, user, text)
        return _finish(change, couple.id, "round", item_for(c, couple),
                       f"conversation:{c.id}:round")

    return _conversation_step(user, conversation_id, op_id, step)


# Copies of a round's words are only in what was written after the round was: what is read
# for them starts this long before its created_at, for clocks of several processes that differ.
SCRUB_MARGIN = timedelta(hours=1)


def _scrub_event_copies(couple_id: int, conversation_id: int, number: int,
                        since: datetime) -> None:
    """A withdrawn question or feeling leaves the couple's event log too (a tab replaying later
    gets no copy) and the stored answers of both partners' op ids. Each event keeps its seq (no
    gap); only the withdrawn words are emptied. Only rows written since the round was opened
    (`since`, less SCRUB_MARGIN) can hold them, and only those are read: a couple's log holds
    every change of the last PRUNE_DAYS (or of years, where nothing prunes it), and a
    withdrawal holds the couple's lock while it reads."""
    key = str(conversation_id)
    since = since - SCRUB_MARGIN
    for row in db.session.scalars(
            select(events.Event).where(events.Event.stream == events.couple_stream(couple_id),
                                       events.Event.created_at >= since,
                                       events.Event.type.like("conversations.%"))):
        item = (row.data or {}).get("set", {}).get(CONVERSATIONS, {}).get(key)
        if not item:
            continue
        rounds = [dict(r, text="") if r.get("number") == number else r
                  for r in item.get("rounds", [])]
        row.data = {"set": {CONVERSATIONS: {key: dict(item, rounds=rounds)}}}
    # The stored answers of both partners' op ids hold whole items too (a retry gets them).
    members = db.session.scalars(select(Couple).where(Couple.id == couple_id)).one()
    for row in db.session.scalars(select(events.AppliedOp).where(
            events.AppliedOp.created_at >= since, events.AppliedOp.user_id.in_(
                [m for m in (members.rebuilding_id, members.supporting_id) if m is not None]))):
        item = row.result
        if isinstance(item, dict) and item.get("id") == conversation_id and "rounds" in item:
            rounds = [dict(r, text="") if r.get("number") == number else r
                      for r in item.get("rounds", [])]
            row.result = dict(item, rounds=rounds)


def withdraw(user, conversation_id, op_id: str | None = None) -> dict:
    """Take back one's own question or feeling while nobody has answered it; the round shows
    that it was withdrawn, without the words."""
    def step(change, couple, c):
        if c.status == "closed":
            raise InvalidInput("This conversation is closed.", "status")
        rnd = _current(c)
        if rnd.opener_id != user.id:
            raise Forbidden("Only the person who wrote it can withdraw it; nobody changes the "
                            "other's words.")
        unanswered = rnd.status == ("asked" if rnd.kind == "question" else "answered") \
            and _entry_count(rnd) == 0
        if not unanswered:
            raise InvalidInput("It has been answered: words that were answered stay.", "status")
        rnd.status = "withdrawn"
        rnd.text = ""
        rnd.withdrawn_at = utcnow()
        _scrub_event_copies(couple.id, c.id, rnd.number, rnd.created_at)
        return _finish(change, couple.id, "withdrawn", item_for(c, couple))

    return _conversation_step(user, conversation_id, op_id, step)


def parse_back_at(value, tz) -> tuple[str, str]:
    """The local time chosen to come back ("YYYY-MM-DDTHH:MM" in an IANA time zone): in the
    future, within MAX_BREAK_DAYS."""
    if not isinstance(tz, str) or not tz or len(tz) > 64:
        raise InvalidInput("Choose your time zone (for example Europe/London).", "tz")
    try:
        zone = ZoneInfo(tz)
    except (ValueError, KeyError, OSError):
        raise InvalidInput("Choose your time zone (for example Europe/London).", "tz") from None
    if not isinstance(value, str) or len(value) not in (16, 19):
        raise InvalidInput("Choose when you would like to come back to it.", "until")
    try:
        local = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput("Choose when you would like to come back to it.", "until") from None
    if local.tzinfo is not None:
        raise InvalidInput("Choose when you would like to come back to it.", "until")
    at = local.replace(tzinfo=zone)
    now = utcnow()
    if at <= now:
        raise InvalidInput("Choose a time that is still to come.", "until")
    if at > now + timedelta(days=MAX_BREAK_DAYS):
        raise InvalidInput(f"Choose a time within {MAX_BREAK_DAYS} days.", "until")
    return local.strftime("%Y-%m-%dT%H:%M"), tz


def back_at_passed(c_item: dict, now: datetime | None = None) -> bool:
    """Whether the time chosen for a break has come (then either partner may come back to it)."""
    pause = c_item.get("pause") if isinstance(c_item, dict) else None
    if not pause:
        return True
    try:
        at = datetime.fromisoformat(pause["until"]).replace(tzinfo=ZoneInfo(pause["tz"]))
    except (ValueError, KeyError, TypeError, OSError):
        return True
    return (now or utcnow()) >= at


def pause(user, conversation_id, *, until, tz, note="", op_id: str | None = None) -> dict:
    """Take a break: either partner, at any point, for both, until a time they choose."""
    note = _text(note, "note", MAX_NOTE, what="note", required=False)
    until, tz = parse_back_at(until, tz)

    def step(change, couple, c):
        if c.status == "closed":
            raise InvalidInput("This conversation is closed.", "status")
        if c.status == "paused" and c.paused_by != user.id:
            raise InvalidInput("Your partner has already asked for a break.", "status")
        c.status = "paused"
        c.paused_by, c.pause_until, c.pause_tz, c.pause_note = user.id, until, tz, note
        return _finish(change, couple.id, "paused", item_for(c, couple),
                       f"conversation:{c.id}:note")

    return _conversation_step(user, conversation_id, op_id, step)


def resume(user, conversation_id, op_id: str | None = None) -> dict:
    """Come back to a conversation after a break: the one who asked for the break at any time,
    the other once the time they chose has come."""
    def step(change, couple, c):
        if c.status == "open":
            return item_for(c, couple)
        if c.status == "closed":
            raise InvalidInput("This conversation is closed.", "status")
        item = item_for(c, couple)
        if c.paused_by not in (None, user.id) and not back_at_passed(item):
            raise Forbidden("Your partner asked for this break; it lasts until the time they "
                            "chose.")
        c.status = "open"
        c.paused_by = c.pause_until = c.pause_tz = c.pause_note = None
        return _finish(change, couple.id, "resumed", item_for(c, couple))

    return _conversation_step(user, conversation_id, op_id, step)


def close(user, conversation_id, op_id: str | None = None) -> dict:
    """Close a conversation: either partner, at any point. What was said stays, for both."""
    def step(change, couple, c):
        if c.status == "closed":
            return _summary_for(c)
        c.status = "closed"
        c.closed_by = user.id
        c.paused_by = c.pause_until = c.pause_tz = c.pause_note = None
        return _finish(change, couple.id, "closed", _summary_for(c))

    return _conversation_step(user, conversation_id, op_id, step)


# ---------------------------------------------------------------- your data

def export_for(user) -> dict:
    """Every conversation of every couple this person was in: their own words and the
    partner's words they were shown."""
    return {"conversations": conversations_of(user)}


def conversations_of(user) -> list[dict]:
    """Every conversation of every couple this person was in: their own words, and the
    partner's words they were shown (a withdrawn question or feeling was emptied for both)."""
    from ..pairing.data import former_couples

    out = []
    for couple in former_couples(user):
        convs = list(db.session.scalars(
            select(Conversation).where(Conversation.couple_id == couple.id)
            .order_by(Conversation.id)))
        rounds = _rounds([c.id for c in convs])
        entries = _entries([r.id for rs in rounds.values() for r in rs])
        for c in convs:
            item = conversation_item(c, couple, rounds[c.id], entries)
            item["couple_id"] = couple.id
            item["you"] = user.id
            out.append(item)
    return out


def erase_for(user) -> None:
    """Account deletion (in the caller's transaction, after the unlink): the conversations this
    person opened (with everything in them), the rounds they opened and the steps they wrote go
    by CASCADE with the user row, as acknowledgements go with the marks they acknowledged. What
    else holds their words: the former partner's stored op results, which are whole conversation
    items of the ended couple; those rows go here (a retry of such an op meets an ended couple
    and is refused anyway). The couples' event logs go in couple/accounts/data.py."""
    from ..pairing.data import former_couples

    couples = former_couples(user)
    others = {m for c in couples for m in (c.rebuilding_id, c.supporting_id)
              if m is not None and m != user.id}
    if not others:
        return
    conv_ids = set(db.session.scalars(select(Conversation.id).where(
        Conversation.couple_id.in_([c.id for c in couples]))))
    for row in db.session.scalars(select(events.AppliedOp)
                                  .where(events.AppliedOp.user_id.in_(others))):
        result = row.result
        if isinstance(result, dict) and "rounds" in result and result.get("id") in conv_ids:
            db.session.delete(row)
