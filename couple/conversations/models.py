"""A conversation of a couple, its rounds, and the words written in each round.

A round is one question (asked by one partner, answered by the other) or one feeling (shared by
one partner, heard by the other). Its *speaker* is the one whose words are to be heard (who
answers a question, who shares a feeling); its *listener* writes back "what I heard", and the
speaker confirms "yes, that's it" or adds what was missed. Nothing here records a read, a view
or typing: there is no column for it (docs/safety.md, conversations).
"""
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models_base import UTCDateTime, utcnow

KINDS = ("question", "feeling")
STATUSES = ("open", "paused", "closed")
# asked: a question waits for its answer; answered: the speaker's words wait to be heard back;
# checking: "what I heard" waits for the speaker; heard: confirmed; set_aside: "not ready yet" or
# "with our counsellor" (a full answer, nothing more is asked); withdrawn: taken back unanswered.
ROUND_STATUSES = ("asked", "answered", "checking", "heard", "set_aside", "withdrawn")
ENDED_ROUND = ("heard", "set_aside", "withdrawn")
ENTRY_KINDS = ("answer", "not_ready", "counsellor", "heard", "confirmed", "added")


class Conversation(db.Model):
    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The couple it was opened in: after an unlink no page of anyone shows it again.
    couple_id: Mapped[int] = mapped_column(ForeignKey("couples.id", ondelete="CASCADE"), index=True)
    opener_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(8), default="open")
    # A break: who asked for it, the local time they chose to come back ("YYYY-MM-DDTHH:MM" in
    # pause_tz), and what they said. Never a countdown: it is shown as the time they chose.
    paused_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    pause_until: Mapped[str | None] = mapped_column(String(16))
    pause_tz: Mapped[str | None] = mapped_column(String(64))
    pause_note: Mapped[str | None] = mapped_column(String(280))
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConversationRound(db.Model):
    __tablename__ = "conversation_rounds"
    __table_args__ = (UniqueConstraint("conversation_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8))
    opener_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The question or the feeling; emptied when its writer withdraws it (the withdrawal shows).
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ConversationEntry(db.Model):
    """One step of a round: an answer (or "not ready yet" / "with our counsellor"), a "what I
    heard", a confirmation, or what was missed. Never edited, never deleted by anyone."""

    __tablename__ = "conversation_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("conversation_rounds.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
