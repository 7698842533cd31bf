"""A person, and each signed-in device of theirs (a login session)."""
import hashlib
from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models_base import UTCDateTime, utcnow


def token_digest(token: str) -> str:
    """What is stored for a secret token: its SHA-256, never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


def could_be_session_token(token) -> bool:
    """Whether `token` has the shape of a login-session token the app issues (URL-safe ASCII,
    secrets.token_urlsafe): anything else signs nobody in, without a query."""
    return isinstance(token, str) and 0 < len(token) <= 100 and token.isascii()


class InCouple:
    """A person's place in their couple: one definition for the ORM's User and the signed-in
    snapshot (couple/accounts/signed_in.py). Needs `couple` (None, or a CoupleMembers)."""

    @property
    def active_couple(self):
        """The couple this person is in now, unless it has ended; else None. The one test of
        "linked" that pages, operations and the client state use."""
        couple = self.couple
        return couple if couple is not None and couple.active else None

    @property
    def role(self) -> str | None:
        """'rebuilding' or 'supporting' in the active couple, else None."""
        if self.couple is None:
            return None
        return self.couple.role_of(self)

    @property
    def partner(self):
        if self.couple is None:
            return None
        return self.couple.partner_of(self)


class User(InCouple, UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The active couple, if any: a person is in at most one couple, by construction.
    couple_id: Mapped[int | None] = mapped_column(
        ForeignKey("couples.id", ondelete="SET NULL", use_alter=True), index=True
    )
    # Sequence of this person's private event stream (room "user:<id>").
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    # Wrong passwords typed for this account since its owner last signed in: told to them
    # then, and reset (the lockout guidance's "tell the owner").
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # When the owner opened the confirmation link sent to `email` (None: not confirmed yet;
    # recovery mail goes only to a confirmed address). Cleared when the address changes.
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    couple = relationship("Couple", foreign_keys=[couple_id])

    # Set by the user loader: the login session this request is signed in with (not columns).
    session_token = None
    login_session_id = None

    def get_id(self):
        # Flask-Login keeps this in the session and the remember cookie: it names one login
        # session row, so logging out deletes that row and a replayed cookie signs nobody in.
        return self.session_token


class LoginSession(db.Model):
    """One signed-in browser; deleting the row signs that browser out everywhere it is used."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    remember: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # What the account page shows to the person themselves (couple/accounts/devices.py): a
    # rough label from a fixed vocabulary ("Firefox on Android"), never the raw User-Agent, and
    # the day it was last used (a day, not a time; never an address or a place).
    device: Mapped[str | None] = mapped_column(String(60))
    last_used_on: Mapped[date | None] = mapped_column(Date)

    user = relationship(User)


class AccountToken(db.Model):
    """A single-use link sent by mail: recovery (30 minutes), confirming an address.

    Stored as its SHA-256 like invitations, never the token itself. `email` is the address the
    link was sent to: a confirmation counts only for that address (an address changed since
    makes the link useless), and for a change of address it is the new one.
    """

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))  # recovery | verify | change_email
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
