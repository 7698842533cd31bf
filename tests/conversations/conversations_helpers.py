"""Helpers for the conversations tests."""
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from couple.accounts.models import User
from couple.conversations.models import Conversation, ConversationEntry, ConversationRound
from couple.extensions import db
from couple.models_base import utcnow
from couple.state import state_for


def user(u):
    """A fresh copy of a user, as a new request would load it."""
    return db.session.get(User, u.id)


def later(hours=20, tz="Europe/London") -> str:
    """A local time `hours` from now in `tz`, as a datetime-local field sends it."""
    return (utcnow() + timedelta(hours=hours)).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M")


def rows() -> dict:
    """Every conversations row, for "nothing changed" checks."""
    db.session.expire_all()

    def dump(model):
        return sorted(tuple((c.name, getattr(r, c.name)) for c in model.__table__.columns)
                      for r in db.session.scalars(select(model)))

    return {m.__tablename__: dump(m) for m in (Conversation, ConversationRound, ConversationEntry)}


def fresh_state(u) -> dict:
    db.session.expire_all()
    return state_for(db.session.get(User, u.id))
