"""Imports every model, so metadata (create_all, Alembic autogenerate) sees every table."""
import importlib

from .accounts.models import AccountToken, LoginSession, User  # noqa: F401
from .events import AppliedOp, Event, LiveSocket  # noqa: F401
from .guides.drafts import Draft  # noqa: F401
from .guides.models import GuideProgress, Reflection  # noqa: F401
from .mail import MailOutbox  # noqa: F401
from .pairing.models import Couple, Invite  # noqa: F401

for _name in ("boundaries", "commitments"):
    try:
        importlib.import_module(f"couple.{_name}.models")
    except ModuleNotFoundError as exc:
        if exc.name not in (f"couple.{_name}", f"couple.{_name}.models"):
            raise
