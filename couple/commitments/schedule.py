"""When a commitment falls due: occurrences from its schedule, in the owner's time zone.

An occurrence is a *local calendar date* of the owner. The recurrence is dateutil's rrule
(RFC 5545), never hand-rolled calendar arithmetic; zoneinfo decides which local date it is
"now" for the owner, so a DST change (a 23- or 25-hour day) neither skips nor doubles a day.
Every rule is FREQ=DAILY (with BYDAY for chosen weekdays; "weekly" is the start's weekday),
so the rule can be started at the first day of the shown window: the cost is the window's,
not the history's.
"""
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from dateutil.rrule import DAILY, rrule

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAY_SHORT = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def valid_tz(name) -> bool:
    if not isinstance(name, str) or name not in _zones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def local_today(tz: str, now: datetime | None = None) -> date:
    """The owner's calendar date at the instant `now` (default: this instant)."""
    now = now or datetime.now(UTC)
    return now.astimezone(ZoneInfo(tz)).date()


@dataclass(frozen=True)
class Schedule:
    kind: str  # once | daily | weekdays | weekly
    start: date
    end: date | None = None  # last day it can fall due, inclusive
    weekdays: tuple[int, ...] = ()  # Monday = 0; for "weekdays"
    # Local days on which it does not fall due: [from, until) spans; until None = still paused.
    pauses: tuple[tuple[date, date | None], ...] = field(default=())

    def last_day(self) -> date | None:
        if self.kind == "once":
            return self.start if self.end is None else min(self.start, self.end)
        return self.end

    def byweekday(self) -> tuple[int, ...] | None:
        if self.kind == "weekdays":
            return tuple(sorted(set(self.weekdays)))
        if self.kind == "weekly":
            return (self.start.weekday(),)
        return None


def occurrences(schedule: Schedule, first: date, last: date) -> list[date]:
    """The local dates in [first, last] (inclusive) on which the commitment falls due."""
    lo = max(first, schedule.start)
    end = schedule.last_day()
    hi = last if end is None else min(last, end)
    if lo > hi:
        return []
    if schedule.kind == "once":
        days = [schedule.start] if lo <= schedule.start <= hi else []
    else:
        byweekday = schedule.byweekday()
        if byweekday == ():
            return []
        days = list(_rule_days(lo, hi, byweekday))
    # A pause [a, b) takes its days out; only pauses that reach into [lo, hi] can (a year of
    # history holds several, and testing each of ~90 days against each was a mark's cost).
    for a, b in schedule.pauses or ():
        if a <= hi and (b is None or b > lo):
            days = [d for d in days if d < a or (b is not None and d >= b)]
    return days


@lru_cache(maxsize=512)
def _rule_days(lo: date, hi: date, byweekday: tuple[int, ...] | None) -> tuple[date, ...]:
    """The rule's days in [lo, hi]. They depend only on these three, not on the commitment:
    every commitment older than the window, of one kind, shares them on a given day (each
    mark and page builds 90 days of them; iterating the rule was half of building an item)."""
    rule = rrule(
        DAILY,
        dtstart=datetime.combine(lo, time()),
        until=datetime.combine(hi, time()),
        byweekday=byweekday,
        cache=False,
    )
    return tuple(d.date() for d in rule)


def describe(schedule: Schedule) -> str:
    """In words, for people: "Every day", "Mon, Wed and Fri", "Once, on 3 March 2026"."""
    if schedule.kind == "once":
        return f"Once, on {long_date(schedule.start)}"
    if schedule.kind == "daily":
        text = "Every day"
    elif schedule.kind == "weekly":
        text = f"Every {WEEKDAY_NAMES[schedule.start.weekday()]}"
    else:
        names = [WEEKDAY_SHORT[d] for d in sorted(set(schedule.weekdays))]
        if names == list(WEEKDAY_SHORT[:5]):
            text = "Every weekday (Mon–Fri)"
        elif len(names) == 1:
            text = f"Every {WEEKDAY_NAMES[schedule.weekdays[0]]}"
        else:
            text = "Every " + ", ".join(names[:-1]) + " and " + names[-1]
    return text


def long_date(day: date) -> str:
    return f"{day.day} {day.strftime('%B %Y')}"


def short_date(day: date) -> str:
    return f"{WEEKDAY_SHORT[day.weekday()]} {day.day} {day.strftime('%b')}"


def when_text(at: str | None, tz: str) -> str:
    """An instant (ISO, UTC) as the owner's local "Tue 3 Mar, 18:02"; the twin of whenText in
    static/src/commitments/page.js."""
    if not at:
        return ""
    local = datetime.fromisoformat(at).astimezone(ZoneInfo(tz))
    return f"{short_date(local.date())}, {local:%H:%M}"


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())
