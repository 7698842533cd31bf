"""Devices: the browsers a person is signed in on, as the account page lists them, and ending
any one of them at once (its session row and its open sockets, in every process).

Only what a person needs to recognise their own devices is kept: a rough label from a fixed
vocabulary, parsed once from the User-Agent at login ("Firefox on Android"; the raw string is
never stored, it would fingerprint the device), and the *day* it was last used. No address, no
place, no time of day. Only the account's owner ever sees the list.
"""
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from flask import session
from sqlalchemy import or_, select, update

from ..errors import NotFound
from ..extensions import db
from .models import LoginSession, User

# Checked in order: several browsers name the ones they are built on in their User-Agent.
BROWSERS = (
    (re.compile(r"EdgA?/|EdgiOS/|Edge/"), "Edge"),
    (re.compile(r"OPR/|Opera"), "Opera"),
    (re.compile(r"SamsungBrowser/"), "Samsung Internet"),
    (re.compile(r"Firefox/|FxiOS/"), "Firefox"),
    (re.compile(r"Chrome/|CriOS/|Chromium/"), "Chrome"),
    (re.compile(r"Safari/"), "Safari"),
)
SYSTEMS = (
    (re.compile(r"Android"), "Android"),
    (re.compile(r"iPhone|iPod"), "iPhone"),
    (re.compile(r"iPad"), "iPad"),
    (re.compile(r"CrOS"), "ChromeOS"),
    (re.compile(r"Windows"), "Windows"),
    (re.compile(r"Macintosh|Mac OS X"), "Mac"),
    (re.compile(r"Linux|X11"), "Linux"),
)
USED_KEY = "_used_on"  # the day this browser's session was last marked used (in its cookie)


def device_label(user_agent: str | None) -> str:
    """'Firefox on Android', 'Chrome on Windows', or 'A browser' when nothing is recognised."""
    ua = (user_agent or "")[:512]
    browser = next((name for pattern, name in BROWSERS if pattern.search(ua)), None)
    system = next((name for pattern, name in SYSTEMS if pattern.search(ua)), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or f"A browser on {system}"
    return "A browser"


def today() -> date:
    return datetime.now(UTC).date()


def describe_new_session(user: User, user_agent: str | None) -> None:
    """Label the session `start_session` just made for this browser; commits."""
    session_id = getattr(user, "login_session_id", None) or _id_of_token(user)
    if session_id is None:
        return
    db.session.execute(update(LoginSession).where(LoginSession.id == session_id)
                       .values(device=device_label(user_agent), last_used_on=today()))
    db.session.commit()
    session[USED_KEY] = today().isoformat()


def _id_of_token(user: User) -> int | None:
    from .operations import current_login_session_id

    return current_login_session_id(user)


def mark_used(user: User) -> None:
    """At most once a day per browser (the day is kept in its own session cookie): the session's
    last-used day. Only the account's owner sees it; it is never shown to the partner."""
    day = today().isoformat()
    if session.get(USED_KEY) == day:
        return
    session_id = getattr(user, "login_session_id", None)
    if session_id is None:
        return
    db.session.execute(
        update(LoginSession)
        .where(LoginSession.id == session_id,
               or_(LoginSession.last_used_on.is_(None), LoginSession.last_used_on != today()))
        .values(last_used_on=today()))
    db.session.commit()
    session[USED_KEY] = day


def rough_age(day: date | None, now: date | None = None) -> str:
    """'today', 'yesterday', 'this week', 'this month', 'over a month ago' (never a time)."""
    if day is None:
        return "a while ago"
    days = ((now or today()) - day).days
    if days <= 0:
        return "today"
    if days == 1:
        return "yesterday"
    if days < 7:
        return "this week"
    if days < 31:
        return "this month"
    return "over a month ago"


@dataclass(frozen=True)
class Device:
    id: int
    label: str
    this_device: bool
    signed_in: str
    last_used: str
    remembered: bool


def devices_of(user: User) -> list[Device]:
    """This person's signed-in sessions, this browser's first, then the most recently used."""
    here = getattr(user, "login_session_id", None)
    now = today()
    rows = db.session.scalars(
        select(LoginSession).where(LoginSession.user_id == user.id,
                                   LoginSession.expires_at > datetime.now(UTC))
        .order_by(LoginSession.id.desc())
    ).all()
    out = [Device(id=row.id, label=row.device or "A browser", this_device=row.id == here,
                  signed_in=rough_age(row.created_at.date(), now),
                  last_used=rough_age(row.last_used_on or row.created_at.date(), now),
                  remembered=row.remember)
           for row in rows]
    out.sort(key=lambda d: (not d.this_device, -(_used_ord(rows, d.id)), -d.id))
    return out


def _used_ord(rows, device_id: int) -> int:
    row = next(r for r in rows if r.id == device_id)
    return (row.last_used_on or row.created_at.date()).toordinal()


def end_device(user: User, device_id) -> bool:
    """End one of this person's sessions at once: its cookie signs nobody in any more and its
    open sockets are closed, in every process. Another person's session id is NotFound and
    changes nothing. Returns True when it was this browser's own session."""
    if not isinstance(device_id, int) or isinstance(device_id, bool) or not 0 < device_id < 2**31:
        raise NotFound("There is no such device.")
    row = db.session.scalar(select(LoginSession).where(LoginSession.id == device_id,
                                                       LoginSession.user_id == user.id))
    if row is None:
        raise NotFound("There is no such device.")
    was_here = row.id == getattr(user, "login_session_id", None)
    # The one way to end a session: its row and its sockets' rows go in one commit, and the
    # sockets are cut after it, in every process (operations.end_login_session).
    from .operations import end_login_session

    end_login_session(row.id)
    return was_here
