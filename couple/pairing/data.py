"""Pairing's part of a person's data (couple/accounts/data.py): their couples and invitations."""
from sqlalchemy import or_, select

from ..extensions import db
from .models import Couple, Invite


def former_couples(user):
    """Every couple this person has been in, active or ended."""
    return list(db.session.scalars(
        select(Couple).where(or_(Couple.rebuilding_id == user.id, Couple.supporting_id == user.id))
        .order_by(Couple.id)
    ))


def export_for(user) -> dict:
    invites = db.session.scalars(
        select(Invite).where(Invite.inviter_id == user.id).order_by(Invite.id)
    )
    return {
        "couples": [
            {"id": c.id, "your_role": c.role_of(user), "created_at": c.created_at,
             "ended_at": c.ended_at}
            for c in former_couples(user)
        ],
        "invitations": [
            {"your_role": i.inviter_role, "created_at": i.created_at, "expires_at": i.expires_at,
             "used_at": i.used_at, "declined_at": i.declined_at, "revoked_at": i.revoked_at}
            for i in invites
        ],
    }
