"""The commitments part of a person's client state (see couple/state.py).

Both partners hold the same collections: every commitment of their current couple, and the
marks (with acknowledgements) of each commitment's last WINDOW_DAYS local days. Events patch
exactly these collections with whole items.
"""
from sqlalchemy import select

from ..extensions import db
from .items import (
    COMMITMENTS,
    MARKS,
    changes_of,
    commitment_item,
    mark_item,
    mark_key,
    marks_in_window,
)
from .models import Commitment


def state_collections(user) -> dict:
    out = {COMMITMENTS: {}, MARKS: {}}
    couple = user.active_couple
    if couple is None:
        return out
    commitments = list(db.session.scalars(
        select(Commitment).where(Commitment.couple_id == couple.id).order_by(Commitment.id)
    ))
    ids = [c.id for c in commitments]
    changes = changes_of(ids)
    marks = marks_in_window(commitments)
    for c in commitments:
        by_day = {mark.day: mark.status for mark, _ack in marks[c.id]}
        out[COMMITMENTS][str(c.id)] = commitment_item(c, changes[c.id], by_day)
        for mark, ack in marks[c.id]:
            out[MARKS][mark_key(c.id, mark.day)] = mark_item(c, mark, ack)
    return out
