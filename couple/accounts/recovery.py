"""Account recovery and confirmed addresses (issue 13).

- `request_recovery(email)`: the same for every address (the route answers the same words, and
  the work done costs about the same); only a *confirmed* address of an account gets a link.
- `reset_password(token, new)`: a recovery link sets a new password once, within 30 minutes,
  and ends every login session and socket of the account (operations._end_login_sessions, the
  one way sessions end). It never touches the couple: no link, unlink or change.
- `send_confirmation(user)` / `confirm_address(token)`: a new account's address is confirmed by
  a link before recovery may use it; the account works meanwhile.
- `request_email_change(user, password, new)` / the same `confirm_address`: the new address
  is confirmed by a link before it replaces the old one, and the old one is told.
- `signup_attempted(user)`: sign-up with an address that has an account answers like any
  sign-up; the owner gets a note.

Every message is written for someone who may be watched (docs/safety.md "Mail"): no app name,
no partner's name, nothing anyone wrote; just what happened and what to do.
"""
import secrets
from datetime import timedelta

from flask import url_for
from sqlalchemy import select, update

from .. import mail
from ..errors import InvalidInput
from ..extensions import db
from ..models_base import utcnow
from . import operations
from .models import AccountToken, LoginSession, User, token_digest

RECOVERY_MINUTES = 30
CONFIRM_HOURS = 48
PURPOSES = ("recovery", "verify", "change_email")
BAD_LINK = ("This link does not work any more: it was used already, it has expired, or it was "
            "copied incompletely. You can ask for a new one.")


def _new_token(user: User, purpose: str, email: str, lifetime: timedelta) -> str:
    token = secrets.token_urlsafe(32)
    # One live link per purpose: asking again replaces the previous one.
    now = utcnow()
    db.session.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.purpose == purpose,
               AccountToken.used_at.is_(None))
        .values(used_at=now),
        execution_options={"synchronize_session": False})
    db.session.add(AccountToken(user_id=user.id, purpose=purpose, token_hash=token_digest(token),
                                email=email, created_at=now, expires_at=now + lifetime))
    return token


def _find(token: str | None, purposes: tuple[str, ...]) -> AccountToken | None:
    """The open token of one of these purposes, or None (unknown, used, expired, malformed)."""
    if not isinstance(token, str) or not (20 <= len(token) <= 100):
        return None
    row = db.session.scalar(select(AccountToken).where(
        AccountToken.token_hash == token_digest(token), AccountToken.purpose.in_(purposes)))
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    return row


def _use(row: AccountToken) -> bool:
    """Mark the token used; False if another request used it first (single use, also when
    two requests race)."""
    return db.session.execute(
        update(AccountToken)
        .where(AccountToken.id == row.id, AccountToken.used_at.is_(None))
        .values(used_at=utcnow()),
        execution_options={"synchronize_session": False}).rowcount == 1


def _link(endpoint: str, token: str) -> str:
    return url_for(endpoint, token=token, _external=True)


# -- recovery ---------------------------------------------------------------------------

def request_recovery(email: str) -> None:
    """Send a recovery link if `email` is the confirmed address of an account; else nothing.

    The caller answers the same either way. Commits.
    """
    email = operations.normalize_email(email)
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None or user.email_verified_at is None:
        db.session.rollback()
        return
    token = _new_token(user, "recovery", user.email, timedelta(minutes=RECOVERY_MINUTES))
    mail.send(user.email, (
        "Someone asked to set a new password for the account that uses this address.\n\n"
        f"To set one, open this link within {RECOVERY_MINUTES} minutes. It works once:\n"
        f"{_link('accounts.reset_link', token)}\n\n"
        "Setting a new password signs out every device signed in to the account.\n"
        "If you did not ask for this, you can ignore this message: nothing changes."
    ), kind="recovery")
    db.session.commit()


def recovery_open(token: str | None) -> bool:
    ok = _find(token, ("recovery",)) is not None
    db.session.rollback()
    return ok


def reset_password(token: str | None, new_password: str) -> User:
    """Set a new password through a recovery link: once, in time; every session ends."""
    row = _find(token, ("recovery",))
    if row is None:
        db.session.rollback()
        raise InvalidInput(BAD_LINK, "token")
    user = db.session.get(User, row.user_id)
    if user is None or operations.normalize_email(user.email) != row.email:
        db.session.rollback()
        raise InvalidInput(BAD_LINK, "token")
    email, user_id, row_id = user.email, user.id, row.id
    operations.check_password_rules(new_password, email=email, field="new_password")
    db.session.rollback()  # the slow hash holds no connection
    fresh = operations._hash(new_password)
    row = db.session.get(AccountToken, row_id)
    if row is None or not _use(row):
        db.session.rollback()
        raise InvalidInput(BAD_LINK, "token")
    db.session.execute(update(User).where(User.id == user_id)
                       .values(password_hash=fresh, failed_logins=0),
                       execution_options={"synchronize_session": False})
    # Every device of the account is signed out and its open pages cut, as after a password
    # change; here no session is kept (the browser with the link was not signed in).
    operations._end_login_sessions(LoginSession.user_id == user_id)
    db.session.commit()
    return db.session.get(User, user_id)


# -- confirming addresses ---------------------------------------------------------------------

def send_confirmation(user: User) -> None:
    """(Again) send the link that confirms this account's current address. Commits."""
    if user.email_verified_at is not None:
        return
    token = _new_token(user, "verify", user.email, timedelta(hours=CONFIRM_HOURS))
    mail.send(user.email, (
        "Please confirm that this address is yours: open this link and press the button.\n"
        f"{_link('accounts.confirm_link', token)}\n\n"
        "A confirmed address is where a link to set a new password can be sent if you ever "
        "forget yours.\n"
        "If you did not create an account, you can ignore this message."
    ), kind="verify")
    db.session.commit()


def sign_up(email: str, display_name: str, password: str) -> User | None:
    """Sign-up that does not tell who has an account: the new account (its address to be
    confirmed, a link is on its way), or None when the address already had one (its owner
    gets a note). Invalid input raises InvalidInput the same way for both. Commits."""
    from sqlalchemy.exc import IntegrityError

    email = operations.normalize_email(email)
    problem = operations.email_problem(email)
    if problem:
        raise InvalidInput(problem, "email")
    operations.check_display_name(display_name)
    operations.check_password_rules(password, email=email)
    owner = db.session.scalar(select(User).where(User.email == email))
    if owner is None:
        try:
            user = operations.sign_up(email, display_name, password)
        except InvalidInput:
            db.session.rollback()  # taken a moment ago (a double submit, a race)
            owner = db.session.scalar(select(User).where(User.email == email))
        except IntegrityError:  # pragma: no cover  (sign_up turns it into InvalidInput)
            db.session.rollback()
        else:
            send_confirmation(user)
            return user
    if owner is not None:
        db.session.rollback()
        # The hash a new account would cost, so the answer takes about as long.
        operations._hash(password)
        signup_attempted(db.session.get(User, owner.id))
    return None


def signup_attempted(user: User) -> None:
    """Someone tried to use this account's address for an account: tell its owner (no
    details). Commits."""
    mail.send(user.email, (
        "Someone tried to use this address for a new account, but it already has one.\n\n"
        "If it was you, sign in instead. If you forgot your password, use "
        "\"Forgot your password?\" on the sign-in page:\n"
        f"{url_for('accounts.forgot', _external=True)}\n\n"
        "If it was not you, nothing changes and you need to do nothing."
    ), kind="signup_attempt")
    db.session.commit()


def confirm_open(token: str | None) -> str | None:
    """'verify' or 'change_email' for an open confirmation link, else None."""
    row = _find(token, ("verify", "change_email"))
    purpose = row.purpose if row is not None else None
    db.session.rollback()
    return purpose


def confirm_address(token: str | None) -> User:
    """Confirm the address a link was sent to: the account's own, or its new one."""
    row = _find(token, ("verify", "change_email"))
    if row is None:
        db.session.rollback()
        raise InvalidInput(BAD_LINK, "token")
    user = db.session.get(User, row.user_id)
    if user is None:
        db.session.rollback()
        raise InvalidInput(BAD_LINK, "token")
    now = utcnow()
    if row.purpose == "verify":
        if operations.normalize_email(user.email) != row.email or not _use(row):
            db.session.rollback()
            raise InvalidInput(BAD_LINK, "token")
        user.email_verified_at = now
        db.session.commit()
        return user
    # A change of address: the new one replaces the old one now, if nobody took it meanwhile.
    taken = db.session.scalar(select(User.id).where(User.email == row.email, User.id != user.id))
    if taken is not None or not _use(row):
        db.session.rollback()
        raise InvalidInput(BAD_LINK, "token")
    old = user.email
    user.email = row.email
    user.email_verified_at = now
    # Links sent to the old address stop working.
    db.session.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.used_at.is_(None))
        .values(used_at=now),
        execution_options={"synchronize_session": False})
    mail.send(old, (
        "The sign-in address of the account that used this address was changed. This address "
        "no longer receives its messages.\n\n"
        "If you did not do this, someone who knows your password may have done it: "
        "write to the people who run this service."
    ), kind="email_changed")
    db.session.commit()
    return user


def request_email_change(user: User, password: str, new_email: str) -> None:
    """Send a confirmation link to `new_email`; the address changes when it is opened.

    The answer is the same whether or not the new address already has an account (that
    account's owner gets a note instead, as at sign-up). Commits.
    """
    new_email = operations.normalize_email(new_email)
    problem = operations.email_problem(new_email)
    if problem:
        raise InvalidInput(problem, "email")
    if new_email == operations.normalize_email(user.email):
        raise InvalidInput("That is already your address.", "email")
    operations.check_password(user, password, field="password")
    user = db.session.get(User, user.id)
    owner = db.session.scalar(select(User).where(User.email == new_email))
    if owner is not None:
        signup_attempted(owner)
        return
    token = _new_token(user, "change_email", new_email, timedelta(hours=CONFIRM_HOURS))
    mail.send(new_email, (
        "Please confirm that this address is yours: open this link and press the button.\n"
        f"{_link('accounts.confirm_link', token)}\n\n"
        "It becomes the sign-in address of the account that asked for it. "
        "If you did not ask for this, you can ignore this message."
    ), kind="email_change_confirm")
    db.session.commit()
