"""Boundaries operations: receive an editor's update, answer a sync, accept, propose removal.

Socket handlers and views call these and nothing else. Yjs updates go to the couple's room
as binary "b:y" messages once committed; approvals and removals are server-authoritative rows
whose changes travel as ordinary events (couple.events.record), so both partners' pages and the
event-contract tests see them the same way.
"""
import json
import logging
import os

from flask import current_app
from pycrdt import merge_updates
from sqlalchemy import select

from .. import events, realtime
from ..errors import Conflict, InvalidInput, NotFound
from ..extensions import db, socketio
from ..models_base import utcnow
from . import protocol, store
from .content import BOUNDARY_ID, agreement, read_boundaries
from .guard import MISSING, apply_checked
from .models import Approval, RemovalProposal, Wording

log = logging.getLogger(__name__)
HASH_LENGTH = 64
EMPTY_UPDATE = b"\x00\x00"


def _setting(name: str, default: int) -> int:
    value = current_app.config.get(name) or os.environ.get(f"COUPLE_{name}")
    return int(value) if value else default


def max_update() -> int:
    return _setting("BOUNDARIES_MAX_UPDATE", 64 * 1024)


def max_doc() -> int:
    # Stored (compressed) bytes. Tombstones grow a year of heavy editing by ~130 KB
    # (bench/boundaries_longlived.py), so 2 MiB lasts about fifteen such years; it still stops
    # a partner from filling the couple's document, and every tab's page, without end.
    return _setting("BOUNDARIES_MAX_DOC", 2 * 1024 * 1024)


def compact_every() -> int:
    return _setting("BOUNDARIES_COMPACT_EVERY", 300)


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
    replica = store.replica_for(couple.id)
    store.release_connection()
    with replica.lock:
        try:
            doc = replica.catch_up()
            missing = doc.get_update(state_vector)
        except ValueError as exc:
            raise InvalidInput("That sync message could not be read.") from exc
        except Exception:
            replica.invalidate()
            raise
        finally:
            db.session.rollback()
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
    replica = store.replica_for(couple_id)
    store.release_connection()
    compact_now = False
    for attempt in range(2):
        with replica.lock:
            applied = False
            try:
                seq, stored, since = store.lock_doc(couple_id, bump=True)
                doc = replica.catch_up()
                applied = True  # if the guard itself fails, assume the worst
                problems, new, claims, applied = apply_checked(doc, update, user_id,
                                                               replica.index, replica.owner_of)
                if problems:
                    # A missing dependency heals with the editor's next handshake; the rest
                    # never will.
                    raise InvalidInput(problems[0], code="missing" if problems[0] == MISSING
                                       else "refused")
                if not new:
                    db.session.rollback()  # nothing new: no row, no seq, nothing relayed
                    return {"ok": True}
                if len(new) > max_update():
                    raise InvalidInput("That change is too big to take in one go.",
                                       code="too_big")
                if stored + len(new) > max_doc():
                    if attempt == 0:
                        raise _CompactFirst()
                    raise InvalidInput("The boundaries list is full: shorten or remove some "
                                       "before adding more.", code="doc_full")
                replica.claim(claims, user_id)
                store.append_update(couple_id, seq, new, user_id)
                message = protocol.create_update_message(new)
                realtime.on_commit(
                    lambda message=message: socketio.emit("b:y", message, to=room, skip_sid=sid))
                db.session.commit()
                replica.seen_seq = seq
                replica.remember(claims, user_id)
                compact_now = since + 1 >= compact_every()
                break
            except _CompactFirst:
                db.session.rollback()
                replica.invalidate()
            except BaseException:
                db.session.rollback()
                if applied:
                    # The replica may hold what the log does not: rebuild it from the log.
                    replica.invalidate()
                raise
        store.compact(couple_id)
    if compact_now:
        try:
            store.compact(couple_id)
        except Exception:  # noqa: BLE001  (the update is saved; compaction can wait)
            db.session.rollback()
            log.exception("boundaries compaction failed")
    return {"ok": True}


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
    replica = store.replica_for(couple_id)
    store.release_connection()
    with replica.lock:
        try:
            owners = {client: replica.owner_of(client) for client in clients}
        finally:
            db.session.rollback()
        if any(owner is not None and owner != user_id for owner in owners.values()):
            raise InvalidInput("That presence is in someone else's name.", code="refused")
        # Held in this process only: presence is never stored (see store.Replica.presence).
        replica.show_presence([c for c, owner in owners.items() if owner is None], user_id)
    socketio.emit("b:aw", {"user": user_id, "data": data}, to=room, skip_sid=sid)
    return {"ok": True}


def current_boundaries(couple) -> list[dict]:
    """The couple's boundaries as the log holds them now."""
    replica = store.replica_for(couple.id)
    store.release_connection()
    with replica.lock:
        try:
            return read_boundaries(replica.catch_up())
        except Exception:
            replica.invalidate()
            raise


def document_update(couple) -> bytes:
    """The whole document as one update: a page starts from it before its socket syncs."""
    replica = store.replica_for(couple.id)
    store.release_connection()
    with replica.lock:
        try:
            return replica.catch_up().get_update()
        except Exception:
            replica.invalidate()
            raise


# ---------------------------------------------------------------- agreement and removal

def _check_id(boundary_id) -> str:
    if not isinstance(boundary_id, str) or not BOUNDARY_ID.match(boundary_id):
        raise NotFound("There is no such boundary.")
    return boundary_id


def _find(replica, couple, boundary_id: str):
    """Under the replica lock: take the doc row lock, catch up, find the boundary (or 404)."""
    store.lock_doc(couple.id)
    doc = replica.catch_up()
    for boundary in read_boundaries(doc):
        if boundary["id"] == boundary_id:
            return doc, boundary
    raise NotFound("There is no such boundary (it may have been removed).")


def _latest(model, couple_id: int, boundary_id: str, user_id: int):
    return db.session.scalar(
        select(model)
        .where(model.couple_id == couple_id, model.boundary_id == boundary_id,
               model.user_id == user_id)
        .order_by(model.id.desc())
        .limit(1)
    )


def _iso(value) -> str:
    return value.isoformat()


def approval_key(boundary_id: str, user_id: int) -> str:
    return f"{boundary_id}:{user_id}"


def approval_item(row: Approval) -> dict:
    return {"boundary_id": row.boundary_id, "user_id": row.user_id, "hash": row.content_hash,
            "text": row.text, "category": row.category, "at": _iso(row.created_at)}


def removal_item(row: RemovalProposal) -> dict:
    return {"boundary_id": row.boundary_id, "user_id": row.user_id, "at": _iso(row.created_at)}


def removed_item(row: RemovalProposal) -> dict:
    return {"boundary_id": row.boundary_id, "text": row.text, "category": row.category,
            "at": _iso(row.created_at)}


def _note_wording(couple, user, boundary: dict) -> None:
    """Keep this wording in the history unless it is already the latest one kept."""
    last = db.session.scalar(
        select(Wording.content_hash)
        .where(Wording.couple_id == couple.id, Wording.boundary_id == boundary["id"])
        .order_by(Wording.id.desc())
        .limit(1)
    )
    if last != boundary["hash"]:
        db.session.add(Wording(couple_id=couple.id, boundary_id=boundary["id"],
                               user_id=user.id if user else None, content_hash=boundary["hash"],
                               text=boundary["text"], category=boundary["category"],
                               created_at=utcnow()))


def _change(couple, user, op_id=None):
    """An agreement verb's change: the couple's stream is locked before the op id is looked up
    and before the doc row (always in that order: couple row, then doc row), so two retries of
    one verb run one after the other and the second answers what the first did."""
    return events.change(user, op_id, lock=room_of(couple))


def approve_boundary(couple, user, boundary_id, content_hash, op_id=None) -> dict:
    """Accept the exact wording the partner saw (its hash); a changed wording gives 409."""
    if not isinstance(content_hash, str) or len(content_hash) != HASH_LENGTH:
        raise InvalidInput("Say which wording you accept.", "hash")
    boundary_id = _check_id(boundary_id)
    with store.locked(couple.id) as replica, _change(couple, user, op_id) as change:
        if change.repeated:
            return change.result
        _doc, boundary = _find(replica, couple, boundary_id)
        if boundary["hash"] != content_hash:
            raise Conflict("The wording changed while you were reading it. Read it again, then "
                           "accept.", "hash", current={"id": boundary["id"],
                                                       "text": boundary["text"],
                                                       "category": boundary["category"],
                                                       "hash": boundary["hash"]})
        latest = _latest(Approval, couple.id, boundary["id"], user.id)
        if latest is not None and latest.kind == "accept" and latest.content_hash == content_hash:
            return approval_item(latest)
        _note_wording(couple, user, boundary)
        row = Approval(couple_id=couple.id, boundary_id=boundary["id"], user_id=user.id,
                       kind="accept", content_hash=content_hash, text=boundary["text"],
                       category=boundary["category"], created_at=utcnow())
        db.session.add(row)
        db.session.flush()
        item = approval_item(row)
        change.record(room_of(couple), "boundary.accepted",
                      {"set": {"boundary_approvals":
                               {approval_key(boundary["id"], user.id): item}}})
        return change.applied(item)


def withdraw_approval(couple, user, boundary_id, op_id=None) -> dict:
    """Take back your acceptance of a boundary (kept in its history)."""
    boundary_id = _check_id(boundary_id)
    with store.locked(couple.id) as replica, _change(couple, user, op_id) as change:
        if change.repeated:
            return change.result
        _doc, boundary = _find(replica, couple, boundary_id)
        latest = _latest(Approval, couple.id, boundary["id"], user.id)
        if latest is None or latest.kind != "accept":
            return {"boundary_id": boundary["id"], "withdrawn": False}
        db.session.add(Approval(couple_id=couple.id, boundary_id=boundary["id"], user_id=user.id,
                                kind="withdraw", content_hash=None, text=boundary["text"],
                                category=boundary["category"], created_at=utcnow()))
        change.record(room_of(couple), "boundary.unaccepted",
                      {"del": {"boundary_approvals": [approval_key(boundary["id"], user.id)]}})
        return change.applied({"boundary_id": boundary["id"], "withdrawn": True})


def propose_removal(couple, user, boundary_id, op_id=None) -> dict:
    """Propose removing a boundary; when both partners have, it leaves the list."""
    boundary_id = _check_id(boundary_id)
    with store.locked(couple.id) as replica, _change(couple, user, op_id) as change:
        if change.repeated:
            return change.result
        doc, boundary = _find(replica, couple, boundary_id)
        bid = boundary["id"]
        mine = _latest(RemovalProposal, couple.id, bid, user.id)
        if mine is not None and mine.kind == "propose":
            return {"boundary_id": bid, "removed": False}
        row = RemovalProposal(couple_id=couple.id, boundary_id=bid, user_id=user.id,
                              kind="propose", text=boundary["text"],
                              category=boundary["category"], created_at=utcnow())
        db.session.add(row)
        _note_wording(couple, user, boundary)
        partner = couple.partner_of(user)
        theirs = _latest(RemovalProposal, couple.id, bid, partner.id) if partner else None
        if theirs is None or theirs.kind != "propose":
            db.session.flush()
            item = removal_item(row)
            change.record(room_of(couple), "boundary.removal_proposed",
                          {"set": {"boundary_removals": {approval_key(bid, user.id): item}}})
            return change.applied({"boundary_id": bid, "removed": False})
        return change.applied(_remove(change, couple, user, replica, doc, boundary))


def _remove(change, couple, user, replica, doc, boundary) -> dict:
    """Both asked: delete the item from the document (a server update, logged like any other)."""
    bid = boundary["id"]
    captured: list[bytes] = []
    array = store.boundaries_array(doc)
    subscription = doc.observe(lambda event: captured.append(event.update))
    try:
        with doc.transaction(origin="server"):
            for index in reversed(range(len(array))):
                item = array[index]
                if getattr(item, "get", None) and item.get("id") == bid:
                    del array[index]
    finally:
        doc.unobserve(subscription)
    replica.invalidate()  # until the commit succeeds, the replica is ahead of the log
    parts = [u for u in captured if u != EMPTY_UPDATE]
    update = merge_updates(*parts) if len(parts) > 1 else (parts[0] if parts else b"")
    seq = store.lock_doc(couple.id, bump=True)[0]
    if update:
        store.append_update(couple.id, seq, update, None)
    db.session.flush()
    state = state_collections_for_couple(couple)  # what clients hold: before the removal row
    done_row = RemovalProposal(couple_id=couple.id, boundary_id=bid, user_id=user.id,
                               kind="removed", text=boundary["text"],
                               category=boundary["category"], created_at=utcnow())
    db.session.add(done_row)
    db.session.flush()
    approvals = [k for k, v in state["boundary_approvals"].items() if v["boundary_id"] == bid]
    removals = [k for k, v in state["boundary_removals"].items() if v["boundary_id"] == bid]
    data = {"set": {"boundaries_removed": {bid: removed_item(done_row)}}}
    dels = {}
    if approvals:
        dels["boundary_approvals"] = approvals
    if removals:
        dels["boundary_removals"] = removals
    if dels:
        data["del"] = dels
    change.record(room_of(couple), "boundary.removed", data)
    if update:
        message = protocol.create_update_message(update)
        room = room_of(couple)
        # Every tab, the proposer's too: none of them made this edit.
        realtime.on_commit(lambda: socketio.emit("b:y", message, to=room))
    return {"boundary_id": bid, "removed": True}


def withdraw_removal(couple, user, boundary_id, op_id=None) -> dict:
    """Take back your proposal to remove a boundary."""
    boundary_id = _check_id(boundary_id)
    with store.locked(couple.id) as replica, _change(couple, user, op_id) as change:
        if change.repeated:
            return change.result
        _doc, boundary = _find(replica, couple, boundary_id)
        bid = boundary["id"]
        mine = _latest(RemovalProposal, couple.id, bid, user.id)
        if mine is None or mine.kind != "propose":
            return {"boundary_id": bid, "withdrawn": False}
        db.session.add(RemovalProposal(couple_id=couple.id, boundary_id=bid, user_id=user.id,
                                       kind="withdraw", text=boundary["text"],
                                       category=boundary["category"], created_at=utcnow()))
        change.record(room_of(couple), "boundary.removal_withdrawn",
                      {"del": {"boundary_removals": [approval_key(bid, user.id)]}})
        return change.applied({"boundary_id": bid, "withdrawn": True})


def record_wording(couple, user, boundary_id) -> dict:
    """An editor says the typing in a boundary has settled: keep that wording in its history."""
    boundary_id = _check_id(boundary_id)
    with store.locked(couple.id) as replica, events.change(user) as change:
        _doc, boundary = _find(replica, couple, boundary_id)
        _note_wording(couple, user, boundary)
        return change.applied({"boundary_id": boundary["id"], "hash": boundary["hash"]})


# ---------------------------------------------------------------- state and history

def _latest_rows(model, couple_id: int) -> dict:
    """The latest row per (boundary, user), in id order."""
    latest = {}
    for row in db.session.scalars(
        select(model).where(model.couple_id == couple_id).order_by(model.id)
    ):
        latest[(row.boundary_id, row.user_id)] = row
    return latest


def state_collections_for_couple(couple) -> dict:
    removed = {}
    for row in db.session.scalars(
        select(RemovalProposal).where(RemovalProposal.couple_id == couple.id,
                                      RemovalProposal.kind == "removed")
    ):
        removed[row.boundary_id] = removed_item(row)
    approvals = {
        approval_key(bid, uid): approval_item(row)
        for (bid, uid), row in _latest_rows(Approval, couple.id).items()
        if row.kind == "accept" and bid not in removed and uid is not None
    }
    removals = {
        approval_key(bid, uid): removal_item(row)
        for (bid, uid), row in _latest_rows(RemovalProposal, couple.id).items()
        if row.kind == "propose" and bid not in removed and uid is not None
    }
    return {"boundary_approvals": approvals, "boundary_removals": removals,
            "boundaries_removed": removed}


def state_collections(user) -> dict:
    """This person's view of approvals and removal proposals (see couple/state.py)."""
    couple = user.couple
    if couple is None or not couple.active:
        return {"boundary_approvals": {}, "boundary_removals": {}, "boundaries_removed": {}}
    return state_collections_for_couple(couple)


def overview(couple) -> dict:
    """Boundaries with their agreement, and the "N of M agreed" count, for a page."""
    boundaries = current_boundaries(couple)
    state = state_collections_for_couple(couple)
    members = couple.member_ids()
    for boundary in boundaries:
        approvals = {
            uid: state["boundary_approvals"].get(approval_key(boundary["id"], uid))
            for uid in members
        }
        approvals = {uid: a for uid, a in approvals.items() if a is not None}
        boundary["agreement"] = agreement(boundary, approvals, members)
        boundary["removal_by"] = [
            uid for uid in members
            if approval_key(boundary["id"], uid) in state["boundary_removals"]
        ]
    agreed = sum(1 for b in boundaries if b["agreement"]["state"] == "agreed")
    return {"boundaries": boundaries, "agreed": agreed, "total": len(boundaries),
            "state": state}


def history(couple, boundary_id) -> dict:
    """Wordings over time, who accepted which wording and when, who proposed removal."""
    boundary_id = _check_id(boundary_id)
    entries = []
    for row in db.session.scalars(select(Wording).where(
            Wording.couple_id == couple.id, Wording.boundary_id == boundary_id)):
        entries.append({"kind": "wording", "at": row.created_at, "user_id": row.user_id,
                        "text": row.text, "category": row.category, "hash": row.content_hash})
    for row in db.session.scalars(select(Approval).where(
            Approval.couple_id == couple.id, Approval.boundary_id == boundary_id)):
        entries.append({"kind": row.kind, "at": row.created_at, "user_id": row.user_id,
                        "text": row.text, "category": row.category, "hash": row.content_hash})
    for row in db.session.scalars(select(RemovalProposal).where(
            RemovalProposal.couple_id == couple.id, RemovalProposal.boundary_id == boundary_id)):
        entries.append({"kind": f"removal_{row.kind}", "at": row.created_at,
                        "user_id": row.user_id, "text": row.text, "category": row.category,
                        "hash": None})
    current = next((b for b in current_boundaries(couple) if b["id"] == boundary_id), None)
    if current is None and not entries:
        raise NotFound("There is no such boundary.")
    order = {"wording": 0, "accept": 1, "withdraw": 1}
    entries.sort(key=lambda e: (e["at"], order.get(e["kind"], 2)))
    return {"boundary": current, "entries": entries}
