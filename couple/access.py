"""Reusable access checks: load something *for this user*, or 404 (never 403, never a hint)."""
from flask_login import current_user

from .errors import NotFound


def current_couple():
    """The signed-in person's active couple; NotFound when they have none."""
    couple = current_user.active_couple if current_user.is_authenticated else None
    if couple is None:
        raise NotFound("Link with your partner first.")
    return couple
