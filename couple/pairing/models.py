"""A couple and the invitations that create one."""
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models_base import UTCDateTime, utcnow

ROLES = ("rebuilding", "supporting")
ROLE_LABELS = {"rebuilding": "rebuilding trust", "supporting": "supporting healing"}


def other_role(role: str) -> str:
    return "supporting" if role == "rebuilding" else "rebuilding"


class CoupleMembers:
    """Who is in a couple, and in which role: one definition for the ORM's Couple and the
    signed-in snapshot's (couple/accounts/signed_in.py). Needs id, rebuilding_id,
    supporting_id and ended_at; `partner_of` also the relationships `rebuilding` and
    `supporting` (the snapshot loads its ORM Couple for them)."""

    @property
    def active(self) -> bool:
        return self.ended_at is None

    def role_of(self, user) -> str | None:
        if user.id == self.rebuilding_id:
            return "rebuilding"
        if user.id == self.supporting_id:
            return "supporting"
        return None

    def partner_of(self, user):
        if user.id == self.rebuilding_id:
            return self.supporting
        if user.id == self.supporting_id:
            return self.rebuilding
        return None

    def member_ids(self) -> list[int]:
        return [i for i in (self.rebuilding_id, self.supporting_id) if i is not None]


class Couple(CoupleMembers, db.Model):
    __tablename__ = "couples"

    id: Mapped[int] = mapped_column(primary_key=True)
    # SET NULL: a deleted account leaves an ended couple behind, never a dangling id.
    rebuilding_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    supporting_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Sequence of the couple's shared event stream (room "couple:<id>").
    last_seq: Mapped[int] = mapped_column(Integer, default=0)

    rebuilding = relationship("User", foreign_keys=[rebuilding_id])
    supporting = relationship("User", foreign_keys=[supporting_id])


class Invite(db.Model):
    """A single-use, expiring invitation to become someone's partner."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    inviter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The role the inviter holds; whoever accepts holds the other one.
    inviter_role: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    couple_id: Mapped[int | None] = mapped_column(ForeignKey("couples.id", ondelete="SET NULL"))

    inviter = relationship("User", foreign_keys=[inviter_id])

    def open_at(self, now: datetime) -> bool:
        return (
            self.used_at is None
            and self.declined_at is None
            and self.revoked_at is None
            and now < self.expires_at
        )
