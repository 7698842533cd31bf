"""Occurrence rules, time zones and rates, as properties (hypothesis).

The reference implementation here walks the calendar one day at a time and checks each rule
directly; the app's rrule-based `occurrences` must agree with it for any schedule and window.
"""
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil import tz as dateutil_tz
from hypothesis import given, settings
from hypothesis import strategies as st

from couple.commitments.followthrough import rates
from couple.commitments.schedule import (
    Schedule,
    describe,
    local_today,
    occurrences,
    valid_tz,
)

# Zones with DST, odd offsets, midnight transitions, a skipped day (Apia, 30 Dec 2011) and
# a southern-hemisphere summer.
ZONES = ["UTC", "Europe/London", "America/New_York", "Australia/Lord_Howe", "America/Santiago",
         "Pacific/Apia", "Asia/Tehran", "America/Sao_Paulo", "Asia/Kolkata", "Pacific/Chatham",
         "America/Havana", "Africa/Casablanca"]

days = st.dates(min_value=date(2005, 1, 1), max_value=date(2035, 12, 31))


def paused_on(pauses, day: date) -> bool:
    """The pause rule, one day at a time: a pause [a, b) holds `day` (b None: open-ended)."""
    return any(a <= day and (b is None or day < b) for a, b in pauses)


def tally(due_days, marks: dict, first: date, last: date, today: date) -> dict:
    """The rate rule for the local days [first, last], one window at a time."""
    kept = sum(1 for d, status in marks.items() if first <= d <= last and status == "kept")
    missed = sum(1 for d, status in marks.items() if first <= d <= last and status == "missed")
    # Days that have passed, fell due and carry no mark yet (today is still today, not "late").
    unmarked = sum(1 for d in set(due_days) if first <= d <= last and d < today and d not in marks)
    marked = kept + missed
    return {"kept": kept, "missed": missed, "marked": marked, "unmarked": unmarked,
            "rate": None if marked == 0 else round(100 * kept / marked)}


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
                        timezones=st.just(UTC))


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
    t = datetime(year, 1, 2, tzinfo=UTC)
    while t.year == year and t.month < 12:
        assert local_today(zone, t) in due_set
        t += timedelta(hours=1)


def test_dst_days_have_their_real_length():
    """Sanity for the zones above: the spring-forward day in London has 23 hours."""
    london = ZoneInfo("Europe/London")
    start = datetime(2026, 3, 29, tzinfo=london)
    end = datetime(2026, 3, 30, tzinfo=london)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23)
    at = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert local_today("Europe/London", at) == date(2026, 3, 29)
    assert local_today("Pacific/Apia", datetime(2011, 12, 30, 12, tzinfo=UTC)) == date(2011, 12, 31)


def test_time_zone_names():
    assert valid_tz("Europe/London") and valid_tz("UTC")
    assert not valid_tz("Mars/Olympus") and not valid_tz("../etc/passwd") and not valid_tz(None)


# ---------------------------------------------------------------- rates say what they mean
# The rule (couple/commitments/followthrough.py): a rate is kept ÷ marked over the window; a due
# day that passed without a mark is "not marked", shown, and never counted as kept or missed.

@st.composite
def histories(draw):
    today = draw(days)
    n = draw(st.integers(1, 120))
    due = sorted({today - timedelta(days=draw(st.integers(0, 120))) for _ in range(n)})
    marks = {d: draw(st.sampled_from(["kept", "missed"])) for d in due if draw(st.booleans())}
    return today, due, marks


def rate_reference(due, marks, today, window):
    """One day at a time, the rule in words."""
    first = today - timedelta(days=window - 1)
    inside = [today - timedelta(days=i) for i in range(window)]
    kept = sum(1 for d in inside if marks.get(d) == "kept")
    missed = sum(1 for d in inside if marks.get(d) == "missed")
    unmarked = sum(1 for d in inside if d in set(due) and d < today and d not in marks)
    assert all(first <= d <= today for d in inside)
    return kept, missed, unmarked


@settings(max_examples=300, deadline=None)
@given(histories())
def test_a_rate_is_kept_over_marked_and_unmarked_days_are_only_shown(history):
    today, due, marks = history
    r = rates(due, marks, today)
    for w, t in r.items():
        kept, missed, unmarked = rate_reference(due, marks, today, int(w))
        assert (t["kept"], t["missed"], t["unmarked"]) == (kept, missed, unmarked)
        assert t["marked"] == kept + missed
        assert t["rate"] == (None if t["marked"] == 0 else round(100 * kept / (kept + missed)))
        assert t["rate"] is None or 0 <= t["rate"] <= 100
    assert r["7"]["marked"] <= r["30"]["marked"] <= r["90"]["marked"]


@settings(max_examples=400, deadline=None)
@given(days, st.lists(st.integers(-10, 130), max_size=150),
       st.dictionaries(st.integers(-10, 130), st.sampled_from(["kept", "missed", "other"]),
                       max_size=150),
       st.lists(st.integers(1, 120), min_size=1, max_size=4, unique=True))
def test_rates_count_each_window_as_its_tally_does(today, due_ages, mark_ages, windows):
    """`rates` counts every window in one pass; each window is what `tally` (the rule for one
    window, as the app counted it before the one pass) says, whatever the days: due days
    repeated, marks on days that were not due (a schedule changed), days after today, a
    status that is neither kept nor missed, windows in any order."""
    due = [today - timedelta(days=a) for a in due_ages]
    marks = {today - timedelta(days=a): status for a, status in mark_ages.items()}
    assert rates(due, marks, today, windows) == {
        str(n): tally(due, marks, today - timedelta(days=n - 1), today, today) for n in windows}


@settings(max_examples=300, deadline=None)
@given(histories())
def test_days_nobody_marked_never_move_a_rate(history):
    """However many unmarked past days there are (a start date in the past, a busy week), the
    rate is what the marked days say: dropping every unmarked due day changes no rate."""
    today, due, marks = history
    only_marked = [d for d in due if d in marks]
    a, b = rates(due, marks, today), rates(only_marked, marks, today)
    for w in a:
        assert a[w]["rate"] == b[w]["rate"] and a[w]["marked"] == b[w]["marked"]
        assert b[w]["unmarked"] == 0


@settings(max_examples=300, deadline=None)
@given(histories(), st.data())
def test_marking_an_unmarked_day_missed_lowers_the_rate_or_keeps_it_at_zero(history, data):
    """What the page says: a missed day lowers a rate (while it is in the window); kept raises."""
    today, due, marks = history
    unmarked = [d for d in due if d not in marks and d < today]
    if not unmarked:
        return
    day = data.draw(st.sampled_from(unmarked))
    before = rates(due, marks, today)
    missed = rates(due, {**marks, day: "missed"}, today)
    kept = rates(due, {**marks, day: "kept"}, today)
    for w in before:
        inside = (today - day).days < int(w)
        b, m, k = before[w], missed[w], kept[w]
        assert m["kept"] == b["kept"], "a miss never takes away what was kept"
        if not inside:
            assert m == b == k
            continue
        assert m["marked"] == b["marked"] + 1 and m["unmarked"] == b["unmarked"] - 1
        assert m["rate"] is not None and k["rate"] is not None
        if b["rate"] is None:
            assert m["rate"] == 0 and k["rate"] == 100
        else:
            # Exactly lower unless rounding hides it; never higher. Kept: never lower.
            assert m["kept"] / m["marked"] < (b["kept"] / b["marked"]) or b["kept"] == 0
            assert m["rate"] <= b["rate"] <= k["rate"]


@settings(max_examples=200, deadline=None)
@given(histories(), st.data())
def test_a_correction_moves_the_rate_the_honest_way(history, data):
    today, due, marks = history
    inside = [d for d in marks if (today - d).days < 7]
    if not inside:
        return
    day = data.draw(st.sampled_from(inside))
    as_kept = rates(due, {**marks, day: "kept"}, today)["7"]
    as_missed = rates(due, {**marks, day: "missed"}, today)["7"]
    assert as_kept["marked"] == as_missed["marked"]
    assert as_kept["kept"] == as_missed["kept"] + 1 and as_kept["rate"] > as_missed["rate"]


def test_a_past_start_begins_unmarked_not_at_zero():
    """The case from issue 12: three past days, none marked, is not "0% · 0 of 3 kept"."""
    today = date(2026, 3, 10)
    due = [today - timedelta(days=i) for i in range(4)]  # today and three past days
    t = rates(due, {}, today)["7"]
    assert t == {"kept": 0, "missed": 0, "marked": 0, "unmarked": 3, "rate": None}
    one_missed = rates(due, {today - timedelta(days=1): "missed"}, today)["7"]
    assert one_missed == {"kept": 0, "missed": 1, "marked": 1, "unmarked": 2, "rate": 0}
    # Today counts once it is marked, and is never "not marked" while it is still today.
    assert rates(due, {today: "kept"}, today)["7"] == \
        {"kept": 1, "missed": 0, "marked": 1, "unmarked": 3, "rate": 100}
