"""Commitment reminders: the owner's own email on the days a commitment falls due.

Private by design (docs/safety.md): only the owner can turn a reminder on, change or see it. It
is never recorded in the couple's event stream, never in anyone's client state, never on a page
the partner sees, and never in the partner's export (the owner's export has it: the rows name
the owner). Turning it on or off records no event at all; the owner's page reads it when it loads.

The mail says only that something is due today, with a link to the commitment's page; never
the commitment's words, its schedule, the partner's name, or the app's name (couple/mail.py
owns the neutral subject and sender).

When it is due (`due_day`): on a local day D of the owner's zone on which the commitment falls
due (its schedule, pauses and end: `items.schedule_of`), at the first instant whose local
date is D and whose wall-clock time is at or after the chosen time. Across a DST gap (02:30 on a
spring-forward night) that is the end of the gap; on a fall-back night it is the first of the
two 01:30s. A day whose clock never reaches the time (a gap that swallows the rest of the day,
or Apia's skipped 30 December 2011) has no reminder. Not for a day already marked, not for a
paused or ended commitment, not after the couple is unlinked, not for a day whose time had
already passed when the reminder was turned on or changed, and only to a confirmed address
(`User.email_verified_at`): until then the owner's page says so.

Sending (`send_due`, run by `flask --app app couple remind` from cron or a systemd timer, and
on the embedded default by a loop inside `python app.py`): each due reminder is claimed by
inserting its sent-row (reminder, local day), unique, in a transaction of its own, together with
the mail (couple/mail.py writes it to its outbox in the same transaction). Two runs, or two
processes at the same moment, cannot both insert it: the second one's insert fails on the unique
key (on PostgreSQL it waits for the first to commit; on SQLite for the write lock) and it skips.
"""
import logging
import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..accounts.models import User
from ..errors import InvalidInput
from ..extensions import db
from ..models_base import utcnow
from ..pairing.models import Couple
from .items import changes_of, schedule_of
from .models import Commitment, FollowThrough, Reminder, ReminderSend
from .operations import commitment_for, owner_only
from .schedule import Schedule, occurrences

log = logging.getLogger(__name__)

TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])(:00)?$")
DEFAULT_TIME = "08:00"
ON = (True, "on", "1", "true", "yes")
OFF = (False, None, "", "off", "0", "false", "no")


# ---------------------------------------------------------------- when (pure)

def parse_time(value) -> str:
    """"HH:MM" (a browser's time input may add ":00"); InvalidInput otherwise."""
    if isinstance(value, str) and len(value) <= 8:
        match = TIME.fullmatch(value)
        if match:
            return f"{match.group(1)}:{match.group(2)}"
    raise InvalidInput("Give a time of day as HH:MM, from 00:00 to 23:59.", "time")


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None, fold=0)


def due_at(day: date, local_time: str, tz: str) -> datetime | None:
    """The first instant (UTC) whose local date in `tz` is `day` and whose wall-clock time is
    at or after `local_time`; None when that day's clock never reaches it."""
    zone = ZoneInfo(tz)
    hour, minute = (int(p) for p in local_time.split(":"))
    wanted = datetime.combine(day, time(hour, minute))
    first = datetime.combine(day, time(hour, minute), tzinfo=zone)  # fold=0: the earlier
    later = first.astimezone(UTC)
    if _wall(later, zone) == wanted:
        return later  # the time exists (on a fall-back night, its first occurrence)
    # In a gap: the other reading lies before it. The first instant at or after the wanted wall
    # time is the transition, found by bisection (whole seconds).
    earlier = first.replace(fold=1).astimezone(UTC)
    if earlier > later:
        earlier, later = later, earlier
    if _wall(later, zone) < wanted:
        return None
    lo, hi = int(earlier.timestamp()), int(later.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _wall(datetime.fromtimestamp(mid, UTC), zone) >= wanted:
            hi = mid
        else:
            lo = mid
    found = datetime.fromtimestamp(hi, UTC)
    if _wall(datetime.fromtimestamp(lo, UTC), zone) >= wanted:
        found = datetime.fromtimestamp(lo, UTC)
    return found if found.astimezone(zone).date() == day else None


def due_day(now: datetime, tz: str, local_time: str, schedule: Schedule,
            since: datetime | None = None) -> date | None:
    """The owner's local day whose reminder is due at `now`, or None: today (in `tz`) if the
    schedule falls due today, its time has come, and it had not already come at `since`."""
    today = now.astimezone(ZoneInfo(tz)).date()
    if not occurrences(schedule, today, today):
        return None
    at = due_at(today, local_time, tz)
    if at is None or now < at or (since is not None and at < since):
        return None
    return today


# ---------------------------------------------------------------- the owner's setting

def reminder_of(c: Commitment) -> Reminder | None:
    return db.session.scalar(select(Reminder).where(Reminder.commitment_id == c.id)
                             .execution_options(populate_existing=True))


def setting_for(user, c: Commitment) -> dict | None:
    """What the owner's page shows; None for anyone else (the partner never learns it)."""
    if c.owner_id != user.id:
        return None
    row = reminder_of(c)
    confirmed = user.email_verified_at is not None
    if row is None:
        return {"enabled": False, "time": DEFAULT_TIME, "confirmed": confirmed}
    return {"enabled": row.enabled, "time": row.local_time, "confirmed": confirmed}


def _parse_enabled(value) -> bool:
    if isinstance(value, str):
        value = value.strip().lower()
    if value in ON:
        return True
    if value in OFF:
        return False
    raise InvalidInput("Choose whether to be reminded: on or off.", "enabled")


def set_reminder(user, commitment_id, enabled, local_time=None) -> dict:
    """The owner turns the reminder on (at a local time) or off. Records no event."""
    enabled = _parse_enabled(enabled)
    if local_time in (None, "") and not enabled:
        local_time = None
    else:
        local_time = parse_time(local_time)
    c = commitment_for(user, commitment_id)
    owner_only(user, c, "set a reminder for")
    if enabled and c.status == "ended":
        raise InvalidInput("This commitment has ended: there is nothing to remind you of.",
                           "enabled")
    try:
        row = reminder_of(c)
        if row is None:
            row = Reminder(commitment_id=c.id, user_id=user.id, enabled=False,
                           local_time=local_time or DEFAULT_TIME, since=utcnow())
            try:
                with db.session.begin_nested():
                    db.session.add(row)
            except IntegrityError:
                # Another tab made it first: change that one.
                row = reminder_of(c)
        changed_time = local_time is not None and local_time != row.local_time
        if (enabled and not row.enabled) or (enabled and changed_time):
            row.since = utcnow()
        row.enabled = enabled
        if local_time is not None:
            row.local_time = local_time
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return {"enabled": row.enabled, "time": row.local_time}


def export_for(user) -> list[dict]:
    """This person's reminder settings (for the lead to wire into the export registry; the
    fallback export already carries these rows, since they name their owner)."""
    rows = db.session.scalars(select(Reminder).where(Reminder.user_id == user.id)
                              .order_by(Reminder.id))
    return [{"commitment_id": r.commitment_id, "enabled": r.enabled, "time": r.local_time,
             "since": r.since.isoformat()} for r in rows]


# ---------------------------------------------------------------- sending

# The whole body. The subject is the "reminder" kind's neutral one (couple/mail.py).
TEXT = ("Something you planned is due today.\n\n"
        "Open it here: {link}\n\n"
        "You asked for this reminder; you can turn it off on the same page.\n")


def _link(commitment_id: int) -> str:
    config = current_app.config
    base = config.get("PUBLIC_URL") or (
        f"{config.get('PREFERRED_URL_SCHEME') or 'http'}://{config['SERVER_NAME']}"
        if config.get("SERVER_NAME") else "http://127.0.0.1:5000")
    base = base.rstrip("/")
    return f"{base}/commitments/{commitment_id}"


def deliver(to: str, commitment_id: int) -> None:
    """Queue the mail in couple/mail.py's outbox, in the caller's transaction: it commits (and
    then leaves) with the sent-row, or neither does."""
    from .. import mail

    mail.send(to, TEXT.format(link=_link(commitment_id)), kind="reminder")


def _candidates():
    """Enabled reminders of active commitments whose couple is active and still the owner's,
    for an owner whose address is confirmed (a mistyped address would mail a stranger)."""
    return db.session.execute(
        select(Reminder, Commitment, User.email)
        .join(Commitment, Commitment.id == Reminder.commitment_id)
        .join(Couple, Couple.id == Commitment.couple_id)
        .join(User, User.id == Reminder.user_id)
        .where(Reminder.enabled.is_(True), Commitment.status == "active",
               Couple.ended_at.is_(None), User.couple_id == Commitment.couple_id,
               Commitment.owner_id == Reminder.user_id, User.email_verified_at.is_not(None))
        .order_by(Reminder.id)
    ).all()


def send_due(now: datetime | None = None) -> int:
    """Send every reminder due at `now` that no run has sent yet; the number sent by this run."""
    now = now or utcnow()
    rows = _candidates()
    changes = changes_of([c.id for _r, c, _e in rows])
    due = []
    for reminder, c, email in rows:
        day = due_day(now, c.tz, reminder.local_time, schedule_of(c, changes[c.id]),
                      reminder.since)
        if day is not None:
            due.append((reminder.id, c.id, email, day))
    # End the read before claiming: on SQLite a transaction that read and then writes cannot
    # wait for another process's write lock (it fails at once); a fresh one can.
    db.session.rollback()
    sent = 0
    for reminder_id, commitment_id, email, day in due:
        try:
            marked = db.session.scalar(select(FollowThrough.id).where(
                FollowThrough.commitment_id == commitment_id, FollowThrough.day == day))
            db.session.rollback()
            if marked is not None:
                continue  # already marked today: nothing to remind
            db.session.add(ReminderSend(reminder_id=reminder_id, day=day, sent_at=utcnow()))
            try:
                db.session.flush()
            except IntegrityError:
                db.session.rollback()  # another run or process sent it
                continue
            deliver(email, commitment_id)
            db.session.commit()
            sent += 1
        except Exception:  # noqa: BLE001
            # One reminder failing (its mail, its row) never stops the others; it is tried again
            # on the next run, since its sent-row was rolled back with it.
            db.session.rollback()
            log.exception("reminder %s for %s could not be sent", reminder_id, day)
    return sent


def run_loop(app, every: float = 60.0, sleep=None) -> None:
    """The embedded default's own timer (python app.py, one process): send what is due every
    `every` seconds, forever. Never raises: a failed run is logged and the next one tries."""
    import time as _time

    sleep = sleep or _time.sleep
    while True:
        try:
            with app.app_context():
                sent = send_due()
                if sent:
                    log.info("sent %d reminder(s)", sent)
        except Exception:  # noqa: BLE001
            log.exception("reminder run failed")
        sleep(every)
