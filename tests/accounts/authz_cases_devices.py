"""Authorization cases for devices, quick exit and kept drafts (format: tests/support/authz.py).

A device id names a login session: only its owner can end it; anyone else's id is a 404 that
changes nothing. The quick exit acts on the requester's own session and drafts only."""
from tests.support.authz import LOGIN, OK, SELF, Case

SIGNED_IN = {"anonymous": LOGIN, "loner": SELF, "stranger": SELF, "partner": SELF, "owner": OK}


def seed(world):
    """A second device of the owner's (a phone the owner signed in on): the id under test."""
    from couple.accounts.operations import start_session

    owner = world.users["owner"]
    start_session(owner)
    world.ids["owner_device"] = owner.login_session_id or _newest_session(owner.id)


def _newest_session(user_id):
    from sqlalchemy import select

    from couple.accounts.models import LoginSession
    from couple.extensions import db

    return db.session.scalar(select(LoginSession.id).where(LoginSession.user_id == user_id)
                             .order_by(LoginSession.id.desc()))


CASES = [
    # The owner's own device: the owner ends it (signed out); everyone else gets 404.
    Case("/account/devices/<int:device_id>/end", "POST",
         {"anonymous": LOGIN, "loner": 404, "stranger": 404, "partner": 404, "owner": OK},
         json=False, params=lambda w: {"device_id": w.ids["owner_device"]}),
    Case("/account/devices/<int:device_id>/end", "POST",
         {"anonymous": LOGIN, "loner": 404, "stranger": 404, "partner": 404, "owner": 404},
         json=False, params=lambda w: {"device_id": 2**31 - 1}, note="no such device"),
    # An id no row can have is not a route at all (web.BoundedIntConverter): 404 for everyone.
    Case("/account/devices/<int:device_id>/end", "POST",
         {"anonymous": 404, "loner": 404, "stranger": 404, "partner": 404, "owner": 404},
         json=False, params=lambda w: {"device_id": 2**31 + 5}, note="an id out of range"),
    # Anonymous: nothing to end, still 204. Signed in: the requester's own session ends and
    # drafts are kept for the requester only, whatever key or owner the body names.
    Case("/exit", "POST", {"anonymous": SELF, "loner": SELF, "stranger": SELF, "partner": SELF,
                           "owner": OK},
         body=lambda w: {"drafts": {"reflection:rebuilding:1": "kept",
                                    "user_id": w.users["owner"].id}}),
    Case("/drafts/discard", "POST", SIGNED_IN,
         body=lambda w: {"key": "reflection:rebuilding:1", "user_id": w.users["owner"].id}),
]
