"""Pairing operations: invite, accept, decline, revoke, unlink."""
import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from .. import events, realtime
from ..accounts.models import User
from ..errors import InvalidInput, NotFound
from ..events import LiveSocket
from ..extensions import db
from ..models_base import utcnow
from .models import ROLES, Couple, Invite, other_role

INVITE_HOURS = 72
# No 0/O, 1/I/L: a code read aloud or copied from a phone should survive.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10  # 31^10 ≈ 2^49, tried at most a few times a minute per IP and account


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalize_code(code: str) -> str:
    return "".join(c for c in (code or "").upper() if c.isalnum())


def _code_hash(code: str) -> str:
    # Keyed: a short code's plain SHA-256 could be reversed by trying every code offline.
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, normalize_code(code).encode(), hashlib.sha256).hexdigest()


def format_code(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


def open_invite_of(user: User) -> Invite | None:
    now = utcnow()
    invite = db.session.scalar(
        select(Invite)
        .where(Invite.inviter_id == user.id, Invite.used_at.is_(None))
        .where(Invite.declined_at.is_(None), Invite.revoked_at.is_(None))
        .order_by(Invite.id.desc())
    )
    return invite if invite is not None and invite.open_at(now) else None


def create_invite(user: User, role: str) -> tuple[Invite, str, str]:
    """A new invitation; returns (invite, link token, short code). Older open ones are revoked."""
    if role not in ROLES:
        raise InvalidInput("Choose which role you hold.", "role")
    if user.couple_id is not None:
        raise InvalidInput("You are already linked with a partner.")
    token = secrets.token_urlsafe(32)  # 256 bits
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    with events.change(user) as change:
        now = utcnow()
        db.session.execute(
            update(Invite)
            .where(Invite.inviter_id == user.id, Invite.used_at.is_(None),
                   Invite.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        invite = Invite(
            inviter_id=user.id,
            inviter_role=role,
            token_hash=_token_hash(token),
            code_hash=_code_hash(code),
            created_at=now,
            expires_at=now + timedelta(hours=INVITE_HOURS),
        )
        db.session.add(invite)
        change.applied()
    return invite, token, code


def find_open_invite(*, token: str | None = None, code: str | None = None) -> Invite:
    """The open invitation for a link token or a typed code; NotFound for anything else."""
    if token:
        if len(token) > 100:
            raise NotFound("This invitation link is not valid.")
        invite = db.session.scalar(select(Invite).where(Invite.token_hash == _token_hash(token)))
    elif code and len(normalize_code(code)) == CODE_LENGTH:
        invite = db.session.scalar(select(Invite).where(Invite.code_hash == _code_hash(code)))
    else:
        invite = None
    if invite is None or not invite.open_at(utcnow()):
        raise NotFound("This invitation is not valid any more. Ask your partner for a new one.")
    return invite


def _linked_patch(couple: Couple, user: User) -> dict:
    # reload: a new couple changes the whole page (partner, guide, rooms); the client refetches.
    return {"reload": True,
            "set": {"pairing": {"status": {"linked": True, "couple_id": couple.id}}}}


def accept_invite(invite: Invite, user: User) -> Couple:
    """Link the inviter and this user as a couple, each in their role; single use."""
    if invite.inviter_id == user.id:
        raise InvalidInput("This is your own invitation: send it to your partner.")
    if user.couple_id is not None:
        raise InvalidInput("You are already linked with a partner. Unlink first.")
    inviter = invite.inviter
    if inviter.couple_id is not None:
        raise InvalidInput("The person who invited you is already linked with someone.")
    with events.change(user) as change:
        now = utcnow()
        # A conditional UPDATE decides a race between two redemptions: only one sees a row.
        claimed = db.session.execute(
            update(Invite)
            .where(Invite.id == invite.id, Invite.used_at.is_(None))
            .where(Invite.declined_at.is_(None), Invite.revoked_at.is_(None))
            .values(used_at=now),
            execution_options={"synchronize_session": False},
        ).rowcount
        if claimed != 1:
            raise NotFound("This invitation has just been used.")
        roles = {invite.inviter_role: inviter.id, other_role(invite.inviter_role): user.id}
        couple = Couple(rebuilding_id=roles["rebuilding"], supporting_id=roles["supporting"])
        db.session.add(couple)
        db.session.flush()
        linked = db.session.execute(
            update(User)
            .where(User.id.in_([inviter.id, user.id]), User.couple_id.is_(None))
            .values(couple_id=couple.id),
            execution_options={"synchronize_session": False},
        ).rowcount
        if linked != 2:
            # One of the two was linked by another transaction a moment ago.
            raise InvalidInput("One of you was linked with someone else a moment ago.")
        db.session.execute(
            update(Invite).where(Invite.id == invite.id).values(couple_id=couple.id),
            execution_options={"synchronize_session": False},
        )
        # Any other open invitation of either person is void now.
        db.session.execute(
            update(Invite)
            .where(Invite.inviter_id.in_([inviter.id, user.id]), Invite.used_at.is_(None))
            .where(Invite.revoked_at.is_(None))
            .values(revoked_at=now),
            execution_options={"synchronize_session": False},
        )
        for member in (inviter, user):
            change.record(events.user_stream(member.id), "pair.linked",
                          _linked_patch(couple, member))
        change.applied()
    db.session.expire_all()
    return couple


def decline_invite(invite: Invite, user: User) -> None:
    """Say no to an invitation; the inviter's open pages learn it was declined."""
    if invite.inviter_id == user.id:
        raise InvalidInput("This is your own invitation.")
    with events.change(user) as change:
        invite.declined_at = utcnow()
        change.record(events.user_stream(invite.inviter_id), "pair.declined",
                      {"set": {"pairing": {"invite": {"open": False, "declined": True}}}})
        change.applied()


def revoke_invite(user: User) -> None:
    """Withdraw your own open invitation, if any."""
    with events.change(user) as change:
        invite = open_invite_of(user)
        if invite is not None:
            invite.revoked_at = utcnow()
            change.applied()


def unlink(user: User) -> Couple:
    """End the couple, alone and at once: sharing stops on every open screen of both."""
    couple = user.couple
    if couple is None:
        raise InvalidInput("You are not linked with anyone.")
    with events.change(user) as change:
        couple.ended_at = utcnow()
        members = couple.member_ids()
        db.session.execute(
            update(User).where(User.id.in_(members)).values(couple_id=None),
            execution_options={"synchronize_session": False},
        )
        db.session.execute(
            update(LiveSocket).where(LiveSocket.couple_id == couple.id).values(couple_id=None),
            execution_options={"synchronize_session": False},
        )
        room = events.couple_stream(couple.id)
        change.record(room, "pair.unlinked",
                      {"reload": True,
                       "set": {"couple": {"info": {"active": False, "id": couple.id}}}})
        for member_id in members:
            change.record(events.user_stream(member_id), "pair.unlinked",
                          {"reload": True,
                           "set": {"pairing": {"status": {"linked": False, "couple_id": None}}}})
        # After the unlinked event has gone out: nobody stays in the room to hear anything more.
        realtime.on_commit(lambda: realtime.close_room(room))
        change.applied()
    db.session.expire_all()
    return couple
