"""Guides' part of a person's data (couple/accounts/data.py): their progress and reflections."""
from sqlalchemy import select

from ..extensions import db
from .models import GuideProgress, Reflection


def export_for(user) -> dict:
    progress = db.session.scalars(
        select(GuideProgress).where(GuideProgress.user_id == user.id)
        .order_by(GuideProgress.guide, GuideProgress.step)
    )
    reflections = db.session.scalars(
        select(Reflection).where(Reflection.user_id == user.id)
        .order_by(Reflection.guide, Reflection.step)
    )
    return {
        "guides": {
            "progress": [
                {"guide": p.guide, "step": p.step, "state": p.state, "updated_at": p.updated_at}
                for p in progress
            ],
            # Yours, private ones included: `shared_with_couple` names the couple it is shared with.
            "reflections": [
                {"guide": r.guide, "step": r.step, "text": r.text,
                 "shared_with_couple": r.shared_couple_id, "updated_at": r.updated_at}
                for r in reflections
            ],
        },
    }
