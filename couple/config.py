"""Configuration from the environment, with safe defaults for one machine."""
import os
import secrets
from datetime import timedelta
from pathlib import Path


def _secret_key(instance_path: Path) -> str:
    """COUPLE_SECRET_KEY, or a key generated once and kept in the instance folder."""
    if os.environ.get("COUPLE_SECRET_KEY"):
        return os.environ["COUPLE_SECRET_KEY"]
    path = instance_path / "secret_key"
    if not path.exists():
        # O_EXCL: two processes starting at once must not end up with two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


# The shared boundaries document's limits (couple/boundaries/sync.py), each overridable by
# COUPLE_<NAME>.
BOUNDARIES_LIMITS = {
    # One change from an editor.
    "BOUNDARIES_MAX_UPDATE": 64 * 1024,
    # Stored (compressed) bytes. Tombstones grow a year of heavy editing by ~130 KB
    # (bench/boundaries_longlived.py), so 2 MiB lasts about fifteen such years; it still stops
    # a partner from filling the couple's document, and every tab's page, without end.
    "BOUNDARIES_MAX_DOC": 2 * 1024 * 1024,
    # Updates appended before the log is folded into a snapshot.
    "BOUNDARIES_COMPACT_EVERY": 300,
    # Memory each process gives its cache of couples' documents (boundaries/store.py): ~1,700
    # new documents, or ~20 after a hundred thousand edits each. A document not held is
    # rebuilt from the database on its next edit.
    "BOUNDARIES_REPLICA_MEMORY_MB": 256,
}


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_environment(instance_path: Path) -> dict:
    """Settings read from COUPLE_* variables; see the README's Configuration table."""
    database_url = os.environ.get("COUPLE_DATABASE_URL") or (
        f"sqlite:///{instance_path / 'couple.sqlite3'}"
    )
    if database_url.startswith("postgresql://"):
        # psycopg 3 is the driver we declare; SQLAlchemy's bare postgresql:// means psycopg2.
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]
    https = _flag("COUPLE_HTTPS", False)
    redis_url = os.environ.get("COUPLE_REDIS_URL") or None
    origins = os.environ.get("COUPLE_ALLOWED_ORIGINS")
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        # None = same origin only (python-engineio's check); a list adds trusted front ends.
        "ALLOWED_ORIGINS": [o.strip() for o in origins.split(",")] if origins else None,
        "SOCKETIO_ASYNC_MODE": os.environ.get("COUPLE_ASYNC_MODE") or None,
        "AUTO_MIGRATE": _flag("COUPLE_AUTO_MIGRATE", database_url.startswith("sqlite")),
        "SESSION_COOKIE_SECURE": https,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_DURATION": timedelta(days=30),
        "PERMANENT_SESSION_LIFETIME": timedelta(days=30),
        "PREFERRED_URL_SCHEME": "https" if https else "http",
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_ENABLED": _flag("COUPLE_RATELIMIT", True),
        "RATELIMIT_HEADERS_ENABLED": False,
        "WTF_CSRF_TIME_LIMIT": None,
        # engineio's default is 1,000,000 bytes; nothing here needs a tenth of that.
        "MAX_SOCKET_MESSAGE": int(os.environ.get("COUPLE_MAX_SOCKET_MESSAGE", 256 * 1024)),
        "MAX_CONTENT_LENGTH": 256 * 1024,
        "EVENT_REPLAY_LIMIT": 1000,
        # PostgreSQL connections per process (docs/deploy.md: processes x (size + overflow) must
        # stay under the server's max_connections).
        "DB_POOL_SIZE": int(os.environ.get("COUPLE_DB_POOL_SIZE", "20")),
        "DB_MAX_OVERFLOW": int(os.environ.get("COUPLE_DB_MAX_OVERFLOW", "10")),
        # Several deployments (or test runs) can share one Redis: each uses its own channel.
        "SOCKETIO_CHANNEL": os.environ.get("COUPLE_REDIS_CHANNEL", "couple"),
        "RATELIMIT_KEY_PREFIX": os.environ.get("COUPLE_REDIS_CHANNEL", "couple"),
        "LOG_LEVEL": os.environ.get("COUPLE_LOG_LEVEL", "INFO"),
        # Mail (couple/mail.py): no SMTP URL = messages are written to the console.
        "SMTP_URL": os.environ.get("COUPLE_SMTP_URL") or None,
        # The sender: a neutral name (docs/safety.md "Mail"), never the app's.
        "MAIL_FROM": os.environ.get("COUPLE_MAIL_FROM") or "Notifications <noreply@localhost>",
        # One subject for every message, instead of the neutral per-kind ones.
        "MAIL_SUBJECT": os.environ.get("COUPLE_MAIL_SUBJECT") or None,
        # The address people open the app at, for links in emails sent outside a request.
        "PUBLIC_URL": os.environ.get("COUPLE_PUBLIC_URL") or None,
        # `python app.py` sends due reminders itself every minute (the embedded default, one
        # process); off by default on PostgreSQL, where cron / a systemd timer runs
        # `flask --app app couple remind` (docs/deploy.md).
        "REMINDER_LOOP": _flag("COUPLE_REMINDER_LOOP", database_url.startswith("sqlite")),
        "REMINDER_EVERY": float(os.environ.get("COUPLE_REMINDER_EVERY", "60")),
        # `python app.py` prunes events and op ids older than PRUNE_DAYS itself, at start and
        # then daily (couple/housekeeping.py); elsewhere cron runs `flask couple prune`.
        "PRUNE_LOOP": _flag("COUPLE_PRUNE_LOOP", database_url.startswith("sqlite")),
        "PRUNE_DAYS": int(os.environ.get("COUPLE_PRUNE_DAYS") or 30),
        "PRUNE_EVERY": float(os.environ.get("COUPLE_PRUNE_EVERY") or 24 * 60 * 60),
        **{name: int(os.environ.get(f"COUPLE_{name}") or default)
           for name, default in BOUNDARIES_LIMITS.items()},
    }
