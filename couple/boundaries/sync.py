"""Boundaries sync and presence: the Yjs document's updates, sync steps and awareness.

Every use of the couple's replica goes through `store.locked` (the replica lock before any
database connection; on failure the transaction rolls back and the replica is rebuilt from the
log). Updates reach the couple's other tabs as binary "b:y" messages and presence as "b:aw",
both through couple/realtime.py, an update only once its log row has committed.
"""
import json
import logging

from flask import current_app

from .. import events, realtime
from ..config import BOUNDARIES_LIMITS
from ..errors import InvalidInput, OperationError
from ..extensions import db
from . import protocol, store
from .content import BOUNDARY_ID, read_boundaries
from .guard import MISSING, apply_checked

log = logging.getLogger(__name__)
EMPTY_UPDATE = b"\x00\x00"


def _setting(name: str) -> int:
    # Read per call: a test may change app.config; the default is config.py's.
    return int(current_app.config.get(name) or BOUNDARIES_LIMITS[name])


def max_update() -> int:
    return _setting("BOUNDARIES_MAX_UPDATE")


def max_doc() -> int:
    """Stored (compressed) bytes of one couple's document (see config.py)."""
    return _setting("BOUNDARIES_MAX_DOC")


def compact_every() -> int:
    return _setting("BOUNDARIES_COMPACT_EVERY")


def room_of(couple) -> str:
    return events.couple_stream(couple.id)


# ---------------------------------------------------------------- the Yjs document

def receive_message(couple, user, message, sid: str | None = None) -> dict:
    """One y-protocols message from an editor; the answer is what its ack carries."""
    kind, payload = protocol.parse(message)
    if kind == "step1":
        return {"ok": True, "replies": answer_step1(couple, payload)}
    if kind == "update":
        return receive_update(couple, user, payload, sid)
    return relay_awareness(couple, user, payload, sid)


def answer_step1(couple, state_vector: bytes) -> list[bytes]:
    """Sync step 2 (what the editor lacks) and our own step 1 (so it sends what we lack)."""
    with store.locked(couple.id) as replica:
        doc = replica.catch_up()
        try:
            missing = doc.get_update(state_vector)
        except ValueError as exc:
            raise InvalidInput("That sync message could not be read.") from exc
        db.session.rollback()  # read only: the connection goes back to the pool
        return [protocol.step2_message(missing), protocol.create_sync_message(doc)]


def max_message() -> int:
    """A step 2 carries the tab's whole history (its delete set above all): the cap on new
    content (max_update) is checked on what the document gains, not on this."""
    return max(max_update(), 2 * max_doc())


def receive_update(couple, user, update: bytes, sid: str | None = None) -> dict:
    """Check an editor's update, append what it adds durably, then send that to the couple's
    other tabs.

    Order matters: the replica applies it (refusing a malformed or out-of-shape one), the log
    row commits, and only then does anyone else see it or the sender get its ack. What is
    stored and relayed is what the document gained (yrs reports it per transaction): a step 2
    repeating history the server has adds nothing and is neither stored nor relayed.
    """
    # Read once: every commit or rollback below expires the ORM objects, and reading an id
    # again would cost a query (on the path of every keystroke).
    couple_id, user_id, room = couple.id, user.id, room_of(couple)
    too_big = len(update) > max_message() or (
        # With no document yet, all of it would be new.
        len(update) > max_update() and not store.has_doc(couple_id))
    if too_big:
        raise InvalidInput("That change is too big to take in one go.", code="too_big")
    if update == EMPTY_UPDATE:
        return {"ok": True}
    compact_now = False
    for attempt in range(2):
        try:
            with store.locked(couple_id) as replica:
                compact_now = _append(replica, couple_id, user_id, update, sid, room,
                                      may_compact_first=attempt == 0)
            break
        except _CompactFirst:
            store.compact(couple_id)  # store.locked rolled back and forgot the replica
    if compact_now:
        try:
            store.compact(couple_id)
        except Exception:  # noqa: BLE001  (the update is saved; compaction can wait)
            db.session.rollback()
            log.exception("boundaries compaction failed")
    return {"ok": True}


def _append(replica, couple_id, user_id, update, sid, room, *, may_compact_first) -> bool:
    """Under the replica lock: judge the update, append what it adds, commit; True when the
    log is due for compaction. A refusal after the guard applied the update forgets the
    replica (it may hold what the log does not); store.locked does so on any other failure."""
    applied = False
    try:
        seq, stored, since = store.lock_doc(couple_id, bump=True)
        doc = replica.catch_up(last_seq=seq - 1)
        applied = True  # if the guard itself fails, assume the worst
        problems, new, claims, applied = apply_checked(doc, update, user_id,
                                                       replica.index, replica.owner_of)
        if problems:
            # A missing dependency heals with the editor's next handshake; the rest never will.
            raise InvalidInput(problems[0], code="missing" if problems[0] == MISSING
                               else "refused")
        if not new:
            db.session.rollback()  # nothing new: no row, no seq, nothing relayed
            return False
        if len(new) > max_update():
            raise InvalidInput("That change is too big to take in one go.", code="too_big")
        if stored + len(new) > max_doc():
            if may_compact_first:
                raise _CompactFirst()
            raise InvalidInput("The boundaries list is full: shorten or remove some "
                               "before adding more.", code="doc_full")
    except OperationError:
        if applied:
            replica.invalidate()
        raise
    replica.claim(claims, user_id)
    store.append_update(couple_id, seq, new, user_id)
    message = protocol.create_update_message(new)
    realtime.on_commit(lambda: realtime.emit("b:y", message, room, skip_sid=sid))
    db.session.commit()
    replica.seen_seq = seq
    replica.remember(claims, user_id)
    return since + 1 >= compact_every()


class _CompactFirst(Exception):
    """The document looks full: fold the log, then judge the update once more."""


MAX_PRESENCE_ENTRIES = 8


def _presence_state(text: str):
    try:
        state = json.loads(text)
    except ValueError:
        return False
    if state is None:
        return True
    if not isinstance(state, dict) or set(state) - {"boundary"}:
        return False
    value = state.get("boundary")
    return value is None or (isinstance(value, str) and bool(BOUNDARY_ID.match(value)))


def relay_awareness(couple, user, data: bytes, sid: str | None) -> dict:
    """Presence (which boundary someone is in): relayed to the couple, never stored.

    Read whole first: every entry must be a state the page makes ({"boundary": id | null} or a
    removal), under a Yjs client id that is the sender's own (the first edit under an id claims
    it for good; presence under an id nobody has edited with is held by this process only,
    never stored). The server stamps who sent it, so a page never trusts a name inside the
    payload.
    """
    if len(data) > 8 * 1024:
        raise InvalidInput("That presence message is too big.")
    try:
        entries = protocol.decode_awareness(data)
    except InvalidInput as exc:
        raise InvalidInput("That presence message could not be read.") from exc
    if not entries or len(entries) > MAX_PRESENCE_ENTRIES or not all(
            clock < 2**53 and _presence_state(state) for _client, clock, state in entries):
        raise InvalidInput("That presence message could not be read.")
    clients = {client for client, _clock, _state in entries}
    couple_id, user_id, room = couple.id, user.id, room_of(couple)
    with store.locked(couple_id) as replica:
        try:
            owners = {client: replica.owner_of(client) for client in clients}
        finally:
            db.session.rollback()
        if any(owner is not None and owner != user_id for owner in owners.values()):
            raise InvalidInput("That presence is in someone else's name.", code="refused")
        # Held in this process only: presence is never stored (see store.Replica.presence).
        replica.show_presence([c for c, owner in owners.items() if owner is None], user_id)
    realtime.emit("b:aw", {"user": user_id, "data": data}, room, skip_sid=sid)
    return {"ok": True}


def current_boundaries(couple) -> list[dict]:
    """The couple's boundaries as the log holds them now."""
    with store.locked(couple.id) as replica:
        return read_boundaries(replica.catch_up())


def document_update(couple) -> bytes:
    """The whole document as one update: a page starts from it before its socket syncs."""
    with store.locked(couple.id) as replica:
        return replica.catch_up().get_update()
