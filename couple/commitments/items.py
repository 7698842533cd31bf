"""The commitments read model: the whole items both partners' clients hold, built from rows.

Public, so that operations (composing each event's patch), the client state (state.py), the
calendar and trend (reading.py) and the pages build the same items the same way.
"""
from collections import namedtuple
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import (
    Date,
    DateTime,
    and_,
    bindparam,
    case,
    literal_column,
    select,
    type_coerce,
)

from ..events import AppliedOp
from ..extensions import db
from ..guides.content import GUIDES
from ..models_base import UTCDateTime
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
    """One of a commitment's own changes as commitment_with_changes hands it out (changes_of's
    rows have the same fields)."""

    id: int
    commitment_id: int
    kind: str
    wording: str
    previous: str | None
    day: date
    at: datetime


def _commitment_with_changes():
    """A couple's commitment by id, with its own changes joined (one row per change, oldest
    first; one row of NULLs for them when it has none), and on every row the op id's applied
    row if this person already applied it (user_id, op_id are unique: at most one)."""
    table, changes = Commitment.__table__, CommitmentChange.__table__.alias("own_changes")
    applied = AppliedOp.__table__
    kinds = [literal_column(f"'{kind}'") for kind in CHANGE_KINDS]
    return (select(*table.c, *(changes.c[name].label(f"change_{name}")
                               for name in ChangeRow._fields),
                   applied.c.id.label("applied_id"), applied.c.result.label("applied_result"))
            .select_from(table.outerjoin(changes, and_(changes.c.commitment_id == table.c.id,
                                                       changes.c.kind.in_(kinds)))
                         .outerjoin(applied, and_(applied.c.user_id == bindparam("user_id"),
                                                  applied.c.op_id == bindparam("op_id"))))
            .where(table.c.id == bindparam("row_id"), table.c.couple_id == bindparam("couple_id"))
            .order_by(changes.c.id))


_COMMITMENT_WITH_CHANGES = _commitment_with_changes()
_COMMITMENT_COLUMNS = len(Commitment.__table__.c)
# A commitment as a mark reads it: its columns, by the same names as the model's attributes.
CommitmentRow = namedtuple("CommitmentRow", [column.name for column in Commitment.__table__.c])


class Applied(NamedTuple):
    """An op id this person already applied, with the result its first attempt answered."""

    result: dict | None


def commitment_with_changes(couple_id: int, commitment_id: int, user_id: int | None = None,
                            op_id: str | None = None):
    """(the commitment as a row, its own changes as ChangeRows, Applied or None), or
    (None, [], None) when this couple has no such commitment: what a mark reads before it
    decides, in one statement instead of the commitment's ORM load and changes_of (a mark only
    reads them). Given the change's op id, the same statement says whether this person already
    applied it (events.change's look-up, without a round trip of its own: the mark takes the
    couple's lock first, so this statement, not the lock's, must see a retry's original)."""
    db.session.flush()  # as the ORM's autoflush would
    rows = db.session.connection().execute(
        _COMMITMENT_WITH_CHANGES, {"row_id": commitment_id, "couple_id": couple_id,
                                   "user_id": user_id, "op_id": op_id}).all()
    if not rows:
        return None, [], None
    c = CommitmentRow._make(tuple(rows[0])[:_COMMITMENT_COLUMNS])
    end = _COMMITMENT_COLUMNS + len(ChangeRow._fields)
    changes = [ChangeRow._make(row[_COMMITMENT_COLUMNS:end]) for row in rows
               if row[_COMMITMENT_COLUMNS] is not None]
    applied = None if rows[0].applied_id is None else Applied(rows[0].applied_result)
    return c, changes, applied


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


def _window_with_day():
    """The window's (day, status) rows, and on the one row of `:day` that mark's other columns
    and its acknowledgement (NULL on every other row). Their instants are read as plain
    DateTime, without UTCDateTime's per-row processing (~90 rows x 3 calls a year in, more than
    the read saved): window_with_day makes the day's own UTC-aware."""
    ft, ack = FollowThrough.__table__.c, Acknowledgement.__table__.c
    day = bindparam("day", type_=Date)
    on_day = ft.day == day

    def plain(column):
        return type_coerce(column, DateTime()) if isinstance(column.type, UTCDateTime) else column

    def only_on_day(column):
        return plain(case((on_day, column))).label(column.name)

    return (select(ft.day, ft.status, *(only_on_day(ft[name]) for name in _DAY_ONLY),
                   *(plain(ack[name]).label(f"ack_{name}") for name in AckRow._fields))
            .select_from(FollowThrough.__table__.outerjoin(
                Acknowledgement.__table__, and_(ack.follow_through_id == ft.id, on_day)))
            .where(ft.commitment_id == bindparam("cid"), ft.day >= bindparam("first")))


_DAY_ONLY = ("id", "note", "version", "marked_at", "corrected_at")
_WINDOW_WITH_DAY = _window_with_day()


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)


def window_with_day(c: Commitment, day: date):
    """(statuses_in_window(c), *mark_on(c.id, day)) in one statement, for a day in the window:
    what every mark reads before it writes (two round trips were two of a mark's eleven)."""
    db.session.flush()  # as the ORM's autoflush would
    first = local_today(c.tz) - timedelta(days=WINDOW_DAYS - 1)
    by_day: dict[date, str] = {}
    mark = ack = None
    for row in db.session.connection().execute(
            _WINDOW_WITH_DAY, {"cid": c.id, "first": first, "day": day}):
        by_day[row[0]] = row[1]
        if row[0] == day:
            mark_id, note, version, marked_at, corrected_at = row[2:7]
            mark = MarkRow(mark_id, c.id, day, row[1], note, version, _utc(marked_at),
                           _utc(corrected_at))
            # An acknowledgement's user is never null: none there means no acknowledgement.
            if row[7] is not None:
                user_id, ack_note, seen_status, at = row[7:]
                ack = AckRow(user_id, ack_note, seen_status, _utc(at))
    return by_day, mark, ack


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
