"""Where a person is on each step of their guide, and what they wrote about it."""
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models_base import UTCDateTime, utcnow

STEP_STATES = ("not_started", "working", "practising")
STEP_STATE_LABELS = {
    "not_started": "Not started",
    "working": "Working on it",
    "practising": "Practising",
}


class GuideProgress(db.Model):
    __tablename__ = "guide_progress"
    __table_args__ = (UniqueConstraint("user_id", "guide", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Keyed by guide too: someone who later holds the other role keeps this guide's history.
    guide: Mapped[str] = mapped_column(String(12))
    step: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12), default="not_started")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reflection(db.Model):
    """A person's own words on one step: private unless they share it."""

    __tablename__ = "reflections"
    __table_args__ = (UniqueConstraint("user_id", "guide", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Keyed by guide too: someone who later holds the other role keeps this guide's history.
    guide: Mapped[str] = mapped_column(String(12))
    step: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    # Shared with one couple, not with "whoever my partner is": after an unlink and a new link,
    # nothing written for the former partner reaches the new one.
    shared_couple_id: Mapped[int | None] = mapped_column(
        ForeignKey("couples.id", ondelete="SET NULL")
    )
    # Optimistic concurrency: two tabs saving over each other get a 409, not a lost edit.
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def shared_with(self, couple_id: int | None) -> bool:
        return couple_id is not None and self.shared_couple_id == couple_id
