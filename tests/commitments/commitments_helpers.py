"""Helpers for the commitments tests (conftest.py belongs to the foundation)."""
from datetime import timedelta

from sqlalchemy import select

from couple.accounts.models import User
from couple.commitments import operations as ops
from couple.commitments.models import (
    Acknowledgement,
    Commitment,
    CommitmentChange,
    FollowThrough,
    Reminder,
    ReminderSend,
)
from couple.commitments.schedule import local_today
from couple.extensions import db
from tests.support import contract


def user(u):
    """A fresh copy of a user, as a new request would load it."""
    return db.session.get(User, u.id)


def make_commitment(owner, wording="Tell you when I will be late", schedule="daily",
                    days_back=0, tz="Europe/London", **kw):
    """A commitment of `owner` that started `days_back` days ago in `tz`."""
    start = local_today(tz) - timedelta(days=days_back)
    return ops.create_commitment(user(owner), wording=wording, schedule=schedule,
                                 start=start.isoformat(), tz=tz, **kw)


def day(item, back=0) -> str:
    """The owner's local date `back` days before their today, as YYYY-MM-DD."""
    return (local_today(item["tz"]) - timedelta(days=back)).isoformat()


def rows() -> dict:
    """Every commitments row, for "nothing changed" checks."""
    db.session.expire_all()

    def dump(model):
        return sorted(
            tuple((c.name, getattr(r, c.name)) for c in model.__table__.columns)
            for r in db.session.scalars(select(model))
        )

    return {m.__tablename__: dump(m)
            for m in (Commitment, CommitmentChange, FollowThrough, Acknowledgement, Reminder,
                      ReminderSend)}


def fresh_state(u) -> dict:
    """A fresh fetch of this user's state (tests/support/contract.py's, by user object)."""
    return contract.fresh_state(u.id)
