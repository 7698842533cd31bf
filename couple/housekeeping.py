"""Housekeeping: what old rows a running app no longer needs, deleted.

`prune(days)` deletes events and applied op ids older than `days` (a tab away longer reloads
its state, `sync` answers it `reset`; a retry older than that is applied as new, and no page
keeps one that long) and the rows of sockets of processes that died without saying goodbye.
It also ends the only copies of older words outside their own tables: each event and each
stored op answer holds the item it changed, whole.

`flask --app app couple prune --days 30` runs it (from cron, daily, on one process: docs/
deploy.md); the embedded default (`python app.py`, one process) is its own timer (`run_loop`,
daily, like its reminders and its mail), so a couple's database on `make run` does not keep
every change's copy for years.
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
    """Delete events, op ids and socket rows older than `days`; the counts deleted."""
    before = utcnow() - timedelta(days=days)
    result = prune_events(before)
    result["sockets"] = db.session.execute(
        delete(LiveSocket).where(LiveSocket.connected_at < before)).rowcount
    db.session.commit()
    return result


def run_loop(app, days: int, every: float = DAY, sleep=None) -> None:
    """The embedded default's own timer: prune now, then every `every` seconds, forever.
    Never raises: a failed run is logged and the next one tries."""
    import time as _time

    sleep = sleep or _time.sleep
    while True:
        try:
            with app.app_context():
                result = prune(days)
                if any(result.values()):
                    log.info("pruned %(events)d events, %(ops)d op ids, %(sockets)d sockets",
                             result)
        except Exception:  # noqa: BLE001
            log.exception("housekeeping run failed")
        sleep(every)
