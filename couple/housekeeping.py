"""Housekeeping: what old rows a running app no longer needs, deleted.

`prune(days)` deletes events and applied op ids older than `days`: a tab away longer reloads
its state (`sync` answers it `reset`). It also ends the only copies of older words outside
their own tables: each event and each stored op answer holds the item it changed, whole. An
op id older than that is forgotten: a page that retries a change whose answer it lost more than
`days` ago would apply it again (docs/architecture.md, "Streams").

Socket rows (`LiveSocket`) are not pruned by age: a row is how a logout, a password change or
an account deletion in any process finds the sockets to cut, and a tab may stay connected for
longer than any age. A row goes when its socket disconnects. `python app.py` with no message
queue, the only process there is, forgets before it serves the rows a crash left
(`forget_sockets`).

`flask --app app couple prune --days 30` runs it (from cron, daily, on one process: docs/
deploy.md); the embedded default (`python app.py`, one process) is its own timer (`run_loop`,
at start and then daily, like its reminders and its mail), so a couple's database on `make run`
does not keep every change's copy for years.
"""
import logging
from datetime import timedelta

from sqlalchemy import delete

from .events import LiveSocket
from .events import prune as prune_events
from .extensions import db
from .models_base import utcnow

log = logging.getLogger(__name__)

DAY = 24 * 60 * 60.0


def prune(days: int) -> dict:
    """Delete events and op ids older than `days`; the counts deleted."""
    return prune_events(utcnow() - timedelta(days=days))


def forget_sockets() -> int:
    """Delete every socket row: for a process that has just started and is the only one (the
    embedded default), none of them names a socket that is still open."""
    gone = db.session.execute(delete(LiveSocket)).rowcount
    db.session.commit()
    return gone


def run_loop(app, days: int, every: float = DAY, sleep=None) -> None:
    """The embedded default's own timer: prune now and every `every` seconds, forever. Never
    raises: a failed run is logged and the next one tries."""
    import time as _time

    sleep = sleep or _time.sleep
    while True:
        try:
            with app.app_context():
                result = prune(days)
                if any(result.values()):
                    log.info("pruned %(events)d events, %(ops)d op ids", result)
        except Exception:  # noqa: BLE001
            log.exception("housekeeping run failed")
        sleep(every)
