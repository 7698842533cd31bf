"""Guides: each role's steps, a person's progress through them, and their reflections.

A capability (couple/capabilities.py): what it brings to the app is named below.
"""


def blueprint():
    from .routes import bp

    return bp


def load_models() -> None:
    from . import drafts, models  # noqa: F401


def load_sockets() -> None:
    """None: progress and reflections travel as events."""


def state_collections(user) -> dict:
    from .operations import state_collections

    return state_collections(user)


def export_for(user) -> dict:
    from .data import export_for

    return export_for(user)


def erase_for(user) -> None:
    """Nothing beyond the cascades: progress, reflections and drafts go with the user row."""
