"""Pairing: invitations, linking two people as a couple, unlinking.

A capability (couple/capabilities.py): what it brings to the app is named below.
"""


def blueprint():
    from .routes import bp

    return bp


def load_models() -> None:
    from . import models  # noqa: F401


def load_sockets() -> None:
    """None: linking and unlinking travel as events on the person's own stream."""


def state_collections(user) -> dict:
    from .state import state_collections

    return state_collections(user)


def export_for(user) -> dict:
    from .data import export_for

    return export_for(user)


def erase_for(user) -> None:
    """Nothing beyond the cascades: invitations go with the user row, a couple keeps its row
    (its member ids become NULL) and its event log is deleted with the account's (accounts)."""
