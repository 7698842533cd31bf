"""Follow-through as a trend that forgives: rates over recent windows and weekly buckets.

A rate counts only what the owner marked: kept ÷ marked, where *marked* is every day in the
window that carries a mark (kept or missed). A due day with no mark is "not marked": it is shown
as such and left out of the rate until the owner marks it, so a start date in the past or a busy
week never reads as a run of misses. A missed day lowers a rate for as long as it is inside the
window, and nothing else: there is no streak to lose, no reset.
"""
from datetime import date, timedelta

RATE_WINDOWS = (7, 30, 90)


def tally(due_days, marks: dict, first: date, last: date, today: date) -> dict:
    """Counts for the local days [first, last]; `marks` maps a date to "kept" or "missed"."""
    kept = missed = 0
    for d, status in marks.items():
        if first <= d <= last:
            if status == "kept":
                kept += 1
            elif status == "missed":
                missed += 1
    # Days that have passed, fell due and carry no mark yet (today is still today, not "late").
    unmarked = sum(1 for d in set(due_days) if first <= d <= last and d < today and d not in marks)
    marked = kept + missed
    return {
        "kept": kept,
        "missed": missed,
        "marked": marked,
        "unmarked": unmarked,
        # A whole percentage: integers compare exactly in the event contract and the browser.
        "rate": None if marked == 0 else round(100 * kept / marked),
    }


def rates(due_days, marks: dict, today: date, windows=RATE_WINDOWS) -> dict:
    """{"7": tally, "30": tally, "90": tally}, each window ending today."""
    return {
        str(n): tally(due_days, marks, today - timedelta(days=n - 1), today, today)
        for n in windows
    }
