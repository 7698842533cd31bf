"""Commitments and follow-through: promises each partner makes, marks, acknowledgements.

A capability (couple/capabilities.py): what it brings to the app is named below.
"""


def blueprint():
    from .routes import bp

    return bp


def load_models() -> None:
    from . import models  # noqa: F401


def load_sockets() -> None:
    """None: commitments travel as events."""


def state_collections(user) -> dict:
    from .state import state_collections

    return state_collections(user)


def export_for(user) -> dict:
    from .data import export_for

    return export_for(user)


def erase_for(user) -> None:
    """Nothing beyond the cascades: a person's commitments (with their marks and history)
    and their acknowledgements go with the user row; the partner's stay theirs."""
