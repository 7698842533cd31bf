"""The boundaries document's durable log, and the rows agreement and history are built from.

- `BoundaryDoc`: one row per couple; its `last_seq` is taken under a row lock by every writer,
  so updates commit in sequence order and a replica catches up by "seq > what I have".
- `BoundaryUpdate`: append-only Yjs V1 updates: what each accepted update added to the document
  (or what the server did).
- `BoundarySnapshot`: compaction's output: one merged update holding everything up to `upto_seq`
  (zlib-compressed behind a "ZLIB1:" prefix: store.pack_snapshot).
- `BoundaryClient`: which partner each Yjs client id (an editor tab) belongs to.
- `Approval`: a partner accepted (or took back acceptance of) one exact wording.
- `RemovalProposal`: a partner proposed removing a boundary (or took it back); the row with
  kind "removed" is written when both had proposed it and it left the document.
- `Wording`: the canonical wording of a boundary each time it settled or was accepted.
All but the doc row and the compacted log are append-only: history is never rewritten.
"""
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models_base import UTCDateTime, utcnow


class BoundaryDoc(db.Model):
    __tablename__ = "boundary_docs"

    couple_id: Mapped[int] = mapped_column(
        ForeignKey("couples.id", ondelete="CASCADE"), primary_key=True
    )
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    # Bytes in the snapshot plus the updates after it: what the doc-size cap is checked against.
    stored_bytes: Mapped[int] = mapped_column(Integer, default=0)
    updates_since_snapshot: Mapped[int] = mapped_column(Integer, default=0)


class BoundaryUpdate(db.Model):
    __tablename__ = "boundary_updates"
    __table_args__ = (UniqueConstraint("couple_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    couple_id: Mapped[int] = mapped_column(ForeignKey("couples.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    # Who sent it; None for the server's own edits (a removal both partners asked for).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BoundarySnapshot(db.Model):
    __tablename__ = "boundary_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    couple_id: Mapped[int] = mapped_column(
        ForeignKey("couples.id", ondelete="CASCADE"), index=True
    )
    upto_seq: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    folded: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BoundaryClient(db.Model):
    """Which partner a Yjs client id (one editor tab that has edited) belongs to.

    Claimed by the first update that writes under it, so nobody can write structs or show
    presence under another person's tab. Only edits claim a row, and it holds no time: opening
    the page or showing presence writes nothing (docs/safety.md: no row records a view).
    """
    __tablename__ = "boundary_clients"

    couple_id: Mapped[int] = mapped_column(
        ForeignKey("couples.id", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Approval(db.Model):
    __tablename__ = "boundary_approvals"
    __table_args__ = (Index("ix_boundary_approvals_lookup", "couple_id", "boundary_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    couple_id: Mapped[int] = mapped_column(ForeignKey("couples.id", ondelete="CASCADE"))
    boundary_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(12))  # "accept" | "withdraw"
    content_hash: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RemovalProposal(db.Model):
    __tablename__ = "boundary_removals"
    __table_args__ = (Index("ix_boundary_removals_lookup", "couple_id", "boundary_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    couple_id: Mapped[int] = mapped_column(ForeignKey("couples.id", ondelete="CASCADE"))
    boundary_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(12))  # "propose" | "withdraw" | "removed"
    # The wording at that moment, so history shows what was proposed for removal.
    text: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Wording(db.Model):
    __tablename__ = "boundary_wordings"
    __table_args__ = (Index("ix_boundary_wordings_lookup", "couple_id", "boundary_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    couple_id: Mapped[int] = mapped_column(ForeignKey("couples.id", ondelete="CASCADE"))
    boundary_id: Mapped[str] = mapped_column(String(64))
    # The partner whose editor reported the wording settled (or who accepted it).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    content_hash: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
