"""Imports every model, so metadata (create_all, Alembic autogenerate) sees every table."""
from .capabilities import CAPABILITIES
from .events import AppliedOp, Event, LiveSocket  # noqa: F401
from .mail import MailOutbox  # noqa: F401

for _capability in CAPABILITIES:
    _capability.load_models()
