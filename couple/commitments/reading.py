"""Read-only views of follow-through: a commitment's calendar and a partner's weekly trend.

Every query here is bounded by the window shown (a few months, a number of weeks), so a couple
with years of history pays for the months on screen, not for the years.
"""
import calendar
from datetime import date, timedelta

from sqlalchemy import select

from ..extensions import db
from .items import WINDOW_DAYS, changes_of, schedule_of
from .models import Acknowledgement, Commitment, FollowThrough
from .schedule import local_today, occurrences, week_start

TREND_WEEKS = (12, 26, 52)


def _marks_between(commitment_ids, first: date, last: date):
    if not commitment_ids:
        return []
    return db.session.execute(
        select(FollowThrough.commitment_id, FollowThrough.day, FollowThrough.status)
        .where(FollowThrough.commitment_id.in_(list(commitment_ids)),
               FollowThrough.day >= first, FollowThrough.day <= last)
    ).all()


def month_add(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def calendar_months(c: Commitment, last_month: tuple[int, int], count: int = 3) -> list[dict]:
    """Up to `count` month grids ending with `last_month`, none before the commitment's start:
    each cell kept / missed / unmarked / not due / upcoming, plus whether it is still inside the
    window where marks can change."""
    first_month = (c.start_on.year, c.start_on.month)
    last_month = max(last_month, first_month)
    months = [m for m in (month_add(*last_month, -i) for i in range(count - 1, -1, -1))
              if m >= first_month]
    first = date(months[0][0], months[0][1], 1)
    y, m = months[-1]
    last = date(y, m, calendar.monthrange(y, m)[1])
    today = local_today(c.tz)
    schedule = schedule_of(c, changes_of([c.id])[c.id])
    due = set(occurrences(schedule, first, last))
    rows = db.session.execute(
        select(FollowThrough, Acknowledgement)
        .outerjoin(Acknowledgement, Acknowledgement.follow_through_id == FollowThrough.id)
        .where(FollowThrough.commitment_id == c.id,
               FollowThrough.day >= first, FollowThrough.day <= last)
    ).all()
    marks = {mark.day: (mark, ack) for mark, ack in rows}
    window_first = today - timedelta(days=WINDOW_DAYS - 1)
    out = []
    cal = calendar.Calendar(firstweekday=0)
    for y, m in months:
        weeks = []
        for week in cal.monthdatescalendar(y, m):
            cells = []
            for d in week:
                if d.month != m:
                    cells.append(None)
                    continue
                mark, ack = marks.get(d, (None, None))
                if mark is not None:
                    state = mark.status
                elif d in due and d < today:
                    state = "unmarked"
                elif d in due and d == today:
                    state = "today"
                elif d in due:
                    state = "upcoming"
                else:
                    state = "none"
                cells.append({
                    "day": d, "state": state, "acked": ack is not None,
                    "note": bool(mark and mark.note),
                    "open": window_first <= d <= today and (d in due or mark is not None),
                })
            weeks.append(cells)
        out.append({"year": y, "month": m, "name": date(y, m, 1).strftime("%B %Y"),
                    "weeks": weeks})
    return out


def person_today(couple_id: int, person_id: int) -> date:
    """"Today" for a person: in the time zone of their latest commitment (UTC if none)."""
    tz = db.session.scalar(
        select(Commitment.tz).where(Commitment.couple_id == couple_id,
                                    Commitment.owner_id == person_id)
        .order_by(Commitment.id.desc()).limit(1)
    )
    return local_today(tz or "UTC")


def weekly_trend(couple_id: int, person_id: int, weeks: int = 12) -> list[dict]:
    """One bucket per week (Monday first, oldest first) of the person's follow-through across
    their commitments in this couple: kept, missed, not marked, and the rate (kept ÷ marked)."""
    this_week = week_start(person_today(couple_id, person_id))
    first = this_week - timedelta(weeks=weeks - 1)
    last = this_week + timedelta(days=6)
    commitments = list(db.session.scalars(
        select(Commitment).where(Commitment.couple_id == couple_id,
                                 Commitment.owner_id == person_id,
                                 Commitment.start_on <= last)
    ))
    changes = changes_of([c.id for c in commitments])
    marks: dict[int, dict] = {c.id: {} for c in commitments}
    for cid, day, status in _marks_between(list(marks), first, last):
        marks[cid][day] = status
    buckets = [dict(kept=0, missed=0, marked=0, unmarked=0) for _ in range(weeks)]
    for c in commitments:
        today = local_today(c.tz)
        own = marks[c.id]
        # The same rule as followthrough.rates: marked days count, passed unmarked days are shown.
        for d, status in own.items():
            b = buckets[(d - first).days // 7]
            if status in ("kept", "missed"):
                b[status] += 1
                b["marked"] += 1
        for d in occurrences(schedule_of(c, changes[c.id]), first, last):
            if d < today and d not in own:
                buckets[(d - first).days // 7]["unmarked"] += 1
    out = []
    for i, b in enumerate(buckets):
        out.append({
            "week": (first + timedelta(weeks=i)).isoformat(),
            **b,
            "rate": None if b["marked"] == 0 else round(100 * b["kept"] / b["marked"]),
        })
    return out


def history_entries(c: Commitment, item: dict, marks: dict, log: list[dict]) -> list[dict]:
    """A commitment's history, newest first: its own changes (made, reworded, paused...), each
    mark and correction of a day (from the mark log), and the partner's "I noticed" (from the
    marks in the window). The twin of historyEntries in static/src/commitments/page.js."""
    out = [{"kind": h["kind"], "at": h["at"], "day": h["day"], "by": c.owner_id,
            "previous": h["previous"], "wording": h["wording"]} for h in item["history"]]
    out += [{"kind": e["kind"], "at": e["at"], "day": e["day"], "by": c.owner_id,
             "previous": e["previous"], "wording": None} for e in log]
    first_marks = {e["day"] for e in log if e["kind"] in ("kept", "missed") and not e["previous"]}
    prefix = f"{c.id}:"
    for key, mark in marks.items():
        if not key.startswith(prefix):
            continue
        if mark["day"] not in first_marks:
            # A mark made before the log existed: said from the mark itself, as far as it knows.
            out.append({"kind": "marked" if mark["corrected_at"] else mark["status"],
                        "at": mark["marked_at"], "day": mark["day"], "by": c.owner_id,
                        "previous": None, "wording": None})
        if mark.get("ack"):
            out.append({"kind": "noticed", "at": mark["ack"]["at"], "day": mark["day"],
                        "by": mark["ack"]["by"], "previous": None, "wording": None})
    out.sort(key=lambda e: e["at"] or "", reverse=True)
    return out
