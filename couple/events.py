"""The event log: every shared change is recorded with its stream's next sequence number.

Two kinds of stream: "couple:<id>" (both partners see it) and "user:<id>" (only that person's
own tabs see it: private reflections, pairing news). The room a socket joins has the same name.
The table, not the socket, is what makes delivery exactly-once: a client that missed something
asks for everything after the last sequence number it applied (see `replay`).

Every operation changes shared state through `change` (below): one transaction, the stream
locks it names, a repeated op id answered with its first result, events recorded, committed.
"""
from collections.abc import Callable
from datetime import datetime
from functools import cache, lru_cache
from typing import NamedTuple

from flask_sqlalchemy.session import Session
from sqlalchemy import (
    JSON,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    bindparam,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy import event as sa_event
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
        return envelope(self.stream, self.seq, self.type, self.data, self.op_id, self.actor_id)


def envelope(stream: str, seq: int, type_: str, data: dict, op_id, actor_id) -> dict:
    """An event as a client receives it (live from `record`, replayed from its row)."""
    return {"stream": stream.split(":", 1)[0], "seq": seq, "type": type_, "data": data,
            "op": op_id, "actor": actor_id}


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


def stream_owner(stream: str):
    """(the model whose row holds the stream's last seq, its id): Couple or User."""
    from .accounts.models import User
    from .pairing.models import Couple

    kind, ident = stream.split(":", 1)
    return (Couple if kind == "couple" else User), int(ident)


def next_seq(stream: str) -> int:
    """Take the stream's next sequence number inside the caller's transaction.

    The UPDATE takes the row lock on PostgreSQL, so two writers to one couple are ordered by
    the database; SQLite serializes write transactions anyway.
    """
    table, ident = stream_owner(stream)
    # Built once per table and run on the session's connection: building and hashing a new
    # statement per change, and the ORM's statement handling, cost more CPU than the round trip.
    return db.session.connection().execute(
        _next_seq_statement(table), {"ident": ident}).scalar_one()


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
    table, ident = stream_owner(stream)
    return db.session.execute(select(table.last_seq).where(table.id == ident)).scalar_one()


def record(stream: str, type_: str, data: dict, *, actor=None, op_id: str | None = None,
           seq: int | None = None, pending: list | None = None) -> dict:
    """Append an event to a stream in the current transaction; it is sent after commit.
    Returns its envelope, what the stream's tabs are sent.

    `seq`: a sequence number the caller already took for this stream in this transaction
    (`change` takes it with the stream's lock); otherwise the next one is taken here.
    `pending`: a `change`'s list of inserts still to send (`change.insert`); the row is added
    to it. Without it the row is written now."""
    from . import realtime

    if seq is None:
        seq = next_seq(stream)
    actor_id = getattr(actor, "id", None)
    row = {"stream": stream, "seq": seq, "type": type_, "data": data,
           "actor_id": actor_id, "op_id": op_id, "created_at": utcnow()}
    # A Core insert, not session.add + flush: without the unit of work's cost, which is a good
    # part of a change's CPU on the realtime path (bench/realtime.py); the envelope is built
    # from the row, not from an Event object (an instrumented object per change, for nothing).
    # The caller's pending changes are flushed first, so that their errors are raised where
    # they always were.
    db.session.flush()
    if pending is None or db.session().in_nested_transaction():
        # (Inside a savepoint it is written now, so that the savepoint's rollback takes it.)
        db.session.connection().execute(_INSERT_EVENT, row)
    else:
        pending.append((Event.__table__, row))
    sent = envelope(stream, seq, type_, data, op_id, actor_id)
    realtime.on_commit(lambda: realtime.emit_event(stream, sent))
    return sent


def replay(stream: str, since: int, limit: int, *, last: int | None = None) -> dict:
    """Everything after `since` on a stream, or a reset when that cannot be given exactly.

    `last`: the stream's last seq, when the caller read it already in this transaction.
    Returns {"last": n, "events": [...]} or {"last": n, "reset": True}.
    """
    if last is None:
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


def _stored_result(user_id: int, op_id: str | None):
    """The row (its `result`) of an op this user already applied, or None."""
    if not op_id:
        return None
    # A prebuilt Core statement for the one column: every locked change asks this first, and
    # loading an AppliedOp object through the ORM cost about half of taking the lock and asking.
    return db.session.connection().execute(
        _STORED_RESULT, {"user_id": user_id, "op_id": op_id}).first()


class Guarded(NamedTuple):
    """A pending write that must change exactly one row (`change.insert(..., unique=...)`,
    `change.update`): when it changes none, the change fails with the exception `on_miss()`
    returns (rolled back whole, as any exception in a change)."""

    table: object  # a Table
    row: dict  # every column the statement sets, and for an update the `where` columns too
    unique: tuple  # an insert's conflict columns (ON CONFLICT ... DO NOTHING)
    where: tuple  # an update's: the row's id, and what it must still hold (version)
    set: tuple  # an update's columns set
    on_miss: Callable[[], BaseException]

    def shape(self) -> tuple:
        return (self.table, tuple(self.row) if not self.where else self.set, self.unique,
                self.where)


def _guarded_sql(w: Guarded, name, returning: bool = False) -> tuple[str, list]:
    """The statement of a guarded write, with parameters named name(column) and typed by the
    table's columns (on SQLite a date is a string, a UTCDateTime naive)."""
    table, cols = w.table, w.table.c
    params = []
    if w.where:
        sql = (f"UPDATE {table.name} SET "
               + ", ".join(f"{c} = :{name(c)}" for c in w.set)
               + " WHERE " + " AND ".join(f"{c} = :{name('where_' + c)}" for c in w.where))
        params += [bindparam(name(c), type_=cols[c].type) for c in w.set]
        params += [bindparam(name("where_" + c), type_=cols[c].type) for c in w.where]
    else:
        sql = (f"INSERT INTO {table.name} ({', '.join(w.row)}) VALUES "
               f"({', '.join(':' + name(c) for c in w.row)}) "
               f"ON CONFLICT ({', '.join(w.unique)}) DO NOTHING")
        params += [bindparam(name(c), type_=cols[c].type) for c in w.row]
    return sql + (" RETURNING 1" if returning else ""), params


def _guarded_params(w: Guarded, name) -> dict:
    if not w.where:
        return {name(c): v for c, v in w.row.items()}
    return {**{name(c): w.row[c] for c in w.set},
            **{name("where_" + c): w.row["where_" + c] for c in w.where}}


def _of_shape(shape: tuple) -> Guarded:
    """A guarded write with no values, of the shape `Guarded.shape()` gave: to build its SQL."""
    table, columns, unique, where = shape
    return Guarded(table, dict.fromkeys(columns) if not where else {}, unique, where,
                   columns if where else (), lambda: None)


@cache
def _guarded_statement(shape: tuple):
    sql, params = _guarded_sql(_of_shape(shape), lambda c: c)
    return text(sql).bindparams(*params)


def _write_guarded(conn, w: Guarded) -> None:
    done = conn.execute(_guarded_statement(w.shape()), _guarded_params(w, lambda c: c))
    if done.rowcount != 1:
        raise w.on_miss()


def _write_pending(pending: list) -> None:
    """Send a change's pending writes (see `change.insert`, `change.update`) one by one."""
    if pending:
        conn = db.session.connection()
        # Taken off the list before they are sent: a guarded write that misses raises, and
        # the change is then rolled back whole, its writes with it.
        writes = list(pending)
        pending.clear()
        for write in writes:
            if isinstance(write, Guarded):
                _write_guarded(conn, write)
            else:
                table, row = write
                conn.execute(_insert_statement(table), row)


# The plain INSERT of each table a change sends rows to, built once.
_insert_statement = lru_cache(maxsize=None)(insert)


def _write_pending_and_op(pending: list, op: dict) -> None:
    """Send a change's pending writes and its op id: one statement (one round trip) on
    PostgreSQL, a data-modifying WITH. A repeated op id fails it whole (IntegrityError); a
    guarded write that changed no row raises its `on_miss()` (the caller rolls back)."""
    conn = db.session.connection()
    if conn.dialect.name != "postgresql" or not 0 < len(pending) <= _MAX_BUNDLED:
        _write_pending(pending)
        conn.execute(_INSERT_OP, op)
        return
    params = dict(op)
    for i, write in enumerate(pending):
        if isinstance(write, Guarded):
            params.update(_guarded_params(write, lambda c, i=i: f"w{i}_{c}"))
        else:
            for name, value in write[1].items():
                params[f"w{i}_{name}"] = value
    shape = tuple(("guarded", w.shape()) if isinstance(w, Guarded) else (w[0], tuple(w[1]))
                  for w in pending)
    writes = list(pending)
    pending.clear()
    done = conn.execute(_pending_and_op_statement(shape), params)
    guarded = [w for w in writes if isinstance(w, Guarded)]
    if guarded:
        # One count per guarded write, in order: the rows each changed.
        for w, changed in zip(guarded, done.one(), strict=True):
            if changed != 1:
                raise w.on_miss()


# A change sends one event and a row or two besides, sometimes a few (a link tells both people).
_MAX_BUNDLED = 6
_PENDING_AND_OP: dict = {}
_OP_COLUMNS = ("user_id", "op_id", "result", "created_at")


def _pending_and_op_statement(shape: tuple):
    """WITH w0 AS (INSERT INTO <table> (...) VALUES (...)), w1 AS (...) INSERT INTO applied_ops
    ...: built once per shape ((table, columns) of each insert, ("guarded", its shape) of each
    guarded write), with typed parameters "w<i>_<column>" and the op's own names.

    With guarded writes the op's insert is one more WITH, and the statement selects how many
    rows each guarded write changed (every data-modifying WITH runs to completion whether
    its rows are read or not).

    A text with typed parameters, not insert(...).cte(): SQLAlchemy does not cache a compiled
    data-modifying CTE, and compiling it on every change cost more CPU than the round trip
    it saves (bench/change_cpu.py: progress 0.80 -> 1.00 ms)."""
    stmt = _PENDING_AND_OP.get(shape)
    if stmt is None:
        op = AppliedOp.__table__
        parts, params, guarded = [], [], []
        for i, entry in enumerate(shape):
            if entry[0] == "guarded":
                sql, typed = _guarded_sql(_of_shape(entry[1]), lambda c, i=i: f"w{i}_{c}",
                                          returning=True)
                parts.append(f"w{i} AS ({sql})")
                params += typed
                guarded.append(f"(SELECT count(*) FROM w{i})")
                continue
            table, columns = entry
            parts.append(f"w{i} AS (INSERT INTO {table.name} ({', '.join(columns)}) "
                         f"VALUES ({', '.join(f':w{i}_{name}' for name in columns)}))")
            params += [bindparam(f"w{i}_{name}", type_=table.c[name].type) for name in columns]
        op_insert = (f"INSERT INTO {op.name} ({', '.join(_OP_COLUMNS)}) "
                     f"VALUES ({', '.join(':' + name for name in _OP_COLUMNS)})")
        if guarded:
            sql = (f"WITH {', '.join(parts)}, op AS ({op_insert}) "
                   f"SELECT {', '.join(guarded)}")
        else:
            sql = f"WITH {', '.join(parts)} {op_insert}"
        stmt = _PENDING_AND_OP[shape] = text(sql).bindparams(
            *params, *(bindparam(name, type_=op.c[name].type) for name in _OP_COLUMNS))
    return stmt


_STORED_RESULT = select(AppliedOp.__table__.c.result).where(
    AppliedOp.__table__.c.user_id == bindparam("user_id"),
    AppliedOp.__table__.c.op_id == bindparam("op_id"))


_GIVE_BACK: dict = {}


def _give_back_statement(table):
    stmt = _GIVE_BACK.get(table)
    if stmt is None:
        t = table.__table__
        stmt = _GIVE_BACK[table] = (
            update(t).where(t.c.id == bindparam("ident")).values(last_seq=t.c.last_seq - 1))
    return stmt


def lock_stream(stream: str) -> int:
    """Take a stream's owner row for the rest of the transaction (a row lock on PostgreSQL; the
    write lock on SQLite), so this stream's writers run one after another; the same statement
    takes the stream's next sequence number, returned. A caller that records no event on the
    stream gives it back (`give_back_seq`) before it commits, or the stream has a gap."""
    return next_seq(stream)


def give_back_seq(stream: str) -> None:
    """Return the number `lock_stream` took (the row is still locked: nobody took one since)."""
    table, ident = stream_owner(stream)
    db.session.connection().execute(_give_back_statement(table), {"ident": ident})


class change:
    """The one way a person's action changes shared state: one transaction, exactly once.

    Every operation (guides, boundaries, commitments, pairing) is written the same way::

        def do_something(user, thing_id, words, op_id=None) -> dict:
            words = check(words)                            # 1. refuse bad input first
            with events.change(user, op_id, lock=events.couple_stream(cid)) as change:
                if change.repeated:                         # 2. a retry of an op already
                    return change.result                    #    applied: its first answer
                row = load_and_check(...)                   # 3. read, decide, write rows
                if nothing_to_do:
                    return item_of(row)                     #    (a no-op records nothing)
                row.words = words
                db.session.flush()
                item = item_of(row)
                change.record(events.couple_stream(cid), "thing.changed",
                              {"set": {"things": {str(row.id): item}}})
                return change.applied(item)                 # 4. remember + commit

    - `lock`: the stream(s) whose owner row is taken first (couple:<id> / user:<id>), so the
      repeated-op check and every write of that couple are ordered by the database. Leave it
      out when the writes need no order beyond the one `record` takes (its seq row).
    - `change.repeated` / `change.result`: the op id was already applied; answer what the first
      attempt answered and write nothing. `look_first=False` skips that query (the realtime
      fast path: an idempotent write such as an upsert); a repeat is then caught by the op
      id's unique key in `applied`, which rolls everything back and answers the stored result.
      A change that reads after its lock anyway can ask in that read instead (`look_first=False`
      and the read's own look-up; a mark: commitments/items.py `mark_reads`), and
      answer with `change.answered_before(result)`.
    - `change.record(stream, type, data)`: an event in this transaction (sent after commit,
      couple/realtime.py), with the actor and op id filled in. Its row is written with the op
      id in `applied` (one statement on PostgreSQL), or by any commit before that.
    - `change.insert(table, row)`: a row nothing in the change reads back (a log entry), sent
      the same way; with `unique=` and `on_conflict=`, a row that may already be there.
    - `change.update(table, where, values, on_miss)`: a row the change read under its lock,
      written the same way; if it no longer matches `where` (a version), `on_miss()` is raised.
    - `change.applied(result)`: remember the op id with its result and commit; returns the
      result (or, when two retries raced, the one the winner stored). Anything a no-op wrote
      (a draft forgotten, a wording noted) is committed when the block ends without it.
    - Any exception rolls the whole change back (rows, events, seq, lock) and propagates.
    """

    __slots__ = ("user", "user_id", "op_id", "locks", "look_first", "repeated", "result",
                 "_applied", "_taken", "_pending")

    def __init__(self, user, op_id: str | None = None, *, lock=(), look_first: bool = True):
        self.user = user
        self.user_id = user.id if user is not None else None
        self.op_id = op_id or None
        self.locks = (lock,) if isinstance(lock, str) else tuple(lock or ())
        self.look_first = look_first
        self.repeated = False
        self.result = None
        self._applied = False
        self._taken: dict[str, int] = {}  # stream -> the seq its lock took, until recorded
        self._pending: list = []  # (table, row) inserts and Guarded writes, sent with the op id

    def __enter__(self) -> "change":
        db.session.info.setdefault(_OPEN_CHANGES, []).append(self)
        try:
            # Always in one order, so two changes taking two streams cannot deadlock. The lock
            # takes the stream's next seq too (one statement, not two, for the usual change
            # that records one event on the stream it locked).
            for stream in sorted(self.locks):
                self._taken[stream] = lock_stream(stream)
            if self.look_first and self.op_id:
                done = _stored_result(self.user_id, self.op_id)
                if done is not None:
                    self.repeated, self.result = True, done.result
        except BaseException:
            db.session.rollback()
            self._close()
            raise
        return self

    def _close(self) -> None:
        open_changes = db.session.info.get(_OPEN_CHANGES, [])
        if self in open_changes:
            open_changes.remove(self)

    def answered_before(self, result):
        """This op id was already applied, as the change's own read after its lock found
        (look_first=False): answer its first result; nothing is written."""
        self.repeated, self.result = True, result
        return result

    def record(self, stream: str, type_: str, data: dict, *, seq: int | None = None) -> dict:
        """`seq`: the stream's next seq when the change took it itself in one of its own
        statements (guides' progress); otherwise its lock's, or a new one."""
        taken = self._taken.pop(stream, None)
        return record(stream, type_, data, actor=self.user, op_id=self.op_id,
                      seq=taken if seq is None else seq, pending=self._pending)

    def insert(self, table, row: dict, *, unique: tuple = (),
               on_conflict: Callable[[], BaseException] | None = None) -> None:
        """Insert `row` (every column it needs, defaults included) into `table` as part of this
        change, later: with the change's events and op id, in the one statement that ends the
        change on PostgreSQL, or at any commit before that. For a row nothing in the change
        reads back (a log entry): each statement is a round trip, most of a change's CPU.

        `unique` (columns of a unique key) and `on_conflict`: the row may already be there
        (ON CONFLICT DO NOTHING); if it is, the change fails with `on_conflict()`."""
        if unique and on_conflict is None:
            raise TypeError("a row that may already be there needs on_conflict")
        write = ((table, row) if not unique else
                 Guarded(table, row, tuple(unique), (), (), on_conflict))
        self._add(write)

    def update(self, table, where: dict, values: dict,
               on_miss: Callable[[], BaseException]) -> None:
        """Set `values` on the one row of `table` that matches every column of `where` (its id,
        and what it must still hold: a version), later, as `insert` sends its rows. If no row
        matches when it is sent, the change fails with `on_miss()`. For a row the change read
        under its lock and nothing in it reads back."""
        row = {**values, **{f"where_{name}": value for name, value in where.items()}}
        self._add(Guarded(table, row, (), tuple(where), tuple(values), on_miss))

    def _add(self, write) -> None:
        if db.session().in_nested_transaction():
            # Written now, so that the savepoint's rollback takes it.
            _write_pending([write])
        else:
            self._pending.append(write)

    def _give_back(self) -> None:
        """Return the seqs taken with locks of streams this change recorded nothing on."""
        for stream in sorted(self._taken):
            give_back_seq(stream)
        self._taken.clear()

    def applied(self, result=None):
        """Remember this op id with its result and commit; returns what the client is told."""
        try:
            self._give_back()
            if self.op_id:
                # Written now with the change's events (Core inserts): a repeated op id raises
                # IntegrityError here.
                _write_pending_and_op(self._pending, {
                    "user_id": self.user_id, "op_id": self.op_id, "result": result,
                    "created_at": utcnow()})
            else:
                _write_pending(self._pending)
            db.session.commit()
        except IntegrityError:
            # Rolled back whole (rows, events, seq): if it was a retry of an op already applied
            # (two retries raced, or the fast path did not look first), answer what the first
            # attempt answered.
            db.session.rollback()
            done = _stored_result(self.user_id, self.op_id)
            if done is None:
                raise
            result = done.result
        self._applied = True
        self.result = result
        return result

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            if exc_type is not None:
                db.session.rollback()
                return False
            if not self._applied:
                # A repeat or a no-op: commit what it wrote besides its lock (or nothing);
                # this also ends the transaction, so no lock is held until the request's
                # teardown.
                try:
                    self._give_back()
                    db.session.commit()
                except BaseException:
                    db.session.rollback()
                    raise
            return False
        finally:
            self._close()


# The changes under way in a session: a commit in the middle of one (an operation that saves
# something on its way, such as the boundaries document's first row) gives back the seqs its
# locks took first, so that commit never leaves a gap; the change then takes a fresh seq if it
# records an event afterwards. A rollback voids them.
_OPEN_CHANGES = "couple.open_changes"


@sa_event.listens_for(Session, "before_commit")
def _give_back_before_commit(session):
    if session.in_nested_transaction():  # a savepoint's release is not the commit
        return
    for open_change in session.info.get(_OPEN_CHANGES, ()):
        open_change._give_back()
        # Events it recorded are committed with this commit, whatever comes after.
        _write_pending(open_change._pending)


@sa_event.listens_for(Session, "after_rollback")
def _taken_seqs_void(session):
    if session.in_nested_transaction():
        return
    for open_change in session.info.get(_OPEN_CHANGES, ()):
        open_change._taken.clear()
        open_change._pending.clear()


def prune(before: datetime) -> dict:
    """Delete events and applied op ids older than `before`; clients that needed them reset."""
    events = db.session.execute(delete(Event).where(Event.created_at < before)).rowcount
    ops = db.session.execute(delete(AppliedOp).where(AppliedOp.created_at < before)).rowcount
    db.session.commit()
    return {"events": events, "ops": ops}


__all__ = [
    "Event", "AppliedOp", "LiveSocket", "couple_stream", "user_stream", "change", "lock_stream",
    "give_back_seq", "record", "replay", "prune", "next_seq", "last_seq",
]
