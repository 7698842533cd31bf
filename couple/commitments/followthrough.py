"""Follow-through as a trend that forgives: rates over recent windows and weekly buckets.

A rate is kept ÷ counted, where *counted* is every occurrence whose day has passed plus any
day already marked (today counts once it is marked). A missed or unmarked day lowers a rate for
as long as it is inside the window, and nothing else: there is no streak to lose, no reset.
"""
from datetime import date, timedelta

RATE_WINDOWS = (7, 30, 90)


def tally(due_days, marks: dict, first: date, last: date, today: date) -> dict:
    """Counts for the local days [first, last]; `marks` maps a date to "kept" or "missed"."""
    counted = {d for d in due_days if first <= d <= last and d < today}
    counted |= {d for d in marks if first <= d <= last}
    kept = sum(1 for d in counted if marks.get(d) == "kept")
    missed = sum(1 for d in counted if marks.get(d) == "missed")
    total = len(counted)
    return {
        "kept": kept,
        "missed": missed,
        "unmarked": total - kept - missed,
        "counted": total,
        # A whole percentage: integers compare exactly in the event contract and the browser.
        "rate": None if total == 0 else round(100 * kept / total),
    }


def rates(due_days, marks: dict, today: date, windows=RATE_WINDOWS) -> dict:
    """{"7": tally, "30": tally, "90": tally}, each window ending today."""
    return {
        str(n): tally(due_days, marks, today - timedelta(days=n - 1), today, today)
        for n in windows
    }
