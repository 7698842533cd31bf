"""Follow-through as a trend that forgives: rates over recent windows and weekly buckets.

A rate counts only what the owner marked: kept ÷ marked, where *marked* is every day in the
window that carries a mark (kept or missed). A due day with no mark is "not marked": it is shown
as such and left out of the rate until the owner marks it, so a start date in the past or a busy
week never reads as a run of misses. A missed day lowers a rate for as long as it is inside the
window, and nothing else: there is no streak to lose, no reset.
"""
from datetime import date

RATE_WINDOWS = (7, 30, 90)


def rates(due_days, marks: dict, today: date, windows=RATE_WINDOWS) -> dict:
    """{"7": counts, "30": counts, "90": counts}, each window ending today: the kept, missed,
    marked and unmarked days in it (unmarked: due, passed, no mark; today is not late yet) and
    the rate. Counted in one pass over the marks and one over the due days (every mark and
    every page with commitments builds this; a pass per window was a tenth of a mark's own
    Python)."""
    ordered = sorted(windows)
    counts = {n: [0, 0, 0] for n in ordered}  # kept, missed, unmarked

    def count(age: int, which: int) -> None:
        for n in reversed(ordered):  # the widest first: a day outside it is outside all
            if age >= n:
                return
            counts[n][which] += 1

    for d, status in marks.items():
        age = (today - d).days
        if age >= 0 and status in ("kept", "missed"):
            count(age, 0 if status == "kept" else 1)
    for d in set(due_days):
        if d < today and d not in marks:
            count((today - d).days, 2)
    out = {}
    for n in windows:
        kept, missed, unmarked = counts[n]
        marked = kept + missed
        out[str(n)] = {"kept": kept, "missed": missed, "marked": marked, "unmarked": unmarked,
                       "rate": None if marked == 0 else round(100 * kept / marked)}
    return out
