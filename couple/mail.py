"""Mail: every message the app sends goes through `send`, and through the outbox.

Public API (what a capability calls):

    from couple import mail
    mail.send(to, text, kind="recovery")

- `to` is one address; `text` the plain-text body (no HTML, no attachments); `kind` one of
  `KINDS` below. The subject is not the caller's choice: it is the kind's neutral subject
  (configurable, see `subject_for`), so no caller can put a name or content in it.
- `send` only adds a `mail_outbox` row to the caller's transaction. The caller commits as it
  always does; the message leaves after that commit, in the background (the request never
  waits for the SMTP server, so an answer takes as long whether or not a message was sent).
  A rolled-back request sends nothing; a committed one never loses its message to a crash
  between commit and send, nor its own change to a failed send.
- A failed attempt is logged (never shown to the person) and retried with backoff
  (`RETRY_DELAYS`); the retry runs in the same process, and `flask --app app couple mail`
  (cron, or the embedded server's own loop, see `start_drain_loop`) sends whatever a crashed
  process left. After the last attempt the row is dropped, with an error in the log.
- Two processes never send one row twice at the same time: a sender first *claims* the row
  (moves its next_attempt_at past the attempt's lease in one conditional UPDATE).
  A crash after the SMTP server accepted a message but before the row was deleted sends it
  once more on the next drain: at-least-once, as mail is.

Discretion (docs/safety.md "Mail"): subjects and the sender name are neutral and set by the
deployment; a message names no app, no partner and quotes nothing anyone wrote. Callers write
bodies that say only what the person must do, with a link.

Transport: Flask-Mailman, configured from COUPLE_SMTP_URL (`smtp://user:pass@host:587` =
STARTTLS, `smtps://host:465` = TLS from the first byte, `smtp+plain://host:25` = no encryption,
for a relay on the same machine or the tests' local server) and COUPLE_MAIL_FROM. Without
COUPLE_SMTP_URL messages are written to the server's console, and start-up says so.
"""
import logging
import ssl
from datetime import datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

from flask import Flask, current_app
from flask_mailman import EmailMessage, Mail
from flask_mailman.backends import smtp as _smtp
from flask_mailman.utils import DNS_NAME
from sqlalchemy import Integer, String, Text, delete, select, update
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db
from .models_base import UTCDateTime, utcnow

log = logging.getLogger(__name__)
mailman = Mail()

# kind -> default subject. Neutral on purpose: what someone reading over a shoulder or a
# notification preview may see. COUPLE_MAIL_SUBJECT replaces them all with one subject.
KINDS = {
    "recovery": "Your sign-in link",
    "verify": "Confirm your email address",
    "signup_attempt": "About your account",
    "email_change_confirm": "Confirm your email address",
    "email_changed": "Your email address was changed",
    "reminder": "A reminder for today",
}
# Seconds to wait before each retry; the row is dropped after the last one fails.
RETRY_DELAYS = (10, 60, 300, 1800)
# How long a claimed attempt may take before another sender may take the row over.
LEASE = timedelta(minutes=2)
MAX_TEXT = 20_000


class MailOutbox(db.Model):
    """A message accepted in a committed transaction and not yet handed to the SMTP server."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_addr: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The last failure, for the operator (a class name and SMTP code, never the body).
    last_error: Mapped[str | None] = mapped_column(String(200))


# -- configuration ------------------------------------------------------------------------

def settings_from_url(url: str | None) -> dict:
    """Flask-Mailman settings for COUPLE_SMTP_URL; the console backend when it is empty."""
    if not url:
        return {"MAIL_BACKEND": "console"}
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in {"smtp", "smtps", "smtp+plain"}:
        raise ValueError("COUPLE_SMTP_URL must start with smtp://, smtps:// or smtp+plain://")
    if not parts.hostname:
        raise ValueError("COUPLE_SMTP_URL has no host")
    query = parse_qs(parts.query)
    default_port = {"smtp": 587, "smtps": 465, "smtp+plain": 25}[scheme]
    return {
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": parts.hostname,
        "MAIL_PORT": parts.port or default_port,
        "MAIL_USERNAME": unquote(parts.username) if parts.username else None,
        "MAIL_PASSWORD": unquote(parts.password) if parts.password else None,
        "MAIL_USE_TLS": scheme == "smtp",
        "MAIL_USE_SSL": scheme == "smtps",
        "MAIL_TIMEOUT": float(query.get("timeout", ["20"])[0]),
    }


class VerifiedSMTPBackend(_smtp.EmailBackend):
    """Flask-Mailman's SMTP backend, but STARTTLS checks the server's certificate and name.

    Flask-Mailman calls `starttls(context=None)`, and smtplib then uses a context that verifies
    nothing: anyone between the app and the SMTP server could read every recovery link.
    (`smtps://` already uses a verifying default context.)
    """

    def open(self):
        if self.connection or not self.use_tls or self.use_ssl:
            return super().open()
        self.connection = self.connection_class(
            self.host, self.port, local_hostname=DNS_NAME.get_fqdn(),
            **({"timeout": self.timeout} if self.timeout is not None else {}))
        try:
            self.connection.starttls(context=ssl.create_default_context())
            if self.username and self.password:
                self.connection.login(self.username, self.password)
        except Exception:
            _close(self)
            raise
        return True


def init_app(app: Flask) -> None:
    settings = settings_from_url(app.config.get("SMTP_URL"))
    for key, value in settings.items():
        app.config.setdefault(key, value)
    app.config.setdefault("MAIL_DEFAULT_SENDER", app.config.get("MAIL_FROM"))
    if app.config["MAIL_BACKEND"] == "smtp":
        app.config["MAIL_BACKEND"] = VerifiedSMTPBackend
    mailman.init_app(app)
    if app.config["MAIL_BACKEND"] == "console":
        log.warning("Mail: COUPLE_SMTP_URL is not set, so messages (sign-in links too) are "
                    "written to this console instead of being sent. See docs/deploy.md.")


def subject_for(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown mail kind {kind!r}")
    return current_app.config.get("MAIL_SUBJECT") or KINDS[kind]


# -- sending --------------------------------------------------------------------------------

def send(to: str, text: str, *, kind: str) -> MailOutbox:
    """Queue one message in the caller's transaction; it leaves after the commit."""
    from . import realtime

    if not to or "\n" in to or "\r" in to or len(to) > 254:
        raise ValueError("one address, on one line")
    if len(text) > MAX_TEXT:
        raise ValueError("mail text too long")
    row = MailOutbox(to_addr=to, kind=kind, subject=subject_for(kind), body=text,
                     next_attempt_at=utcnow())
    db.session.add(row)
    db.session.flush()
    row_id = row.id
    app = current_app._get_current_object()
    realtime.on_commit(lambda: _in_background(app, row_id))
    return row


def _in_background(app: Flask, row_id: int) -> None:
    from .extensions import socketio

    def run():
        with app.app_context():
            try:
                deliver(row_id, retry_here=True)
            except Exception:  # noqa: BLE001
                log.exception("mail delivery failed")
            finally:
                db.session.remove()

    if app.config.get("MAIL_SYNC"):
        # Tests of the outbox itself; never in production.
        run()
    else:
        socketio.start_background_task(run)


def _claim(row_id: int) -> MailOutbox | None:
    """Take the row for one attempt, or None if it is sent, dropped or someone else's now."""
    now = utcnow()
    claimed = db.session.execute(
        update(MailOutbox)
        .where(MailOutbox.id == row_id, MailOutbox.next_attempt_at <= now)
        .values(next_attempt_at=now + LEASE, attempts=MailOutbox.attempts + 1),
        execution_options={"synchronize_session": False},
    ).rowcount
    db.session.commit()
    if not claimed:
        return None
    return db.session.get(MailOutbox, row_id, populate_existing=True)


def _transmit(row: MailOutbox) -> None:
    # The connection is opened and closed here: Flask-Mailman's send_messages leaves its
    # socket open when the server refuses a message (its close() is skipped by the raise).
    connection = mailman.get_connection(fail_silently=False)
    message = EmailMessage(
        subject=row.subject,
        body=row.body,
        from_email=current_app.config.get("MAIL_DEFAULT_SENDER"),
        to=[row.to_addr],
        headers={"Auto-Submitted": "auto-generated"},
        connection=connection,
    )
    try:
        connection.open()
        sent = connection.send_messages([message])
    finally:
        _close(connection)
    if sent != 1:
        raise RuntimeError("the mail backend did not accept the message")


def _close(connection) -> None:
    raw = getattr(connection, "connection", None)
    try:
        connection.close()
    except Exception:  # noqa: BLE001  (a server that hangs up first: the socket is what matters)
        if raw is not None:
            raw.close()
        if hasattr(connection, "connection"):
            connection.connection = None


def deliver(row_id: int, *, retry_here: bool = False) -> bool:
    """One attempt at one row; True if it was sent now. Never raises for a failed send.

    `retry_here`: after a failure, schedule the next attempt in this process (the server);
    otherwise (the CLI) the next drain after the backoff takes it."""
    row = _claim(row_id)
    if row is None:
        return False
    attempts, kind = row.attempts, row.kind
    db.session.rollback()  # no transaction open while talking to the SMTP server
    try:
        _transmit(row)
    except Exception as exc:  # noqa: BLE001
        reason = f"{type(exc).__name__}: {getattr(exc, 'smtp_code', '')}".strip(": ")[:200]
        if attempts > len(RETRY_DELAYS):
            log.error("mail %s (%s) dropped after %d attempts: %s", row_id, kind, attempts,
                      reason)
            db.session.execute(delete(MailOutbox).where(MailOutbox.id == row_id))
            db.session.commit()
            return False
        delay = RETRY_DELAYS[attempts - 1]
        log.warning("mail %s (%s) attempt %d failed (%s); retrying in %ds", row_id, kind,
                    attempts, reason, delay)
        db.session.execute(
            update(MailOutbox).where(MailOutbox.id == row_id)
            .values(next_attempt_at=utcnow() + timedelta(seconds=delay), last_error=reason),
            execution_options={"synchronize_session": False})
        db.session.commit()
        if retry_here:
            _retry_later(row_id, delay)
        return False
    # Sent: nothing of it is kept (a sign-in link must not outlive its message here).
    db.session.execute(delete(MailOutbox).where(MailOutbox.id == row_id))
    db.session.commit()
    return True


def _retry_later(row_id: int, delay: float) -> None:
    from .extensions import socketio

    app = current_app._get_current_object()

    def later():
        socketio.sleep(delay)
        with app.app_context():
            try:
                deliver(row_id, retry_here=True)
            except Exception:  # noqa: BLE001
                log.exception("mail retry failed")
            finally:
                db.session.remove()

    socketio.start_background_task(later)


def drain(limit: int = 200) -> int:
    """Attempt every due message (oldest first); returns how many were sent."""
    due = list(db.session.scalars(
        select(MailOutbox.id).where(MailOutbox.next_attempt_at <= utcnow())
        .order_by(MailOutbox.id).limit(limit)))
    db.session.rollback()
    return sum(1 for row_id in due if deliver(row_id))


def pending() -> int:
    from sqlalchemy import func

    return db.session.scalar(select(func.count()).select_from(MailOutbox)) or 0


def start_drain_loop(app: Flask, every: float = 60) -> None:
    """Drain the outbox every `every` seconds in this process (the embedded server's timer)."""
    from .extensions import socketio

    def loop():
        while True:
            socketio.sleep(every)
            with app.app_context():
                try:
                    drain()
                except Exception:  # noqa: BLE001
                    log.exception("mail drain failed")
                finally:
                    db.session.remove()

    socketio.start_background_task(loop)
