"""Conversations: ask or share, answer openly, and hear each other back (issue 14).

A capability (couple/capabilities.py): what it brings to the app is named below.
"""


def blueprint():
    from .routes import bp

    return bp


def load_models() -> None:
    from . import models  # noqa: F401


def load_sockets() -> None:
    """None: every step is a POST through the one change path; conversations travel as events."""


def state_collections(user) -> dict:
    from .operations import state_collections

    return state_collections(user)


def export_for(user) -> dict:
    """Every conversation of every couple this person was in: their own words and the
    partner's words they were shown."""
    from .operations import export_for

    return {"conversations": export_for(user)}


def erase_for(user) -> None:
    from .operations import erase_for

    erase_for(user)
