"""Boundaries' part of a person's data (couple/accounts/data.py).

The export holds every row that names them as its author, in every couple they were in
(approvals, removal proposals, wordings kept, the Yjs client ids they edited under, their
entries in the update log without the binary update itself), and the boundaries of their
current couple that they created, as text.

Erasure: boundaries are written together in one CRDT document with no per-author text, so an
ended couple's boundaries (document, update log, snapshots, client ids, approvals, wordings,
removal proposals) go when either person deletes their account; nobody can open an ended
couple's boundaries any more.
"""
from sqlalchemy import delete

from ..accounts.data import plain_rows
from ..extensions import db
from ..pairing.data import former_couples
from .models import (
    Approval,
    BoundaryClient,
    BoundaryDoc,
    BoundarySnapshot,
    BoundaryUpdate,
    RemovalProposal,
    Wording,
)

# Every table of the capability; none refers to another, so any order deletes them.
TABLES = (BoundaryDoc, BoundaryUpdate, BoundarySnapshot, BoundaryClient, Approval,
          RemovalProposal, Wording)
AUTHORED = (Approval, BoundaryClient, RemovalProposal, BoundaryUpdate, Wording)


def export_for(user) -> dict:
    out = {}
    for model in AUTHORED:
        rows = plain_rows(model, model.user_id == user.id)
        if rows:
            out[model.__tablename__] = rows
    if user.couple_id is not None:
        from .operations import current_boundaries

        out["written_by_you"] = [b for b in current_boundaries(user.couple)
                                 if b.get("created_by") == user.id]
    return {"boundaries": out}


def erase_for(user) -> None:
    couples = [c.id for c in former_couples(user)]
    if not couples:
        return
    for model in TABLES:
        db.session.execute(delete(model).where(model.couple_id.in_(couples)))
