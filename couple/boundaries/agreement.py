"""Boundaries agreement: accept a wording, withdraw it, propose and withdraw a removal.

Server-authoritative rows whose changes travel as ordinary events, each verb one
`events.change` under the replica lock (`store.locked`): the couple's stream is locked before
the op id is looked up, then the document's row, so both partners' pages and the event-contract
tests see them the same way.
"""
from pycrdt import merge_updates
from sqlalchemy import select

from .. import events, realtime
from ..errors import Conflict, InvalidInput, NotFound
from ..extensions import db
from ..models_base import utcnow
from . import protocol, store
from .content import read_boundaries
from .models import Approval, RemovalProposal, Wording
from .reading import (
    approval_item,
    approval_key,
    check_id,
    removal_item,
    removed_item,
    state_collections_for_couple,
)
from .sync import EMPTY_UPDATE, room_of

HASH_LENGTH = 64


def _find(replica, couple, boundary_id: str):
    """Under the replica lock: take the doc row lock, catch up, find the boundary (or 404)."""
    doc = replica.catch_up(last_seq=store.lock_doc(couple.id)[0])
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
    boundary_id = check_id(boundary_id)
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
    boundary_id = check_id(boundary_id)
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
    boundary_id = check_id(boundary_id)
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
        realtime.on_commit(lambda: realtime.emit("b:y", message, room))
    return {"boundary_id": bid, "removed": True}


def withdraw_removal(couple, user, boundary_id, op_id=None) -> dict:
    """Take back your proposal to remove a boundary."""
    boundary_id = check_id(boundary_id)
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
    boundary_id = check_id(boundary_id)
    with store.locked(couple.id) as replica, events.change(user) as change:
        _doc, boundary = _find(replica, couple, boundary_id)
        _note_wording(couple, user, boundary)
        return change.applied({"boundary_id": boundary["id"], "hash": boundary["hash"]})
