"""The couple's Yjs document on the server: a replica per process, the durable log behind it.

The database is the source of truth; a replica is only a cache of it. Every use of a replica
first catches up from the log, so several processes (sharing PostgreSQL and Redis) may each
hold one. Writers take the couple's `boundary_docs` row lock, which orders them across
processes: updates commit in `seq` order, and "everything after the seq I have" is exact.

A replica's `lock` guards its pycrdt Doc (pycrdt transactions are not thread-safe) and is never
*waited for* while a database connection is held: with SQLite under gevent there is one pooled
connection, and a greenlet waiting for the lock while holding it would starve the holder. A
free lock is simply taken; a taken one is waited for after the connection is released.
"""
import logging
import threading
import zlib
from collections import OrderedDict
from contextlib import contextmanager

from flask import current_app
from pycrdt import Array, Doc
from sqlalchemy import bindparam, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from ..errors import OperationError
from ..extensions import db
from ..models_base import utcnow
from .models import BoundaryClient, BoundaryDoc, BoundarySnapshot, BoundaryUpdate

log = logging.getLogger(__name__)
_CACHE_KEY = "couple.boundaries.replicas"
# What a replica holds in memory (its pycrdt Doc and DocIndex) per Yjs byte it applied, and its
# own small part. Measured with /proc's RSS over many replicas, each in a fresh process: a new
# document of 50 boundaries (10 KiB) takes ~150 KiB (15x); one after 2,000 / 20,000 / 100,000
# scattered edits, built from its snapshot, ~710 KiB / ~2.9 MiB / ~12 MiB (11-12x); built from
# its log instead (more bytes, each update's own framing), 5-11x. 12 is the snapshot's figure.
MEMORY_PER_APPLIED_BYTE = 12
MEMORY_PER_REPLICA = 16 * 1024


SNAPSHOT_PREFIX = b"ZLIB1:"


def pack_snapshot(update: bytes) -> bytes:
    """A snapshot as stored: zlib-compressed (a year of editing keeps many small tombstones,
    which compress about threefold), or as is when that is not smaller."""
    packed = SNAPSHOT_PREFIX + zlib.compress(update, 6)
    return packed if len(packed) < len(update) else update


def unpack_snapshot(data: bytes) -> bytes:
    """The Yjs update a stored snapshot holds (rows written before compression: as they are)."""
    data = bytes(data)
    if data.startswith(SNAPSHOT_PREFIX):
        try:
            return zlib.decompress(data[len(SNAPSHOT_PREFIX):])
        except zlib.error:
            pass  # an uncompressed update that happens to start with the same bytes
    return data


def is_panic(exc: BaseException) -> bool:
    """pyo3 turns a Rust panic (in yrs) into PanicException, a BaseException."""
    return type(exc).__name__ == "PanicException"


def new_doc() -> Doc:
    doc = Doc(allow_multithreading=True)
    doc.get("boundaries", type=Array)
    return doc


def boundaries_array(doc: Doc) -> Array:
    return doc.get("boundaries", type=Array)


class Replica:
    """One couple's document as this process last saw it (`seen_seq`), rebuilt on demand."""

    def __init__(self, couple_id: int, cache: "ReplicaCache | None" = None):
        self.couple_id = couple_id
        self._cache = cache
        # Yjs bytes applied to this doc since it was (re)built: what its memory is counted by.
        self.applied_bytes = 0
        self.lock = threading.RLock()
        self.doc: Doc | None = None
        self.index = None
        self.seen_seq = 0
        self.owners: dict[int, int | None] = {}  # Yjs client id -> user id, as stored (final)
        # Presence under an id nobody has edited with yet: held here only, never stored (a
        # row per page open would be a record of views), forgotten oldest first.
        self.presence: OrderedDict[int, int] = OrderedDict()

    def invalidate(self) -> None:
        """Forget the in-memory copy: the next use rebuilds it from the database."""
        self.doc = None
        self.index = None
        self.seen_seq = 0
        self._count(-self.applied_bytes)

    def _count(self, size: int) -> None:
        cache = self._cache
        if cache is None:
            self.applied_bytes += size
        else:
            cache.count(self, size)

    def _apply(self, data: bytes) -> None:
        from .guard import DocIndex
        from .protocol import decode_update

        if self.index is None:
            self.index = DocIndex()
        self._count(len(data))
        try:
            self.index.add(decode_update(data))
        except Exception:  # noqa: BLE001  (a row stored before updates were read whole)
            log.warning("boundaries: a stored update of couple %s could not be read",
                        self.couple_id)
        try:
            self.doc.apply_update(data)
        except BaseException as exc:  # a panic in yrs must not take the process down
            if isinstance(exc, Exception) or is_panic(exc):
                raise RuntimeError("a stored boundaries update could not be applied") from exc
            raise

    def owner_of(self, client: int) -> int | None:
        """The user a Yjs client id belongs to: the one who edited under it, else the one who
        showed presence under it (in this process); None: nobody has used it yet."""
        if client in self.owners:
            return self.owners[client]
        if client > 2**63 - 1:
            return -1  # cannot be stored: nobody may use it
        owner = db.session.scalar(
            select(BoundaryClient.user_id)
            .where(BoundaryClient.couple_id == self.couple_id, BoundaryClient.client_id == client)
        )
        if owner is not None:
            self.owners[client] = owner
            return owner
        return self.presence.get(client)

    def claim(self, clients, user_id: int) -> None:
        """Record these client ids as `user_id`'s, in the caller's transaction (the ones that
        are not stored yet: owner_of was asked about each first)."""
        for client in clients:
            if client not in self.owners:
                db.session.add(BoundaryClient(couple_id=self.couple_id, client_id=client,
                                              user_id=user_id))

    def remember(self, clients, user_id: int) -> None:
        """After the claim committed."""
        for client in clients:
            self.owners[client] = user_id
            self.presence.pop(client, None)

    def show_presence(self, clients, user_id: int) -> None:
        for client in clients:
            self.presence[client] = user_id
            self.presence.move_to_end(client)
        while len(self.presence) > 1024:
            self.presence.popitem(last=False)

    def catch_up(self, last_seq: int | None = None) -> Doc:
        """Apply what the log holds beyond `seen_seq` (Yjs updates are idempotent).

        `last_seq`: the log's last seq, when the caller read it under the doc row lock
        (lock_doc). A replica that has seen it is whole and reads nothing: on the path of every
        keystroke that is two queries fewer (the latest snapshot and the updates after it),
        while a replica behind another process's appends, or rebuilt, reads as before.

        A compaction may delete rows between our two reads; a gap in the sequence shows it, and
        the read is simply retried (the new snapshot then covers the gap).
        """
        if (last_seq is not None and self.doc is not None and self.index is not None
                and self.seen_seq == last_seq):
            return self.doc
        for _attempt in range(4):
            if self.doc is None:
                self.doc, self.seen_seq, self.index = new_doc(), 0, None
                self._count(-self.applied_bytes)
            snap = db.session.execute(
                select(BoundarySnapshot.id, BoundarySnapshot.upto_seq)
                .where(BoundarySnapshot.couple_id == self.couple_id)
                .order_by(BoundarySnapshot.upto_seq.desc())
                .limit(1)
            ).first()
            seen = self.seen_seq
            if snap is not None and snap.upto_seq > seen:
                data = db.session.scalar(
                    select(BoundarySnapshot.data).where(BoundarySnapshot.id == snap.id)
                )
                if data is None:  # deleted by a newer compaction meanwhile
                    continue
                self._apply(unpack_snapshot(data))
                seen = snap.upto_seq
            rows = db.session.execute(
                select(BoundaryUpdate.seq, BoundaryUpdate.data)
                .where(BoundaryUpdate.couple_id == self.couple_id, BoundaryUpdate.seq > seen)
                .order_by(BoundaryUpdate.seq)
            ).all()
            gap = False
            for row in rows:
                if row.seq != seen + 1:
                    gap = True
                    break
                self._apply(row.data)
                seen = row.seq
            self.seen_seq = seen
            if self.index is None:
                from .guard import DocIndex

                self.index = DocIndex()
            if not gap:
                return self.doc
        raise RuntimeError("the boundaries log kept changing under a catch-up")


class ReplicaCache:
    """Replicas of the most recently used documents, per app (a test run builds many apps),
    within a memory budget in bytes (COUPLE_BOUNDARIES_REPLICA_MEMORY_MB).

    A count of documents was the wrong bound both ways: 256 new documents are ~40 MiB, so a
    process serving 500 editing couples rebuilt a replica from the log on about half their
    keystrokes, while 256 documents near the size cap could hold several GiB. Each replica is
    counted by the Yjs bytes it applied (MEMORY_PER_APPLIED_BYTE), and the least recently used
    go until the rest fit. The replica asked for is never the one dropped, whatever its size:
    an evicted replica still in use by another greenlet is only garbage once that use ends
    (the database's row lock orders writers, as it does between processes)."""

    def __init__(self, budget: int):
        self.budget = budget
        self._lock = threading.Lock()
        self._items: OrderedDict[int, Replica] = OrderedDict()
        self.applied_bytes = 0  # of the replicas held (dropped ones are uncounted at once)

    def memory(self) -> int:
        """The estimated bytes the replicas held take."""
        return (len(self._items) * MEMORY_PER_REPLICA
                + self.applied_bytes * MEMORY_PER_APPLIED_BYTE)

    def count(self, replica: Replica, size: int) -> None:
        """A replica's applied bytes changed: under the cache's lock, so that a replica dropped
        meanwhile (by another thread) is never counted in nor taken out twice."""
        with self._lock:
            replica.applied_bytes += size
            if replica._cache is self:
                self.applied_bytes += size

    def get(self, couple_id: int) -> Replica:
        with self._lock:
            replica = self._items.get(couple_id)
            if replica is None:
                replica = self._items[couple_id] = Replica(couple_id, self)
            self._items.move_to_end(couple_id)
            while len(self._items) > 1 and self.memory() > self.budget:
                _id, dropped = self._items.popitem(last=False)
                dropped._cache = None  # it counts for nobody now
                self.applied_bytes -= dropped.applied_bytes
            return replica

    def __len__(self) -> int:
        return len(self._items)


def replica_cache() -> ReplicaCache:
    cache = current_app.extensions.get(_CACHE_KEY)
    if cache is None:
        budget = current_app.config["BOUNDARIES_REPLICA_MEMORY_MB"] * 1024 * 1024
        cache = current_app.extensions.setdefault(_CACHE_KEY, ReplicaCache(budget))
    return cache


def replica_for(couple_id: int) -> Replica:
    return replica_cache().get(couple_id)


def release_connection() -> None:
    """End the session's transaction so its pooled connection is free while we wait for a lock."""
    db.session.rollback()


@contextmanager
def locked(couple_id: int):
    """The replica of this couple's document, under its lock: the one lock protocol.

    The session's connection is released first (the lock is taken before any database
    connection is held, see the module's docstring); on failure the transaction is rolled back
    and, unless the failure is a refusal (an OperationError, decided before the document
    changed), the replica is forgotten, so the next use rebuilds it from the log. A caller
    that may have changed the document before refusing invalidates it itself.
    """
    replica = replica_for(couple_id)
    if not replica.lock.acquire(blocking=False):
        # Taken: wait for it without a connection. When it is free (nearly always: one couple
        # types in one place at a time) the transaction the login check began goes on, which
        # saves a keystroke two of its eight round trips (ROLLBACK, BEGIN).
        release_connection()
        replica.lock.acquire()
    try:
        yield replica
    except BaseException as exc:
        db.session.rollback()
        if not isinstance(exc, OperationError):
            replica.invalidate()
        raise
    finally:
        replica.lock.release()


def has_doc(couple_id: int) -> bool:
    return db.session.get(BoundaryDoc, couple_id) is not None


def ensure_doc_row(couple_id: int) -> None:
    if db.session.get(BoundaryDoc, couple_id) is not None:
        return
    try:
        db.session.execute(insert(BoundaryDoc).values(
            couple_id=couple_id, last_seq=0, stored_bytes=0, updates_since_snapshot=0))
        db.session.commit()
    except IntegrityError:
        # Another process created it first: the row exists, which is all we need.
        db.session.rollback()


def lock_doc(couple_id: int, *, bump: bool = False):
    """Take the couple's doc row lock for this transaction; with `bump`, the next seq.

    Returns (last_seq, stored_bytes, updates_since_snapshot) after the change.
    """
    statement = _LOCK_DOC[bump]
    db.session.flush()  # as the ORM's autoflush would: what the caller added goes first
    row = db.session.connection().execute(statement, {"doc": couple_id}).first()
    if row is None:  # the couple's first edit: make the row (ensure_doc_row commits), again
        ensure_doc_row(couple_id)
        row = db.session.connection().execute(statement, {"doc": couple_id}).one()
    return row


def append_update(couple_id: int, seq: int, data: bytes, user_id: int | None) -> None:
    """Add one update to the log in the caller's transaction (the caller holds the row lock)."""
    db.session.flush()
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        # One round trip, not two: on PostgreSQL a round trip is most of a keystroke's CPU.
        conn.execute(_APPEND_AND_COUNT, {"couple_id": couple_id, "seq": seq, "data": data,
                                         "user_id": user_id, "created_at": utcnow(),
                                         "size": len(data)})
        return
    conn.execute(_INSERT_UPDATE, {"couple_id": couple_id, "seq": seq, "data": data,
                                  "user_id": user_id})
    conn.execute(_COUNT_UPDATE, {"doc": couple_id, "size": len(data)})


# Every keystroke runs these three: built once, run with parameters on the session's
# connection (building an ORM-enabled statement and adding an object for the unit of work was
# ~40% of a keystroke's CPU in bench/realtime.py's profile).
_DOC = BoundaryDoc.__table__.c
_LOCK_DOC = {
    bump: update(BoundaryDoc.__table__)
    .where(_DOC.couple_id == bindparam("doc"))
    .values(last_seq=_DOC.last_seq + (1 if bump else 0))
    .returning(_DOC.last_seq, _DOC.stored_bytes, _DOC.updates_since_snapshot)
    for bump in (False, True)}
_INSERT_UPDATE = insert(BoundaryUpdate.__table__)
_COUNT_UPDATE = (
    update(BoundaryDoc.__table__)
    .where(_DOC.couple_id == bindparam("doc"))
    .values(stored_bytes=_DOC.stored_bytes + bindparam("size"),
            updates_since_snapshot=_DOC.updates_since_snapshot + 1))
# Both in one statement on PostgreSQL (a data-modifying WITH). A text with typed parameters:
# SQLAlchemy does not cache a compiled insert(...).cte(), and compiling it per keystroke would
# cost more than the round trip it saves.
_UPD = BoundaryUpdate.__table__.c
_APPEND_AND_COUNT = text(
    f"WITH appended AS (INSERT INTO {BoundaryUpdate.__tablename__} "
    "(couple_id, seq, data, user_id, created_at) "
    "VALUES (:couple_id, :seq, :data, :user_id, :created_at)) "
    f"UPDATE {BoundaryDoc.__tablename__} SET stored_bytes = stored_bytes + :size, "
    "updates_since_snapshot = updates_since_snapshot + 1 WHERE couple_id = :couple_id"
).bindparams(bindparam("data", type_=_UPD.data.type),
             bindparam("created_at", type_=_UPD.created_at.type))


def load_doc(couple_id: int) -> Doc:
    """A fresh Doc rebuilt from the log alone (what a restarted server would hold)."""
    return Replica(couple_id).catch_up()


def compact(couple_id: int) -> dict:
    """Fold the snapshot and the updates into one snapshot row, losing nothing.

    The fold is read without a lock, so writers keep going; then, under the row lock, exactly
    the rows that were folded are deleted *by id* (an update committed meanwhile has a higher
    seq and is kept). If another compaction got there first, this one gives up.
    """
    db.session.rollback()
    snap = db.session.execute(
        select(BoundarySnapshot.id, BoundarySnapshot.upto_seq, BoundarySnapshot.data)
        .where(BoundarySnapshot.couple_id == couple_id)
        .order_by(BoundarySnapshot.upto_seq.desc())
    ).all()
    rows = db.session.execute(
        select(BoundaryUpdate.id, BoundaryUpdate.seq, BoundaryUpdate.data)
        .where(BoundaryUpdate.couple_id == couple_id)
        .order_by(BoundaryUpdate.seq)
    ).all()
    db.session.rollback()
    if not rows:
        return {"folded": 0}
    doc = new_doc()
    upto = 0
    folded_ids = []
    try:
        for s in snap:
            doc.apply_update(unpack_snapshot(s.data))
            upto = max(upto, s.upto_seq)
        for row in rows:
            doc.apply_update(row.data)
            folded_ids.append(row.id)
            upto = max(upto, row.seq)
        merged = pack_snapshot(doc.get_update())
    except BaseException as exc:
        if isinstance(exc, Exception) or is_panic(exc):
            raise RuntimeError("the boundaries log could not be folded") from exc
        raise

    lock_doc(couple_id)
    current = db.session.scalars(
        select(BoundarySnapshot.id).where(BoundarySnapshot.couple_id == couple_id)
    ).all()
    if sorted(current) != sorted(s.id for s in snap):
        db.session.rollback()
        return {"folded": 0, "raced": True}
    db.session.add(BoundarySnapshot(couple_id=couple_id, upto_seq=upto, data=merged,
                                    folded=len(folded_ids)))
    if current:
        db.session.execute(delete(BoundarySnapshot).where(BoundarySnapshot.id.in_(current)))
    for start in range(0, len(folded_ids), 500):
        db.session.execute(
            delete(BoundaryUpdate).where(BoundaryUpdate.id.in_(folded_ids[start:start + 500]))
        )
    remaining = db.session.execute(
        select(func.count(BoundaryUpdate.id),
               func.coalesce(func.sum(func.length(BoundaryUpdate.data)), 0))
        .where(BoundaryUpdate.couple_id == couple_id)
    ).one()
    db.session.execute(
        update(BoundaryDoc)
        .where(BoundaryDoc.couple_id == couple_id)
        .values(stored_bytes=len(merged) + int(remaining[1]), updates_since_snapshot=remaining[0]),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    return {"folded": len(folded_ids), "upto": upto, "bytes": len(merged)}
