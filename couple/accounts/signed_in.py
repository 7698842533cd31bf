"""Who sends a socket event: the signed-in person and their couple as one row, not ORM objects.

Every socket event checks its login session again (couple/sockets.py `authenticated_only`): a
heartbeat every ~25 s from every tab, and every change sent over the socket. The ORM loader
(accounts.operations.user_for_session_token) builds a User and its Couple for each: more
instructions than a whole durable write (bench/change_instructions.py, "login check" against
"durable floor"). A socket event reads the same facts with one Core statement into a snapshot:

- `SignedIn`: id, couple_id, last_seq, the login session's id and token, and `couple`;
- `CoupleNow`: id, rebuilding_id, supporting_id, ended_at, last_seq.

Both answer "linked?", "which role?", "members?" with the models' own code (InCouple,
CoupleMembers). Anything else (a display name, `partner_of`'s partner) is read from the ORM
object, loaded then, in the same session: a rare path pays a query, the hot path none. A
snapshot cannot be written to: a change to a person or a couple goes through the ORM object
(`orm()`), never silently into a copy.

The statement checks the session's expiry in SQL, so an expired or deleted session reads no
row, the same answer as the ORM loader's. It is the first statement of a socket event's
transaction: on PostgreSQL it goes with that transaction's BEGIN, one round trip instead of two
(couple/pg_begin.py).
"""
from collections import namedtuple
from datetime import UTC

from flask_login import UserMixin
from sqlalchemy import bindparam, select

from ..extensions import db
from ..models_base import UTCDateTime, utcnow
from ..pairing.models import Couple, CoupleMembers
from ..pg_begin import NOT_SENT, hex_literal, read_with_begin, timestamp_literal
from .models import InCouple, LoginSession, User, could_be_session_token, token_digest


class _Snapshot:
    """Read-only fields from one row; any other attribute comes from the ORM object."""

    _FIELDS: tuple[str, ...] = ()
    _MODEL = None

    def __init__(self, **fields):
        for name in self._FIELDS:
            object.__setattr__(self, name, fields[name])
        object.__setattr__(self, "_orm_object", None)

    def orm(self):
        """The ORM object this snapshot was read from (loaded once, in this session)."""
        found = self._orm_object
        if found is None:
            found = db.session.get(self._MODEL, self.id)
            object.__setattr__(self, "_orm_object", found)
        return found

    def __getattr__(self, name):  # only for names the snapshot does not hold
        if name.startswith("_"):
            raise AttributeError(name)
        found = self.orm()
        if found is None:  # deleted meanwhile: as if the attribute did not exist
            raise AttributeError(name)
        return getattr(found, name)

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is a read-only snapshot: change "
                             f"{name!r} on .orm()")

    def __repr__(self):
        return f"<{type(self).__name__} {self.id}>"


class CoupleNow(CoupleMembers, _Snapshot):
    _FIELDS = ("id", "rebuilding_id", "supporting_id", "ended_at", "last_seq")
    _MODEL = Couple


class SignedIn(InCouple, UserMixin, _Snapshot):
    _FIELDS = ("id", "couple_id", "last_seq", "couple", "session_token", "login_session_id")
    _MODEL = User

    def get_id(self):  # as User.get_id: the login session's token
        return self.session_token


def _statement():
    users, couples, sessions = User.__table__, Couple.__table__, LoginSession.__table__
    return (
        select(users.c.id, users.c.couple_id, users.c.last_seq,
               sessions.c.id.label("login_session_id"),
               couples.c.id.label("c_id"), couples.c.rebuilding_id, couples.c.supporting_id,
               couples.c.ended_at, couples.c.last_seq.label("c_last_seq"))
        .select_from(users.join(sessions, sessions.c.user_id == users.c.id)
                     .outerjoin(couples, couples.c.id == users.c.couple_id))
        .where(sessions.c.token_hash == bindparam("digest"),
               sessions.c.expires_at > bindparam("now", type_=UTCDateTime()))
    )


_SIGNED_IN = _statement()
_Row = namedtuple("_Row", [c.name for c in _SIGNED_IN.selected_columns])
_ENDED_AT = _Row._fields.index("ended_at")  # the one timestamp (UTCDateTime's rule below)
_PG_TEXT: dict[tuple, str] = {}


def _pg_text(dialect) -> str:
    """The statement's text for PostgreSQL, with %(digest)s and %(now)s to fill in: the same
    for every engine of one driver (keyed by it, not by each app's dialect object)."""
    key = (dialect.name, dialect.driver, dialect.paramstyle)
    text = _PG_TEXT.get(key)
    if text is None:
        text = _PG_TEXT[key] = str(_SIGNED_IN.compile(dialect=dialect))
    return text


def _utc(value):
    return None if value is None else value.replace(tzinfo=UTC)


def signed_in_for_token(token: str | None) -> SignedIn | None:
    """The person this login-session token signs in, as a snapshot; None if the session does
    not exist or has expired (the ORM loader's answers, the same checks)."""
    if not could_be_session_token(token):
        return None
    digest, now = token_digest(token), utcnow()
    connection = db.session.connection()
    row = NOT_SENT
    if connection.dialect.name == "postgresql":
        # The first statement of a socket event's transaction: sent with its BEGIN, one round
        # trip instead of two (couple/pg_begin.py), its two values (a SHA-256 in hex, the
        # time) written into the text.
        row = read_with_begin(connection, _pg_text(connection.dialect) % {
            "digest": hex_literal(digest), "now": timestamp_literal(now)})
        if row is not NOT_SENT and row is not None:
            row = _Row._make(_utc(v) if i == _ENDED_AT else v for i, v in enumerate(row))
    if row is NOT_SENT:
        row = connection.execute(_SIGNED_IN, {"digest": digest, "now": now}).first()
    if row is None:
        return None
    couple = None if row.c_id is None else CoupleNow(
        id=row.c_id, rebuilding_id=row.rebuilding_id, supporting_id=row.supporting_id,
        ended_at=row.ended_at, last_seq=row.c_last_seq)
    return SignedIn(id=row.id, couple_id=row.couple_id, last_seq=row.last_seq, couple=couple,
                    session_token=token, login_session_id=row.login_session_id)
