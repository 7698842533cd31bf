"""The shared boundaries editor: a Yjs document per couple, co-edited live, agreed by both.

A capability (couple/capabilities.py): what it brings to the app is named below.
"""


def blueprint():
    from .routes import bp

    return bp


def load_models() -> None:
    from . import models  # noqa: F401


def load_sockets() -> None:
    from . import sockets  # noqa: F401


def state_collections(user) -> dict:
    from .operations import state_collections

    return state_collections(user)


def export_for(user) -> dict:
    from .data import export_for

    return export_for(user)


def erase_for(user) -> None:
    from .data import erase_for as erase

    erase(user)
