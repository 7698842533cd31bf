"""When a reminder falls due, across DST and time zones, as properties (hypothesis).

The reference walks the owner's clock one minute at a time (every zone here changes its offset
on whole minutes since 2005) and takes, for each local date, the first minute whose wall-clock
time is at or after the chosen time; `due_at` must find exactly that instant. A simulated timer
then runs `due_day` every few minutes over days around a transition, with a set for the unique
sent-row: every due day is reminded exactly once, at the first tick after its time, and no
other day ever is.
"""
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from couple.commitments.reminders import due_at, due_day, parse_time
from couple.commitments.schedule import Schedule, occurrences
from couple.errors import InvalidInput
from tests.commitments.test_commitments_schedule import ZONES, schedules

times = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))
# Years with DST rules in every zone above, the Apia skipped day, Casablanca's Ramadan switches.
near_days = st.dates(min_value=date(2008, 1, 1), max_value=date(2030, 12, 31))


def reference_due(day: date, local_time: str, tz: str) -> datetime | None:
    """Minute by minute through the UTC span that can hold `day` in any zone."""
    zone = ZoneInfo(tz)
    wanted = time(*(int(p) for p in local_time.split(":")))
    instant = datetime.combine(day, time(0), tzinfo=UTC) - timedelta(hours=15)
    end = instant + timedelta(hours=15 + 24 + 15)
    while instant < end:
        local = instant.astimezone(zone)
        if local.date() == day and local.time() >= wanted:
            return instant
        if local.date() > day:
            return None
        instant += timedelta(minutes=1)
    return None


def transition_days(tz: str, year: int) -> list[date]:
    """Local dates in `year` on which the zone's UTC offset changes."""
    zone = ZoneInfo(tz)
    out = []
    instant = datetime(year, 1, 1, tzinfo=UTC)
    offset = instant.astimezone(zone).utcoffset()
    while instant.year == year:
        nxt = instant + timedelta(hours=1)
        if nxt.astimezone(zone).utcoffset() != offset:
            offset = nxt.astimezone(zone).utcoffset()
            out.append(nxt.astimezone(zone).date())
        instant = nxt
    return out


@st.composite
def zone_days(draw):
    """A zone and a local day, half the time a day on which its offset changes."""
    tz = draw(st.sampled_from(ZONES))
    day = draw(near_days)
    if draw(st.booleans()):
        changes = transition_days(tz, day.year)
        if changes:
            day = draw(st.sampled_from(changes))
    return tz, day


@settings(max_examples=150, deadline=None)
@given(zone_days(), times)
@example(("Europe/London", date(2026, 3, 29)), "01:30")  # in the spring-forward gap
@example(("Europe/London", date(2026, 10, 25)), "01:30")  # twice on the fall-back night
@example(("America/New_York", date(2026, 3, 8)), "02:00")
@example(("Pacific/Apia", date(2011, 12, 30)), "09:00")  # a day that never happened there
@example(("Australia/Lord_Howe", date(2026, 10, 4)), "02:15")  # a 30-minute gap
@example(("America/Santiago", date(2026, 9, 6)), "00:10")  # the gap is at midnight
def test_due_at_is_the_first_minute_the_clock_reaches_the_time(zone_day, local_time):
    tz, day = zone_day
    assert due_at(day, local_time, tz) == reference_due(day, local_time, tz)


@settings(max_examples=80, deadline=None)
@given(zone_days(), times, schedules(), st.integers(1, 45), st.integers(0, 3600 * 24),
       st.integers(0, 2))
def test_a_timer_reminds_each_due_day_once_at_its_first_tick(zone_day, local_time, schedule,
                                                             every_minutes, offset_seconds,
                                                             paused_shift):
    tz, day = zone_day
    # Make the schedule live around the chosen day: same rule, shifted to start near it.
    shift = day - timedelta(days=paused_shift) - schedule.start
    s = Schedule(kind=schedule.kind, start=schedule.start + shift,
                 end=schedule.end + shift if schedule.end else None, weekdays=schedule.weekdays,
                 pauses=tuple((a + shift, b + shift if b else None) for a, b in schedule.pauses))
    start = (datetime.combine(day - timedelta(days=1), time(0), tzinfo=UTC)
             + timedelta(seconds=offset_seconds))
    stop = start + timedelta(days=3)
    sent: dict[date, datetime] = {}
    tick = start
    while tick < stop:
        got = due_day(tick, tz, local_time, s)
        if got is not None and got not in sent:  # the unique (reminder, day) sent-row
            sent[got] = tick
        tick += timedelta(minutes=every_minutes)
    last_tick = tick - timedelta(minutes=every_minutes)
    first_day = start.astimezone(ZoneInfo(tz)).date()
    last_day = last_tick.astimezone(ZoneInfo(tz)).date()
    expected = {}
    for d in occurrences(s, first_day, last_day):
        at = due_at(d, local_time, tz)
        if at is None or at > last_tick:
            continue
        # The first tick at or after it, if that tick is still on day d there.
        n = max(0, -(-(at - start) // timedelta(minutes=every_minutes)))
        first_tick = start + n * timedelta(minutes=every_minutes)
        if first_tick <= last_tick and first_tick.astimezone(ZoneInfo(tz)).date() == d:
            expected[d] = first_tick
    assert sent == expected
    for d, at in sent.items():
        assert at.astimezone(ZoneInfo(tz)).date() == d  # "due today" is true where it is read


@settings(max_examples=100, deadline=None)
@given(zone_days(), times)
def test_turning_it_on_after_the_time_waits_for_the_next_due_day(zone_day, local_time):
    tz, day = zone_day
    s = Schedule(kind="daily", start=day - timedelta(days=3))
    at = due_at(day, local_time, tz)
    if at is None:
        return
    later = at + timedelta(minutes=5)
    if later.astimezone(ZoneInfo(tz)).date() != day:
        return
    assert due_day(later, tz, local_time, s, since=None) == day
    assert due_day(later, tz, local_time, s, since=at + timedelta(seconds=1)) is None
    assert due_day(later, tz, local_time, s, since=at) == day


@pytest.mark.parametrize("bad", ["25:00", "24:00", "7:30", "07:60", "07:30:59", "0730", "",
                                 None, 730, "07:30\x00", "a" * 10_000, "٠٧:٣٠", "07:3"])
def test_parse_time_refuses_what_is_not_a_time(bad):
    with pytest.raises(InvalidInput) as err:
        parse_time(bad)
    assert "HH:MM" in err.value.message


def test_parse_time_takes_what_a_time_input_sends():
    assert parse_time("07:05") == "07:05"
    assert parse_time("23:59:00") == "23:59"
    assert parse_time("00:00") == "00:00"
