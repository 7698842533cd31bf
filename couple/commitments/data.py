"""Commitments' part of a person's data (couple/accounts/data.py).

The export holds the commitments they made (in every couple they were in) with each one's
history and marks, and the acknowledgements they wrote on their partner's marks; never the
partner's commitments or the partner's acknowledgements, and their own reminder settings
(private: never in the partner's export). Erasure needs nothing of its own: all of these rows
go with the user row (ON DELETE CASCADE), reminders and their sent-rows included.
"""
from sqlalchemy import select

from ..accounts.data import plain_rows
from .models import (
    Acknowledgement,
    Commitment,
    CommitmentChange,
    FollowThrough,
    Reminder,
    ReminderSend,
)


def export_for(user) -> dict:
    mine = select(Commitment.id).where(Commitment.owner_id == user.id)
    tables = {
        "commitments": plain_rows(Commitment, Commitment.owner_id == user.id),
        "commitment_changes": plain_rows(CommitmentChange,
                                         CommitmentChange.commitment_id.in_(mine)),
        "follow_throughs": plain_rows(FollowThrough, FollowThrough.commitment_id.in_(mine)),
        "follow_through_acks": plain_rows(Acknowledgement, Acknowledgement.user_id == user.id),
        "commitment_reminders": plain_rows(Reminder, Reminder.user_id == user.id),
        "reminder_sends": plain_rows(
            ReminderSend, ReminderSend.reminder_id.in_(
                select(Reminder.id).where(Reminder.user_id == user.id))),
    }
    return {"commitments": {name: rows for name, rows in tables.items() if rows}}


