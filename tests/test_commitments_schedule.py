"""Occurrence rules, time zones and rates, as properties (hypothesis).

The reference implementation here walks the calendar one day at a time and checks each rule
directly; the app's rrule-based `occurrences` must agree with it for any schedule and window.
"""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from dateutil import tz as dateutil_tz
from hypothesis import given, settings
from hypothesis import strategies as st

from couple.commitments.followthrough import rates, tally
from couple.commitments.schedule import (Schedule, describe, local_today, occurrences,
                                         paused_on, valid_tz)

# Zones with DST, odd offsets, midnight transitions, a skipped day (Apia, 30 Dec 2011) and
# a southern-hemisphere summer.
ZONES = ["UTC", "Europe/London", "America/New_York", "Australia/Lord_Howe", "America/Santiago",
         "Pacific/Apia", "Asia/Tehran", "America/Sao_Paulo", "Asia/Kolkata", "Pacific/Chatham",
         "America/Havana", "Africa/Casablanca"]

days = st.dates(min_value=date(2005, 1, 1), max_value=date(2035, 12, 31))


@st.composite
def schedules(draw):
    kind = draw(st.sampled_from(["once", "daily", "weekdays", "weekly"]))
    start = draw(days)
    end = draw(st.one_of(st.none(), st.integers(0, 400).map(lambda n: start + timedelta(days=n))))
    weekdays = tuple(draw(st.sets(st.integers(0, 6), min_size=1))) if kind == "weekdays" else ()
    pauses = []
    for _ in range(draw(st.integers(0, 2))):
        a = start + timedelta(days=draw(st.integers(0, 300)))
        b = draw(st.one_of(st.none(), st.integers(0, 60).map(lambda n, a=a: a + timedelta(days=n))))
        pauses.append((a, b))
    return Schedule(kind=kind, start=start, end=end, weekdays=weekdays, pauses=tuple(pauses))


def reference(s: Schedule, first: date, last: date) -> list[date]:
    out = []
    d = first
    while d <= last:
        due = d >= s.start and (s.last_day() is None or d <= s.last_day())
        if s.kind == "once":
            due = due and d == s.start
        elif s.kind == "weekdays":
            due = due and d.weekday() in s.weekdays
        elif s.kind == "weekly":
            due = due and d.weekday() == s.start.weekday()
        if due and not paused_on(s.pauses, d):
            out.append(d)
        d += timedelta(days=1)
    return out


@st.composite
def windows(draw):
    first = draw(days)
    return first, first + timedelta(days=draw(st.integers(0, 500)))


@settings(max_examples=300, deadline=None)
@given(schedules(), windows())
def test_occurrences_match_the_rule_day_by_day(s, window):
    first, last = window
    assert occurrences(s, first, last) == reference(s, first, last)


@settings(max_examples=200, deadline=None)
@given(schedules(), windows(), st.integers(0, 500))
def test_windows_split_and_join(s, window, cut):
    """What a page shows for two adjacent windows is what it shows for both together, so a
    query may start at the window instead of at the start of the history."""
    first, last = window
    mid = min(first + timedelta(days=cut), last)
    assert occurrences(s, first, mid) + occurrences(s, mid + timedelta(days=1), last) == \
        occurrences(s, first, last)


@settings(max_examples=100, deadline=None)
@given(schedules())
def test_occurrences_are_sorted_unique_and_inside_the_schedule(s):
    got = occurrences(s, s.start - timedelta(days=10), s.start + timedelta(days=400))
    assert got == sorted(set(got))
    assert all(d >= s.start for d in got)
    if s.last_day():
        assert all(d <= s.last_day() for d in got)
    assert describe(s)


instants = st.datetimes(min_value=datetime(2005, 1, 1), max_value=datetime(2035, 12, 31),
                        timezones=st.just(timezone.utc))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ZONES), instants)
def test_today_is_the_owners_calendar_date(zone, instant):
    """Which date it is for the owner, checked against a second tz implementation."""
    assert local_today(zone, instant) == instant.astimezone(dateutil_tz.gettz(zone)).date()


@settings(max_examples=15, deadline=None)
@given(st.sampled_from(ZONES), st.integers(2006, 2034))
def test_a_daily_commitment_is_due_once_on_each_local_day_across_dst(zone, year):
    """Across a whole year of DST changes (23- and 25-hour days) a daily commitment falls
    due exactly once per calendar day, and every hour of the year maps to a due day."""
    s = Schedule(kind="daily", start=date(year, 1, 1))
    due = occurrences(s, date(year, 1, 1), date(year, 12, 31))
    assert len(due) == (date(year + 1, 1, 1) - date(year, 1, 1)).days
    due_set = set(due)
    t = datetime(year, 1, 2, tzinfo=timezone.utc)
    while t.year == year and t.month < 12:
        assert local_today(zone, t) in due_set
        t += timedelta(hours=1)


def test_dst_days_have_their_real_length():
    """Sanity for the zones above: the spring-forward day in London has 23 hours."""
    london = ZoneInfo("Europe/London")
    start = datetime(2026, 3, 29, tzinfo=london)
    end = datetime(2026, 3, 30, tzinfo=london)
    assert end.astimezone(timezone.utc) - start.astimezone(timezone.utc) == timedelta(hours=23)
    assert local_today("Europe/London", datetime(2026, 3, 29, 0, 30, tzinfo=timezone.utc)) == date(2026, 3, 29)
    assert local_today("Pacific/Apia", datetime(2011, 12, 30, 12, tzinfo=timezone.utc)) == date(2011, 12, 31)


def test_time_zone_names():
    assert valid_tz("Europe/London") and valid_tz("UTC")
    assert not valid_tz("Mars/Olympus") and not valid_tz("../etc/passwd") and not valid_tz(None)


# ---------------------------------------------------------------- rates forgive

@st.composite
def histories(draw):
    today = draw(days)
    n = draw(st.integers(1, 120))
    due = sorted({today - timedelta(days=draw(st.integers(0, 120))) for _ in range(n)})
    marks = {d: draw(st.sampled_from(["kept", "missed"])) for d in due if draw(st.booleans())}
    return today, due, marks


@settings(max_examples=300, deadline=None)
@given(histories(), st.data())
def test_a_missed_day_lowers_a_rate_and_resets_nothing(history, data):
    today, due, marks = history
    unmarked = [d for d in due if d not in marks and d < today]
    if not unmarked:
        return
    day = data.draw(st.sampled_from(unmarked))
    before = rates(due, marks, today)
    after = rates(due, {**marks, day: "missed"}, today)
    for w in before:
        assert after[w]["kept"] == before[w]["kept"], "a miss never takes away what was kept"
        assert after[w]["counted"] == before[w]["counted"]
        if before[w]["rate"] is not None:
            assert after[w]["rate"] == before[w]["rate"], "an unmarked past day already counted"
    # Marking it kept instead raises the rate of every window that holds the day.
    kept = rates(due, {**marks, day: "kept"}, today)
    for w in before:
        inside = (today - day).days < int(w)
        assert kept[w]["kept"] == before[w]["kept"] + (1 if inside else 0)


@settings(max_examples=300, deadline=None)
@given(histories())
def test_rates_are_counts_not_streaks(history):
    today, due, marks = history
    r = rates(due, marks, today)
    for w, t in r.items():
        assert t["kept"] + t["missed"] + t["unmarked"] == t["counted"]
        assert t["rate"] is None or 0 <= t["rate"] <= 100
        if t["counted"]:
            assert t["rate"] == round(100 * t["kept"] / t["counted"])
    assert r["7"]["counted"] <= r["30"]["counted"] <= r["90"]["counted"]


def test_today_counts_once_it_is_marked():
    today = date(2026, 3, 10)
    due = [today - timedelta(days=i) for i in range(3)]
    assert tally(due, {}, today - timedelta(days=6), today, today)["counted"] == 2
    assert tally(due, {today: "kept"}, today - timedelta(days=6), today, today) == \
        {"kept": 1, "missed": 0, "unmarked": 2, "counted": 3, "rate": 33}
