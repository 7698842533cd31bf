"""The event log: every shared change is recorded with its stream's next sequence number.

Two kinds of stream: "couple:<id>" (both partners see it) and "user:<id>" (only that person's
own tabs see it: private reflections, pairing news). The room a socket joins has the same name.
The table, not the socket, is what makes delivery exactly-once: a client that missed something
asks for everything after the last sequence number it applied (see `replay`).
"""
from datetime import datetime

from sqlalchemy import (
    JSON, ForeignKey, Integer, String, UniqueConstraint, bindparam, delete, insert, select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db
from .models_base import UTCDateTime, utcnow


class Event(db.Model):
    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("stream", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stream: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict] = mapped_column(JSON)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    op_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    def envelope(self) -> dict:
        """What a client receives: the same shape live and on replay."""
        return {
            "stream": self.stream.split(":", 1)[0],
            "seq": self.seq,
            "type": self.type,
            "data": self.data,
            "op": self.op_id,
            "actor": self.actor_id,
        }


class AppliedOp(db.Model):
    """A client op id already applied: a retry after a lost answer is not applied again."""

    __tablename__ = "applied_ops"
    __table_args__ = (UniqueConstraint("user_id", "op_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    op_id: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class LiveSocket(db.Model):
    """An open Socket.IO connection, so that logout or unlink can close it from any process."""

    __tablename__ = "live_sockets"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    login_session_id: Mapped[int | None] = mapped_column(Integer, index=True)
    couple_id: Mapped[int | None] = mapped_column(Integer, index=True)
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Built once: the hot path runs them with parameters (see next_seq).
_INSERT_EVENT = insert(Event.__table__)
_INSERT_OP = insert(AppliedOp.__table__)


def couple_stream(couple_id: int) -> str:
    return f"couple:{couple_id}"


def user_stream(user_id: int) -> str:
    return f"user:{user_id}"


def _owner_table(stream: str):
    from .accounts.models import User
    from .pairing.models import Couple

    kind, ident = stream.split(":", 1)
    return (Couple if kind == "couple" else User), int(ident)


def next_seq(stream: str) -> int:
    """Take the stream's next sequence number inside the caller's transaction.

    The UPDATE takes the row lock on PostgreSQL, so two writers to one couple are ordered by
    the database; SQLite serializes write transactions anyway.
    """
    table, ident = _owner_table(stream)
    # Built once per table and run on the session's connection: building and hashing a new
    # statement per change, and the ORM's statement handling, cost more CPU than the round trip.
    return db.session.connection().execute(_next_seq_statement(table), {"ident": ident}).scalar_one()


_NEXT_SEQ: dict = {}


def _next_seq_statement(table):
    stmt = _NEXT_SEQ.get(table)
    if stmt is None:
        t = table.__table__
        stmt = _NEXT_SEQ[table] = (
            update(t).where(t.c.id == bindparam("ident"))
            .values(last_seq=t.c.last_seq + 1).returning(t.c.last_seq)
        )
    return stmt


def last_seq(stream: str) -> int:
    table, ident = _owner_table(stream)
    return db.session.execute(select(table.last_seq).where(table.id == ident)).scalar_one()


def record(stream: str, type_: str, data: dict, *, actor=None, op_id: str | None = None) -> Event:
    """Append an event to a stream in the current transaction; it is sent after commit."""
    from . import realtime

    seq = next_seq(stream)
    row = {"stream": stream, "seq": seq, "type": type_, "data": data,
           "actor_id": getattr(actor, "id", None), "op_id": op_id}
    # A Core insert, not session.add + flush: the row is written at this point all the same
    # (after the caller's pending changes), without the unit of work's cost, which is a good
    # part of a change's CPU on the realtime path (bench/realtime.py). Nobody keeps the
    # returned object in the session; it carries the same fields.
    db.session.flush()
    db.session.connection().execute(_INSERT_EVENT, row)
    event = Event(**row)
    envelope = event.envelope()
    realtime.on_commit(lambda: realtime.emit_event(stream, envelope))
    return event


def replay(stream: str, since: int, limit: int) -> dict:
    """Everything after `since` on a stream, or a reset when that cannot be given exactly.

    Returns {"last": n, "events": [...]} or {"last": n, "reset": True}.
    """
    last = last_seq(stream)
    if since == last:
        return {"last": last, "events": []}
    if since > last or last - since > limit or since < 0:
        return {"last": last, "reset": True}
    # Up to `last` only: a change that commits between the two reads (another process, or
    # another partner's request, on PostgreSQL) is for the next sync or its live event. Without
    # the bound it showed up as a gap after `last` and turned a plain resync into a reset.
    rows = db.session.scalars(
        select(Event).where(Event.stream == stream, Event.seq > since, Event.seq <= last)
        .order_by(Event.seq)
    ).all()
    # Pruned events leave a gap: the client must reload the state instead.
    if [r.seq for r in rows] != list(range(since + 1, last + 1)):
        return {"last": last, "reset": True}
    return {"last": last, "events": [r.envelope() for r in rows]}


def already_applied(user, op_id: str | None):
    """The stored result of an op this user already applied, or None."""
    return already_applied_by(user.id, op_id)


def already_applied_by(user_id: int, op_id: str | None):
    """already_applied by id: usable after a rollback has expired the user object."""
    if not op_id:
        return None
    return db.session.scalar(
        select(AppliedOp).where(AppliedOp.user_id == user_id, AppliedOp.op_id == op_id)
    )


def remember_op(user, op_id: str | None, result: dict | None = None) -> None:
    """Record an op id in the caller's transaction; the unique key settles a race of retries."""
    if op_id:
        # Written now (a Core insert, no unit of work at commit): a repeated op id raises
        # IntegrityError here rather than at commit, in the same transaction either way.
        db.session.connection().execute(
            _INSERT_OP, {"user_id": user.id, "op_id": op_id, "result": result})


def prune(before: datetime) -> dict:
    """Delete events and applied op ids older than `before`; clients that needed them reset."""
    events = db.session.execute(delete(Event).where(Event.created_at < before)).rowcount
    ops = db.session.execute(delete(AppliedOp).where(AppliedOp.created_at < before)).rowcount
    db.session.commit()
    return {"events": events, "ops": ops}


__all__ = [
    "Event", "AppliedOp", "LiveSocket", "IntegrityError", "couple_stream", "user_stream",
    "record", "replay", "already_applied", "already_applied_by", "remember_op", "prune", "next_seq", "last_seq",
]
