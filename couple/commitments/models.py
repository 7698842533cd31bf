"""A commitment, its history, its follow-through marks, and the partner's acknowledgements.

Dates of occurrences and marks are *local calendar dates in the owner's time zone* (a `date`,
never a datetime): "Tuesday" is the owner's Tuesday wherever the partner lives.
"""
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models_base import UTCDateTime, utcnow

SCHEDULE_KINDS = ("once", "daily", "weekdays", "weekly")
STATUSES = ("active", "paused", "ended")
# What a status is called on the page; the browser is given the same words (couple/client.py).
STATUS_LABELS = {"active": "Active", "paused": "Paused", "ended": "Ended"}
# What a calendar day's cell says it is (its aria-label), on the page and in the browser alike.
DAY_STATE_WORDS = {"kept": "kept", "missed": "missed", "unmarked": "not marked",
                   "today": "due today", "upcoming": "due", "none": "not due"}
MARK_STATUSES = ("kept", "missed")
CHANGE_KINDS = ("made", "reworded", "paused", "resumed", "ended")
# Marks in a commitment's history (same table, kept out of the live item's `history`): the kind is
# the status the mark now says ("kept"/"missed", with `previous` the status it said before when it
# was a correction) or "noted" when only its note changed; `day` is the day that was marked.
MARK_LOG_KINDS = ("kept", "missed", "noted")


class Commitment(db.Model):
    __tablename__ = "commitments"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The couple it was made in: after an unlink it is never shown to a later partner.
    couple_id: Mapped[int] = mapped_column(ForeignKey("couples.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    wording: Mapped[str] = mapped_column(String(280))
    guide: Mapped[str | None] = mapped_column(String(12))
    step: Mapped[int | None] = mapped_column(Integer)
    schedule: Mapped[str] = mapped_column(String(12))
    # Weekdays as digits, Monday = 0 ("024" = Mon, Wed, Fri); only for "weekdays".
    weekdays: Mapped[str | None] = mapped_column(String(7))
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date | None] = mapped_column(Date)
    # The first local day on which it no longer falls due (set by "end").
    ended_on: Mapped[date | None] = mapped_column(Date)
    tz: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(8), default="active")
    # Optimistic concurrency for rewording: a stale tab gets a 409 with the current copy.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner = relationship("User", foreign_keys=[owner_id])
    changes = relationship("CommitmentChange", order_by="CommitmentChange.id",
                           cascade="all, delete-orphan", passive_deletes=True)


class CommitmentChange(db.Model):
    """One entry of a commitment's history: made, reworded (with the words before), paused...,
    and each mark or correction of a day (MARK_LOG_KINDS)."""

    __tablename__ = "commitment_changes"
    # The commitment's own changes and its log of marks are read apart (years of daily marks
    # must not be scanned to find three rewordings): seek by (commitment, kind).
    __table_args__ = (Index("ix_commitment_changes_commitment_kind", "commitment_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(
        ForeignKey("commitments.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    # The wording in force after this change, and (for a reword) what was promised before.
    wording: Mapped[str] = mapped_column(String(280))
    previous: Mapped[str | None] = mapped_column(String(280))
    # The owner's local day the change took effect (pauses are spans of these days).
    day: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FollowThrough(db.Model):
    """The owner's own mark for one occurrence: kept or missed. One per (commitment, day)."""

    __tablename__ = "follow_throughs"
    __table_args__ = (UniqueConstraint("commitment_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitments.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Acknowledgement(db.Model):
    """The partner's "I noticed" on a mark, with an optional kind note. One per mark."""

    __tablename__ = "follow_through_acks"
    __table_args__ = (UniqueConstraint("follow_through_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_through_id: Mapped[int] = mapped_column(
        ForeignKey("follow_throughs.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    # What the mark said when it was acknowledged (the owner may correct it later).
    seen_status: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reminder(db.Model):
    """The owner's own reminder for one commitment: an email on its due days at a local time.

    A private setting (couple/commitments/reminders.py): never in the couple's stream, the
    partner's state, export or pages. One row per commitment; turning it off keeps the row (so
    today's sent-row stays and turning it back on never mails twice the same day)."""

    __tablename__ = "commitment_reminders"
    __table_args__ = (UniqueConstraint("commitment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(
        ForeignKey("commitments.id", ondelete="CASCADE"))
    # The owner (whom it mails); the commitment's owner never changes.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # "HH:MM", the owner's wall-clock time in the commitment's zone.
    local_time: Mapped[str] = mapped_column(String(5))
    # When it was last turned on or its time changed: a day whose time had already passed then
    # is not reminded (turning it on in the evening does not mail at once for this morning).
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReminderSend(db.Model):
    """One reminder mailed for one local day: the unique key makes two runs, or two processes
    at once, send it once."""

    __tablename__ = "reminder_sends"
    __table_args__ = (UniqueConstraint("reminder_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reminder_id: Mapped[int] = mapped_column(
        ForeignKey("commitment_reminders.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
