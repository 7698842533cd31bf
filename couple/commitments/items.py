"""The commitments read model: the whole items both partners' clients hold, built from rows.

Public, so that operations (composing each event's patch), the client state (state.py), the
calendar and trend (reading.py) and the pages build the same items the same way.
"""
from collections import namedtuple
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import (
    Date,
    String,
    and_,
    bindparam,
    cast,
    func,
    literal_column,
    select,
)

from ..events import AppliedOp
from ..extensions import db
from ..guides.content import GUIDES
from .followthrough import rates
from .models import (
    CHANGE_KINDS,
    MARK_LOG_KINDS,
    Acknowledgement,
    Commitment,
    CommitmentChange,
    FollowThrough,
)
from .schedule import Schedule, describe, local_today, occurrences

# Marks (and acknowledgements) can be made for the last WINDOW_DAYS local days; the client
# state carries exactly these, so initial state + events == a fresh fetch. Older days are
# history: shown on the calendar, never changed.
WINDOW_DAYS = 90

# The client state's collections.
COMMITMENTS = "commitments"
MARKS = "commitment_marks"


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    # Stored values come back in UTC already (UTCDateTime); strftime is several times faster
    # than astimezone().isoformat() on the thousands of marks a page may carry.
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def changes_of(commitment_ids) -> dict[int, list]:
    """Each commitment's own changes (made, reworded, paused, resumed, ended), oldest first, as
    rows (id, commitment_id, kind, wording, previous, day, at): read on every mark and page,
    and only read."""
    out: dict[int, list] = {cid: [] for cid in commitment_ids}
    if not commitment_ids:
        return out
    # The commitment's own changes; the log of marks (same table) is read by mark_log().
    db.session.flush()  # as the ORM's autoflush would: a change added just before is read
    ids = list(commitment_ids)
    if len(ids) == 1:  # every mark: an expanding IN is rendered anew on each execution
        rows = db.session.connection().execute(_ONES_CHANGES, {"cid": ids[0]})
    else:
        rows = db.session.connection().execute(_CHANGES, {"ids": ids})
    for ch in rows:
        out[ch.commitment_id].append(ch)
    return out


class ChangeRow(NamedTuple):
    """One of a commitment's own changes as mark_reads hands it out (changes_of's
    rows have the same fields)."""

    id: int
    commitment_id: int
    kind: str
    wording: str
    previous: str | None
    day: date
    at: datetime


def _mark_reads():
    """A couple's commitment by id, with its own changes joined (one row per change, oldest
    first; one row of NULLs for them when it has none), and on every row: the op id's applied
    row if this person already applied it (user_id, op_id are unique: at most one), the
    window's statuses as one string ("day:status,..."; from `:first`), and `:day`'s own mark
    with its acknowledgement."""
    table, changes = Commitment.__table__, CommitmentChange.__table__.alias("own_changes")
    applied = AppliedOp.__table__
    window = FollowThrough.__table__.alias("window_marks")
    mark = FollowThrough.__table__.alias("day_mark")
    ack = Acknowledgement.__table__.alias("day_ack")
    kinds = [literal_column(f"'{kind}'") for kind in CHANGE_KINDS]
    statuses = (
        select(func.aggregate_strings(
            cast(window.c.day, String) + literal_column("':'") + window.c.status, ","))
        .where(window.c.commitment_id == table.c.id, window.c.day >= bindparam("first"))
        .scalar_subquery())
    return (select(*table.c, *(changes.c[name].label(f"change_{name}")
                               for name in ChangeRow._fields),
                   applied.c.id.label("applied_id"), applied.c.result.label("applied_result"),
                   statuses.label("window_statuses"),
                   *(mark.c[name].label(f"day_{name}") for name in _DAY_MARK),
                   *(ack.c[name].label(f"ack_{name}") for name in AckRow._fields))
            .select_from(
                table.outerjoin(changes, and_(changes.c.commitment_id == table.c.id,
                                              changes.c.kind.in_(kinds)))
                .outerjoin(applied, and_(applied.c.user_id == bindparam("user_id"),
                                         applied.c.op_id == bindparam("op_id")))
                .outerjoin(mark, and_(mark.c.commitment_id == table.c.id,
                                      mark.c.day == bindparam("day", type_=Date)))
                .outerjoin(ack, ack.c.follow_through_id == mark.c.id))
            .where(table.c.id == bindparam("row_id"), table.c.couple_id == bindparam("couple_id"))
            .order_by(changes.c.id))


_DAY_MARK = ("id", "status", "note", "version", "marked_at", "corrected_at")
_COMMITMENT_COLUMNS = len(Commitment.__table__.c)
# A commitment as a mark reads it: its columns, by the same names as the model's attributes.
CommitmentRow = namedtuple("CommitmentRow", [column.name for column in Commitment.__table__.c])


class Applied(NamedTuple):
    """An op id this person already applied, with the result its first attempt answered."""

    result: dict | None


class MarkReads(NamedTuple):
    """What a mark decides on, read in one statement (`mark_reads`)."""

    commitment: "CommitmentRow"
    changes: list  # its own changes, ChangeRows, oldest first
    applied: Applied | None  # the change's op id, if this person already applied it
    by_day: dict  # the window's {day: status} (statuses_in_window)
    mark: "MarkRow | None"  # the day's own mark (mark_on)
    ack: "AckRow | None"  # and its acknowledgement


def mark_reads(couple_id: int, commitment_id: int, day: date, user_id: int | None = None,
               op_id: str | None = None) -> MarkReads | None:
    """Everything a mark reads before it decides, in one statement (one round trip), or None
    when this couple has no such commitment: the commitment and its own changes as rows (not
    the ORM's load and changes_of), whether this person already applied the change's op id
    (events.change's look-up: the mark takes the couple's lock first, so this statement, not
    the lock's, must see a retry's original), the window's statuses, and `day`'s own mark with
    its acknowledgement.

    The window's first day depends on the commitment's time zone, which the statement does
    not know yet: it reads from a day earlier than any zone's first day (UTC's today less
    WINDOW_DAYS), as one string, and the days before the commitment's own first are cut here.
    Ninety rows through the result machinery cost more than the string."""
    db.session.flush()  # as the ORM's autoflush would
    first_anywhere = datetime.now(UTC).date() - timedelta(days=WINDOW_DAYS)
    rows = db.session.connection().execute(
        _MARK_READS, {"row_id": commitment_id, "couple_id": couple_id, "user_id": user_id,
                      "op_id": op_id, "first": first_anywhere, "day": day}).all()
    if not rows:
        return None
    row = rows[0]
    c = CommitmentRow._make(tuple(row)[:_COMMITMENT_COLUMNS])
    end = _COMMITMENT_COLUMNS + len(ChangeRow._fields)
    changes = [ChangeRow._make(r[_COMMITMENT_COLUMNS:end]) for r in rows
               if r[_COMMITMENT_COLUMNS] is not None]
    first = (local_today(c.tz) - timedelta(days=WINDOW_DAYS - 1)).isoformat()
    by_day = {}
    for entry in (row.window_statuses or "").split(","):
        # "YYYY-MM-DD:status"; ISO days compare as strings.
        if entry and entry[:10] >= first:
            by_day[date.fromisoformat(entry[:10])] = entry[11:]
    mark = None if row.day_id is None else MarkRow(
        row.day_id, c.id, day, row.day_status, row.day_note, row.day_version,
        row.day_marked_at, row.day_corrected_at)
    # An acknowledgement's user is never null: none there means no acknowledgement.
    ack = None if row.ack_user_id is None else AckRow(
        row.ack_user_id, row.ack_note, row.ack_seen_status, row.ack_at)
    return MarkReads(c, changes, None if row.applied_id is None else Applied(row.applied_result),
                     by_day, mark, ack)


def _changes_where(condition):
    table = CommitmentChange.__table__
    # The kinds are this module's constants, written into the statement: a list of values
    # is an expanding parameter, rendered anew on every execution.
    kinds = [literal_column(f"'{kind}'") for kind in CHANGE_KINDS]
    return select(*table.c).where(condition, table.c.kind.in_(kinds)).order_by(table.c.id)


_CHANGES = _changes_where(
    CommitmentChange.__table__.c.commitment_id.in_(bindparam("ids", expanding=True)))
_ONES_CHANGES = _changes_where(CommitmentChange.__table__.c.commitment_id == bindparam("cid"))


def schedule_of(c: Commitment, changes) -> Schedule:
    """The commitment's schedule with its pauses and its end folded in."""
    pauses = []
    open_from = None
    for ch in changes:
        if ch.kind == "paused" and open_from is None:
            open_from = ch.day
        elif ch.kind == "resumed" and open_from is not None:
            pauses.append((open_from, ch.day))
            open_from = None
    if open_from is not None:
        pauses.append((open_from, None))
    end = c.end_on
    if c.ended_on is not None:
        last = c.ended_on - timedelta(days=1)
        end = last if end is None else min(end, last)
    weekdays = tuple(int(ch) for ch in (c.weekdays or ""))
    return Schedule(kind=c.schedule, start=c.start_on, end=end, weekdays=weekdays,
                    pauses=tuple(pauses))


class MarkRow(NamedTuple):
    """A follow-through mark as the read model holds it: a row, not an ORM object.

    A page and every mark read a commitment's whole window (up to WINDOW_DAYS marks, with their
    acknowledgements); after a year of daily marks, building them as ORM objects was the
    largest part of a mark's CPU (bench/change_cpu.py, "a year in"). Read-only: a mark is
    written with the statements in operations.py."""

    id: int
    commitment_id: int
    day: date
    status: str
    note: str
    version: int
    marked_at: datetime
    corrected_at: datetime | None


class AckRow(NamedTuple):
    """The partner's acknowledgement of a mark, as the read model holds it."""

    user_id: int
    note: str
    seen_status: str
    at: datetime


_MARK_COLUMNS = len(MarkRow._fields)
_MARK_READS = _mark_reads()


def _marks_with_acks():
    """Marks with their acknowledgements (a Core statement: built once, cached compiled)."""
    ft, ack = FollowThrough.__table__.c, Acknowledgement.__table__.c
    return (select(*(ft[name] for name in MarkRow._fields),
                   *(ack[name] for name in AckRow._fields))
            .select_from(FollowThrough.__table__.outerjoin(
                Acknowledgement.__table__, ack.follow_through_id == ft.id)))


# Of some commitments from a first day on, or of one commitment on one day.
_WINDOW = _marks_with_acks().where(
    FollowThrough.__table__.c.commitment_id.in_(bindparam("ids", expanding=True)),
    FollowThrough.__table__.c.day >= bindparam("first"))
_ONE_DAY = _marks_with_acks().where(
    FollowThrough.__table__.c.commitment_id == bindparam("cid"),
    FollowThrough.__table__.c.day == bindparam("day"))


def _pair(row) -> tuple[MarkRow, AckRow | None]:
    mark = MarkRow._make(row[:_MARK_COLUMNS])
    # An acknowledgement's user is never null: none there means no acknowledgement.
    return mark, (None if row[_MARK_COLUMNS] is None else AckRow._make(row[_MARK_COLUMNS:]))


def marks_in_window(commitments: list[Commitment]) -> dict[int, list]:
    """Marks (with acknowledgements) of these commitments inside each one's window:
    {commitment id: [(MarkRow, AckRow | None), ...]}."""
    if not commitments:
        return {}
    firsts = {c.id: local_today(c.tz) - timedelta(days=WINDOW_DAYS - 1) for c in commitments}
    db.session.flush()  # as the ORM's autoflush would
    rows = db.session.connection().execute(
        _WINDOW, {"ids": list(firsts), "first": min(firsts.values())})
    out: dict[int, list] = {c.id: [] for c in commitments}
    for row in rows:
        mark, ack = _pair(row)
        if mark.day >= firsts[mark.commitment_id]:
            out[mark.commitment_id].append((mark, ack))
    return out


_STATUSES = (
    select(FollowThrough.__table__.c.day, FollowThrough.__table__.c.status)
    .where(FollowThrough.__table__.c.commitment_id == bindparam("cid"),
           FollowThrough.__table__.c.day >= bindparam("first"))
)


def statuses_in_window(c: Commitment) -> dict[date, str]:
    """{day: "kept" | "missed"} of one commitment's window: all its item needs of the marks.

    Two plain columns per row: a year in, reading the window's whole marks with their
    acknowledgements to build one item cost ~0.4 ms of a mark's CPU (bench/change_cpu.py)."""
    db.session.flush()  # as the ORM's autoflush would
    first = local_today(c.tz) - timedelta(days=WINDOW_DAYS - 1)
    return dict(db.session.connection().execute(_STATUSES, {"cid": c.id, "first": first}).all())


def mark_on(commitment_id: int, day: date) -> tuple[MarkRow | None, AckRow | None]:
    """One day's mark of one commitment with its acknowledgement, or (None, None)."""
    row = db.session.connection().execute(
        _ONE_DAY, {"cid": commitment_id, "day": day}).first()
    return (None, None) if row is None else _pair(row)


def mark_key(commitment_id: int, day: date) -> str:
    return f"{commitment_id}:{day.isoformat()}"


def mark_item(c: Commitment, mark, ack) -> dict:
    """A mark's item: `mark` and `ack` are a FollowThrough and Acknowledgement or their rows."""
    return {
        "commitment_id": c.id,
        "owner_id": c.owner_id,
        "day": mark.day.isoformat(),
        "status": mark.status,
        "note": mark.note,
        "version": mark.version,
        "marked_at": iso(mark.marked_at),
        "corrected_at": iso(mark.corrected_at),
        "ack": None if ack is None else {
            "by": ack.user_id,
            "note": ack.note,
            "seen_status": ack.seen_status,
            "at": iso(ack.at),
        },
    }


def step_title(c: Commitment) -> str | None:
    if c.guide in GUIDES and c.step:
        step = GUIDES[c.guide].step(c.step)
        return step.title if step else None
    return None


def commitment_item(c: Commitment, changes: list, by_day: dict[date, str]) -> dict:
    """The whole item both partners' clients hold for one commitment; `by_day` is its window's
    {day: status} (statuses_in_window, or read off marks_in_window)."""
    today = local_today(c.tz)
    schedule = schedule_of(c, changes)
    first = today - timedelta(days=WINDOW_DAYS - 1)
    due = occurrences(schedule, first, today)
    return {
        "id": c.id,
        "owner_id": c.owner_id,
        "wording": c.wording,
        "guide": c.guide,
        "step": c.step,
        "step_title": step_title(c),
        "schedule": c.schedule,
        "weekdays": [int(ch) for ch in (c.weekdays or "")],
        "schedule_text": describe(schedule),
        "start": c.start_on.isoformat(),
        "end": c.end_on.isoformat() if c.end_on else None,
        "ended_on": c.ended_on.isoformat() if c.ended_on else None,
        "tz": c.tz,
        "status": c.status,
        "version": c.version,
        "today": today.isoformat(),
        "due_today": bool(due) and due[-1] == today,
        # Recent past due days with no mark (today is "due today", not late yet): the owner's
        # to-do list, the partner's "not marked yet".
        "unmarked": [d.isoformat() for d in due if d not in by_day and d < today][-14:],
        "rates": rates(due, by_day, today),
        "history": [
            {"kind": ch.kind, "wording": ch.wording, "previous": ch.previous,
             "day": ch.day.isoformat(), "at": iso(ch.at)}
            for ch in changes
        ],
        "created_at": iso(c.created_at),
    }


def item_for(c: Commitment, changes: list[CommitmentChange] | None = None) -> dict:
    """The commitment's whole item; pass `changes` when the caller already loaded its history."""
    if changes is None:
        changes = changes_of([c.id])[c.id]
    return commitment_item(c, changes, statuses_in_window(c))


MARK_LOG_LIMIT = 200


def mark_log(c: Commitment, limit: int = MARK_LOG_LIMIT) -> list[dict]:
    """The latest marks and corrections of a commitment, newest first (for its history)."""
    rows = db.session.scalars(
        select(CommitmentChange)
        .where(CommitmentChange.commitment_id == c.id, CommitmentChange.kind.in_(MARK_LOG_KINDS))
        .order_by(CommitmentChange.id.desc()).limit(limit)
    )
    return [{"kind": ch.kind, "previous": ch.previous, "day": ch.day.isoformat(), "at": iso(ch.at)}
            for ch in rows]
