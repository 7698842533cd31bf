"""Accounts: sign up, log in, log out, sessions, password, export and deletion.

A capability (couple/capabilities.py): what it brings to the app is named below.
"""


def blueprint():
    from .routes import bp

    return bp


def load_models() -> None:
    from . import models  # noqa: F401


def load_sockets() -> None:
    """None: sessions are cut through couple/sockets.py."""


def state_collections(user) -> dict:
    """None: the person's own name and role are in the couple's info (pairing)."""
    return {}


def export_for(user) -> dict:
    from .data import account_export

    return account_export(user)


def erase_for(user) -> None:
    from .data import account_erase

    account_erase(user)
