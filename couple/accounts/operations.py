"""Account operations: sign up, authenticate, login sessions, password change, deletion."""
import secrets
import unicodedata
from datetime import timedelta
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from .. import realtime
from ..errors import InvalidInput
from ..events import LiveSocket
from ..extensions import db
from ..models_base import utcnow
from .models import LoginSession, User, could_be_session_token, token_digest

# argon2-cffi's defaults (RFC 9106's low-memory argon2id: t=3, m=64 MiB, p=4) meet OWASP's
# recommendation. Every deployment uses them: the setting below is not read from the
# environment, and the cheap profile is refused outside TESTING.
PRODUCTION_HASHER = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)
# For the in-process test suite only, whose thousands of sign-ups and logins would otherwise
# spend minutes in argon2 (~0.1-0.4 s each). Servers the tests start run the production cost.
_TEST_HASHER = PasswordHasher.from_parameters(profiles.CHEAPEST)


def hasher() -> PasswordHasher:
    """The app's password hasher: production's unless a test app asked for the cheap one."""
    if current_app.config.get("PASSWORD_HASHER") == "cheapest-for-tests":
        if not current_app.config.get("TESTING"):
            raise RuntimeError("PASSWORD_HASHER='cheapest-for-tests' is only for TESTING")
        return _TEST_HASHER
    return PRODUCTION_HASHER

MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # generous, never truncated; only a guard against hashing megabytes
SESSION_DAYS = 1
REMEMBER_DAYS = 30


def _off_the_loop(fn, *args):
    """Run an argon2 hash or check in gevent's thread pool when gevent serves the app.

    One argon2id call is ~50-150 ms of C (the point of it); on the event loop it stopped every
    other person's requests and sockets for that long (a password change held /healthz for
    ~370 ms). argon2-cffi releases the GIL, so a worker thread leaves the loop free.
    """
    import sys

    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        import gevent

        return gevent.get_hub().threadpool.apply(fn, args)
    return fn(*args)


def _release_connection() -> None:
    """End the read-only transaction this request has open before a slow hash (read what the
    hash needs first), so its pooled connection goes back to the pool meanwhile: on the
    embedded default there is only one, and every other request would wait for it."""
    db.session.rollback()


def _hash(password: str) -> str:
    return _off_the_loop(hasher().hash, password)


def _verify(stored: str, password: str) -> None:
    """Raises VerificationError / InvalidHashError unless `password` matches `stored`."""
    _off_the_loop(hasher().verify, stored, password)


def _dummy_hash() -> str:
    return _dummy_hash_for(hasher())


@lru_cache(maxsize=2)
def _dummy_hash_for(chosen: PasswordHasher) -> str:
    # Hashed once per process: verifying against it makes "no such email" cost what a
    # wrong password costs, so timing does not tell who has an account.
    return _off_the_loop(chosen.hash, secrets.token_urlsafe(16))


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = resources.files(__package__).joinpath("common_passwords.txt").read_text()
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


EMAIL_HINT = "Enter an email address like name@example.com."
MAX_EMAIL = 254  # the users.email column, and RFC 5321's limit


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def email_problem(email: str) -> str | None:
    """What is wrong with this (normalized) address, in words for the form; None if nothing.

    Syntax only (email-validator, no DNS look-up): internationalized domains and local parts
    are accepted; spaces, control characters, NUL, lone surrogates and over-long addresses are not.
    """
    if len(email) > MAX_EMAIL:
        return f"That address is too long. {EMAIL_HINT}"
    if "\ufffd" in email:
        # What a form body that was not UTF-8 decodes to: the address typed is already lost.
        return f"That address has characters we could not read. {EMAIL_HINT}"
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as err:
        return f"{err} {EMAIL_HINT}"
    return None


def check_password_rules(password: str, *, email: str = "", field: str = "password") -> None:
    """ASVS 6.2: at least 8 characters, long ones kept whole, no composition rules."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"Use at least {MIN_PASSWORD} characters.", field)
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"Use at most {MAX_PASSWORD} characters.", field)
    lowered = password.lower()
    if lowered in common_passwords() or (email and lowered == email.lower()):
        raise InvalidInput("That password is too easy to guess. Try a few unrelated words.", field)


def check_display_name(name: str) -> str:
    name = unicodedata.normalize("NFC", (name or "").strip())
    if not name:
        raise InvalidInput("Tell us what to call you.", "display_name")
    if len(name) > 60:
        raise InvalidInput("Keep your name under 60 characters.", "display_name")
    if any(unicodedata.category(c) in {"Cc", "Cf"} for c in name):
        raise InvalidInput("Your name has characters we cannot show.", "display_name")
    return name


def sign_up(email: str, display_name: str, password: str) -> User:
    """Create an account; raises InvalidInput naming the field to fix."""
    email = normalize_email(email)
    problem = email_problem(email)
    if problem:
        raise InvalidInput(problem, "email")
    display_name = check_display_name(display_name)
    check_password_rules(password, email=email)
    user = User(email=email, display_name=display_name, password_hash=_hash(password))
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        # The email was already taken (perhaps a moment ago by a double-submitted form).
        db.session.rollback()
        raise InvalidInput("An account with this email already exists. Try logging in.",
                           "email") from None
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user with this email and password, or None; the same cost either way."""
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    if len(password or "") > MAX_PASSWORD:
        return None
    stored = user.password_hash if user is not None else _dummy_hash()
    _release_connection()
    try:
        _verify(stored, password or "")
    except (VerificationError, InvalidHashError):
        if user is not None:
            db.session.execute(update(User).where(User.id == user.id)
                               .values(failed_logins=User.failed_logins + 1),
                               execution_options={"synchronize_session": False})
            db.session.commit()
        return None
    if user is None:  # pragma: no cover  (a random dummy password cannot match)
        return None
    if hasher().check_needs_rehash(stored):
        fresh = _hash(password)
        user.password_hash = fresh
        db.session.commit()
    return user


def start_session(user: User, remember: bool = False) -> str:
    """A new login session for this browser; returns the token kept in its cookie."""
    token = secrets.token_urlsafe(32)
    days = REMEMBER_DAYS if remember else SESSION_DAYS
    db.session.add(
        LoginSession(
            user_id=user.id,
            token_hash=token_digest(token),
            remember=remember,
            expires_at=utcnow() + timedelta(days=days),
        )
    )
    db.session.commit()
    user.session_token = token
    return token


def take_failed_logins(user: User) -> int:
    """How many wrong passwords were typed for this account since its owner last signed in
    (told to them once, at sign-in), and start counting again."""
    count = db.session.scalar(select(User.failed_logins).where(User.id == user.id)) or 0
    if count:
        db.session.execute(update(User).where(User.id == user.id).values(failed_logins=0),
                           execution_options={"synchronize_session": False})
        db.session.commit()
    return count


def user_for_session_token(token: str | None) -> User | None:
    """The user signed in by this token, if the session exists and has not expired."""
    if not could_be_session_token(token):
        return None
    # One query for the session, its user and the user's couple: this runs on every page and
    # form request (a socket event reads the same facts as a snapshot: signed_in.py), and the
    # couple is what nearly every handler reads next (role, rooms).
    row = db.session.execute(_user_by_token(), {"digest": token_digest(token)}).first()
    if row is None:
        return None
    user, session_id, expires_at = row
    if expires_at <= utcnow():
        return None
    user.session_token = token
    user.login_session_id = session_id
    return user


@lru_cache(maxsize=1)
def _user_by_token():
    # Built once: building and coercing the statement on each call cost a quarter of the
    # check's CPU (821 -> 607 us per check, best of five, measured in one gevent process).
    return (select(User, LoginSession.id, LoginSession.expires_at)
            .join(LoginSession, LoginSession.user_id == User.id)
            .where(LoginSession.token_hash == bindparam("digest"))
            .options(joinedload(User.couple)))


def current_login_session_id(user: User) -> int | None:
    # The user loader already read the session row; look it up only for a user built elsewhere.
    if getattr(user, "login_session_id", None) is not None:
        return user.login_session_id
    return db.session.scalar(
        select(LoginSession.id)
        .where(LoginSession.token_hash == token_digest(user.session_token or ""))
    )


def _end_login_sessions(*conditions) -> list[int]:
    """In the caller's transaction: delete the login sessions matching `conditions` and the
    rows of their open sockets; after commit those sockets are cut in every process.

    The sessions go first: on PostgreSQL the DELETE waits for a socket that is connecting
    with one of them right now (it holds a key-share lock on its session row, see
    couple/sockets.py on_connect), so the sockets read next include it.
    """
    ended = list(db.session.scalars(delete(LoginSession).where(*conditions)
                                    .returning(LoginSession.id)))
    if not ended:
        return ended
    sids = list(db.session.scalars(
        delete(LiveSocket).where(LiveSocket.login_session_id.in_(ended))
        .returning(LiveSocket.sid)))
    if sids:
        realtime.on_commit(lambda: realtime.disconnect(sids))
    return ended


def end_login_session(session: LoginSession | int) -> None:
    """End one login session (a signed-in browser): its cookie signs nobody in any more and
    its open sockets are cut at once, in every process, whatever their client does.

    The one public way to sign a device out (logout, the account page's device list).
    """
    session_id = session if isinstance(session, int) else session.id
    _end_login_sessions(LoginSession.id == session_id)
    db.session.commit()


def end_session(user: User) -> None:
    """Log out this browser: its session row goes, so its cookie no longer signs anyone in."""
    session_id = current_login_session_id(user)
    if session_id is None:
        return
    end_login_session(session_id)


def change_password(user: User, current: str, new: str) -> None:
    """Change the password; every other session and its open sockets end at once."""
    stored, email = user.password_hash, user.email
    _release_connection()
    try:
        _verify(stored, current or "")
    except (VerificationError, InvalidHashError):
        raise InvalidInput("That is not your current password.", "current_password") from None
    check_password_rules(new, email=email, field="new_password")
    fresh = _hash(new)
    keep = current_login_session_id(user)
    user.password_hash = fresh
    others = LoginSession.user_id == user.id
    if keep is not None:
        others = others & (LoginSession.id != keep)
    _end_login_sessions(others)
    db.session.commit()


def sessions_count(user: User) -> int:
    return db.session.scalar(
        select(func.count()).select_from(LoginSession).where(LoginSession.user_id == user.id)
    )


def check_password(user: User, password: str, field: str = "password") -> None:
    """InvalidInput unless `password` is this person's password (re-entry before a big step)."""
    stored = user.password_hash
    _release_connection()
    try:
        _verify(stored, password or "")
    except (VerificationError, InvalidHashError):
        raise InvalidInput("That is not your password.", field) from None


def export_account(user: User) -> dict:
    """Everything of this person's as JSON: private notes included, the partner's never."""
    from .data import export_for

    return export_for(user)


def delete_account(user: User, password: str) -> None:
    """Delete this account for good: unlink first, then every row of theirs; sockets close.

    What happens to shared items is in docs/safety.md ("Unlinking and deleting").
    """
    check_password(user, password)
    if user.couple_id is not None:
        # The same unlink as the button: the partner's open screens learn it at once and the
        # couple room is closed before anything is deleted.
        from ..pairing.operations import unlink

        unlink(user)
    from .data import erase_for

    user_id = user.id
    # Messages not yet sent to this person go with the account (their address is theirs).
    from ..mail import MailOutbox

    db.session.execute(delete(MailOutbox).where(MailOutbox.to_addr == user.email))
    _end_login_sessions(LoginSession.user_id == user_id)
    sids = list(db.session.scalars(
        delete(LiveSocket).where(LiveSocket.user_id == user_id).returning(LiveSocket.sid)))
    erase_for(user)
    realtime.on_commit(lambda: realtime.disconnect(sids))
    db.session.commit()
    db.session.expunge_all()
