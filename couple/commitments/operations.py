"""Commitment operations: make, mark, acknowledge, reword, pause, resume, end.

Each is one `events.change` locking the couple's stream first, so every write of one couple is
ordered by the database and each event's whole-item patch (built by the read model, items.py)
is composed from committed rows in sequence order; then it changes rows, records the couple's
event, remembers the client's op id, and commits. The event is sent after the commit
(couple/realtime.py).

Concurrency (safety.md, security.md F.27): rewording and marking carry the version the tab saw;
a stale one gets a 409 with the current copy, so nobody's words are silently overwritten.
Pause, resume and end name the state they want and are applied in the server's order (last
writer wins, per property). A unique (commitment, day) key backs the marks.
"""
from datetime import date, timedelta

from sqlalchemy import select

from .. import events
from ..access import checked_row_id, couple_of, couple_row
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..extensions import db
from ..guides import drafts
from ..guides.content import GUIDES
from ..guides.operations import guide_of
from ..models_base import utcnow
from ..text import checked_text as _text
from .items import (
    COMMITMENTS,
    MARKS,
    WINDOW_DAYS,
    MarkRow,
    commitment_item,
    item_for,
    mark_item,
    mark_key,
    mark_log,
    mark_on,
    mark_reads,
    schedule_of,
)
from .models import (
    MARK_STATUSES,
    SCHEDULE_KINDS,
    Acknowledgement,
    Commitment,
    CommitmentChange,
    FollowThrough,
)
from .schedule import local_today, occurrences, valid_tz

__all__ = ["WINDOW_DAYS", "mark_log", "commitment_for", "parse_day", "create_commitment",
           "mark_follow_through", "acknowledge_mark", "reword_commitment",
           "set_commitment_status"]

MAX_WORDING = 280
MAX_NOTE = 1000
MAX_ACK_NOTE = 500
MAX_OPEN_PER_PERSON = 50
MAX_AHEAD_DAYS = 366
MAX_LENGTH_DAYS = 3660


# ---------------------------------------------------------------- helpers
def parse_day(value, field: str = "day", *, required: bool = True) -> date | None:
    """A local date from "YYYY-MM-DD" (or a date); InvalidInput otherwise."""
    if isinstance(value, date):
        return value
    if value in (None, ""):
        if required:
            raise InvalidInput("Give a date as YYYY-MM-DD.", field)
        return None
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidInput("Give a date as YYYY-MM-DD.", field)


def commitment_for(user, commitment_id) -> Commitment:
    """The commitment if it belongs to this person's active couple; NotFound otherwise."""
    return couple_row(user, Commitment, commitment_id)


def owner_only(user, c: Commitment, doing: str) -> None:
    if c.owner_id != user.id:
        raise Forbidden(f"Only the person who made this commitment can {doing} it. "
                        "You can acknowledge what they mark.")


# ---------------------------------------------------------------- operations

def create_commitment(user, *, wording, schedule, start=None, end=None, weekdays=(), tz="UTC",
                      step=None, op_id: str | None = None) -> dict:
    """Make a commitment: its words, when it falls due (in the owner's time zone), a guide step."""
    wording = _text(wording, "wording", MAX_WORDING, required=True, what="commitment")
    if schedule not in SCHEDULE_KINDS:
        raise InvalidInput("Choose once, daily, chosen weekdays or weekly.", "schedule")
    if not valid_tz(tz):
        raise InvalidInput("Choose your time zone (for example Europe/London).", "tz")
    today = local_today(tz)
    start = parse_day(start, "start", required=False) or today
    end = parse_day(end, "end", required=False)
    if start < today - timedelta(days=WINDOW_DAYS - 1):
        raise InvalidInput(f"Start within the last {WINDOW_DAYS} days, or later.", "start")
    if start > today + timedelta(days=MAX_AHEAD_DAYS):
        raise InvalidInput("Start within the next year.", "start")
    if schedule == "once":
        end = start
    if end is not None and end < start:
        raise InvalidInput("The end comes after the start.", "end")
    if end is not None and end > start + timedelta(days=MAX_LENGTH_DAYS):
        raise InvalidInput("End within ten years of the start.", "end")
    days = ""
    if schedule == "weekdays":
        try:
            chosen = sorted({int(d) for d in (weekdays or ())})
        except (TypeError, ValueError):
            raise InvalidInput("Choose the days of the week.", "weekdays") from None
        if not chosen or any(d < 0 or d > 6 for d in chosen):
            raise InvalidInput("Choose at least one day of the week.", "weekdays")
        days = "".join(str(d) for d in chosen)
    guide = None
    if step not in (None, ""):
        guide = guide_of(user)
        if not isinstance(step, int) or guide is None or GUIDES[guide].step(step) is None:
            raise InvalidInput("Choose a step of your guide, or none.", "step")
    else:
        step = None

    couple = couple_of(user)
    with events.change(user, op_id, lock=events.couple_stream(couple.id)) as change:
        # What the quick exit kept of the wording is in the commitment now: forgotten in
        # the same transaction.
        drafts.forget_draft(user, "commitment:new")
        if change.repeated:
            return change.result
        open_count = db.session.scalar(
            select(db.func.count(Commitment.id)).where(
                Commitment.couple_id == couple.id, Commitment.owner_id == user.id,
                Commitment.status != "ended")
        )
        if open_count >= MAX_OPEN_PER_PERSON:
            raise InvalidInput(f"You have {MAX_OPEN_PER_PERSON} open commitments: end one first.")
        c = Commitment(couple_id=couple.id, owner_id=user.id, wording=wording, guide=guide,
                       step=step, schedule=schedule, weekdays=days or None, start_on=start,
                       end_on=end, tz=tz, status="active", version=1, created_at=utcnow())
        db.session.add(c)
        db.session.flush()
        db.session.add(CommitmentChange(commitment_id=c.id, kind="made", wording=wording,
                                        day=today, at=c.created_at))
        db.session.flush()
        item = item_for(c)
        change.record(events.couple_stream(couple.id), "commitments.made",
                      {"set": {COMMITMENTS: {str(c.id): item}}})
        return change.applied(item)


def mark_follow_through(user, commitment_id, day, status, note="", base_version=None,
                        op_id: str | None = None) -> dict:
    """The owner marks one occurrence kept or missed (or corrects their own mark)."""
    day = parse_day(day, "day")
    if status not in MARK_STATUSES:
        raise InvalidInput("Mark it kept or missed.", "status")
    note = _text(note, "note", MAX_NOTE, what="note")
    couple = couple_of(user)
    with events.change(user, op_id, lock=events.couple_stream(couple.id),
                       look_first=False) as change:
        # The commitment with its own changes (the schedule's history), read as rows: a mark
        # changes neither. The same statement, after the lock, looks up the op id: a retry
        # (its original committed before this change took the lock) answers the first result.
        # With it, the window's statuses and the day's own mark with its acknowledgement:
        # everything the mark decides on, one round trip.
        read = mark_reads(couple.id, checked_row_id(commitment_id), day, user.id, op_id)
        if read is None:
            raise NotFound()
        if read.applied is not None:
            return change.answered_before(read.applied.result)
        c, changes = read.commitment, read.changes
        owner_only(user, c, "mark")
        today = local_today(c.tz)
        if day > today:
            raise InvalidInput("That day has not come yet.", "day")
        if day < today - timedelta(days=WINDOW_DAYS - 1):
            raise InvalidInput(f"Marks older than {WINDOW_DAYS} days stay as they are.", "day")
        # The window's statuses (all the commitment's item needs: after a year of daily marks
        # it holds ~90), and the day's own mark with its acknowledgement, came with the read.
        # The mark is then written with statements of its own, not the ORM's unit of work.
        by_day, mark, ack = read.by_day, read.mark, read.ack
        if mark is None and day not in occurrences(schedule_of(c, changes), day, day):
            raise InvalidInput("This commitment was not due that day.", "day")
        if mark is not None and mark.status == status and mark.note == note:
            return mark_item(c, mark, ack)  # what this tab wants is already there
        seen = mark.version if mark is not None else 0
        if base_version is not None and base_version != seen:
            raise Conflict("This day was marked in another tab meanwhile. Here is what is saved.",
                           "status", current=mark_item(c, mark, ack) if mark else None)
        now = utcnow()
        # The mark's own write goes with the change's event and op id, in the statement that
        # ends the change (events.change: one round trip on PostgreSQL), guarded as before:
        # the couple's lock orders every mark, so the guard only ever guards.
        if mark is None:
            mark = MarkRow(id=None, commitment_id=c.id, day=day, status=status, note=note,
                           version=1, marked_at=now, corrected_at=None)
            change.insert(FollowThrough.__table__,
                          {k: v for k, v in mark._asdict().items() if k != "id"},
                          unique=("commitment_id", "day"),
                          on_conflict=lambda: _marked_meanwhile(c, day))
            kind, previous = status, None
        else:
            # "corrected" means kept became missed or the other way; a note edit is not that.
            corrected = now if mark.status != status else mark.corrected_at
            change.update(FollowThrough.__table__, {"id": mark.id, "version": mark.version},
                          {"status": status, "note": note, "version": mark.version + 1,
                           "corrected_at": corrected},
                          on_miss=lambda: _marked_meanwhile(c, day))
            # The log keeps every mark and correction (what it said before), so the history can
            # tell a correction from a first mark.
            kind, previous = ((status, mark.status) if mark.status != status
                              else ("noted", None))
            mark = mark._replace(status=status, note=note, version=mark.version + 1,
                                 corrected_at=corrected)
        by_day[day] = status
        # Only the owner marks, so the owner is who did it. Nothing reads the log back in this
        # change: it is sent with the change's event and op id (one round trip on PostgreSQL).
        change.insert(CommitmentChange.__table__, {
            "commitment_id": c.id, "kind": kind, "wording": c.wording, "previous": previous,
            "day": day, "at": now})
        item = mark_item(c, mark, ack)
        # A mark never changes the commitment's history, and `by_day` holds this mark as it is
        # now: the item needs no second read of either.
        data = {"set": {COMMITMENTS: {str(c.id): commitment_item(c, changes, by_day)},
                        MARKS: {mark_key(c.id, day): item}}}
        change.record(events.couple_stream(couple.id), "commitments.marked",
                      data)
        return change.applied(item)


def _marked_meanwhile(c, day: date) -> Conflict:
    """The day's mark changed (or appeared) after this change read it: only a writer without
    the couple's lock could; what is saved now comes with the answer."""
    current, current_ack = mark_on(c.id, day)
    return Conflict("This day was marked in another tab meanwhile.", "status",
                    current=mark_item(c, current, current_ack) if current else None)


def _ack_of(mark: FollowThrough | None) -> Acknowledgement | None:
    if mark is None:
        return None
    return db.session.scalar(
        select(Acknowledgement).where(Acknowledgement.follow_through_id == mark.id)
        .execution_options(populate_existing=True)
    )


def acknowledge_mark(user, commitment_id, day, note="", op_id: str | None = None) -> dict:
    """The partner says "I noticed" about a mark, with an optional kind note; never changes it."""
    day = parse_day(day, "day")
    note = _text(note, "note", MAX_ACK_NOTE, what="note")
    couple = couple_of(user)
    with events.change(user, op_id, lock=events.couple_stream(couple.id)) as change:
        if change.repeated:
            return change.result
        c = commitment_for(user, commitment_id)
        if c.owner_id == user.id:
            raise Forbidden("This is your own commitment: your partner acknowledges your marks.")
        today = local_today(c.tz)
        mark = db.session.scalar(
            select(FollowThrough)
            .where(FollowThrough.commitment_id == c.id, FollowThrough.day == day)
            .execution_options(populate_existing=True)
        )
        if mark is None or day < today - timedelta(days=WINDOW_DAYS - 1):
            raise InvalidInput("There is no recent mark on that day to acknowledge.", "day")
        ack = _ack_of(mark)
        if ack is not None and ack.note == note and ack.seen_status == mark.status:
            return mark_item(c, mark, ack)
        if ack is None:
            ack = Acknowledgement(follow_through_id=mark.id, user_id=user.id)
            db.session.add(ack)
        ack.user_id = user.id
        ack.note = note
        ack.seen_status = mark.status
        ack.at = utcnow()
        db.session.flush()
        item = mark_item(c, mark, ack)
        change.record(events.couple_stream(couple.id), "commitments.acknowledged",
                      {"set": {MARKS: {mark_key(c.id, day): item}}})
        return change.applied(item)


def reword_commitment(user, commitment_id, wording, base_version=None,
                      op_id: str | None = None) -> dict:
    """The owner rewords a commitment; what was promised before stays in its history."""
    wording = _text(wording, "wording", MAX_WORDING, required=True, what="commitment")
    couple = couple_of(user)
    with events.change(user, op_id, lock=events.couple_stream(couple.id)) as change:
        if change.repeated:
            return change.result
        c = commitment_for(user, commitment_id)
        owner_only(user, c, "reword")
        if c.wording == wording:
            return item_for(c)
        if base_version is not None and base_version != c.version:
            raise Conflict("This commitment was reworded elsewhere meanwhile. "
                           "Here is the saved copy.", "wording", current=item_for(c))
        if c.status == "ended":
            raise InvalidInput("This commitment has ended; make a new one instead.", "wording")
        db.session.add(CommitmentChange(commitment_id=c.id, kind="reworded", wording=wording,
                                        previous=c.wording, day=local_today(c.tz), at=utcnow()))
        c.wording = wording
        c.version += 1
        db.session.flush()
        item = item_for(c)
        change.record(events.couple_stream(couple.id), "commitments.reworded",
                      {"set": {COMMITMENTS: {str(c.id): item}}})
        return change.applied(item)


_TRANSITIONS = {
    # target status: (allowed from, history kind)
    "paused": (("active",), "paused"),
    "active": (("paused",), "resumed"),
    "ended": (("active", "paused"), "ended"),
}


def set_commitment_status(user, commitment_id, target: str, op_id: str | None = None) -> dict:
    """Pause, resume or end a commitment (the owner only); asking for the current state is a
    no-op, so two tabs doing the same thing agree."""
    if target not in _TRANSITIONS:
        raise InvalidInput("Pause, resume or end.", "status")
    couple = couple_of(user)
    with events.change(user, op_id, lock=events.couple_stream(couple.id)) as change:
        if change.repeated:
            return change.result
        c = commitment_for(user, commitment_id)
        verb = {"paused": "pause", "active": "resume", "ended": "end"}[target]
        owner_only(user, c, verb)
        if c.status == target:
            return item_for(c)
        allowed, kind = _TRANSITIONS[target]
        if c.status not in allowed:
            raise InvalidInput("This commitment has ended; make a new one instead.", "status")
        today = local_today(c.tz)
        c.status = target
        if target == "ended":
            c.ended_on = today
        db.session.add(CommitmentChange(commitment_id=c.id, kind=kind, wording=c.wording,
                                        day=today, at=utcnow()))
        db.session.flush()
        item = item_for(c)
        change.record(events.couple_stream(couple.id), f"commitments.{kind}",
                      {"set": {COMMITMENTS: {str(c.id): item}}})
        return change.applied(item)
