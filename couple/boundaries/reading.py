"""Boundaries reading: approvals and removals as the client state holds them, the page's
overview ("N of M agreed"), a boundary's history."""
from sqlalchemy import select

from ..errors import NotFound
from ..extensions import db
from .content import BOUNDARY_ID, agreement
from .models import Approval, RemovalProposal, Wording
from .sync import current_boundaries


def check_id(boundary_id) -> str:
    if not isinstance(boundary_id, str) or not BOUNDARY_ID.match(boundary_id):
        raise NotFound("There is no such boundary.")
    return boundary_id


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
    couple = user.active_couple
    if couple is None:
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
    boundary_id = check_id(boundary_id)
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
