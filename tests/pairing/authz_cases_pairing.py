"""Authorization cases for pairing (format: tests/support/authz.py). Invitations are named only
by their secret token or code; a guessed or foreign one is a 404 for everyone."""
from tests.support.authz import LOGIN, OK, SELF, Case

SIGNED_IN = {"anonymous": LOGIN, "loner": SELF, "stranger": SELF, "partner": SELF, "owner": OK}
NO_SUCH_INVITE = {"anonymous": LOGIN, "loner": 404, "stranger": 404, "partner": 404, "owner": 404}
BAD_TOKEN = "x" * 43


def seed(world):
    """Blake (the stranger's partner) is linked: an invitation of Lee's is the only open one."""
    from couple.pairing.operations import create_invite

    _invite, token, code = create_invite(world.users["loner"], "supporting")
    world.ids["loner_invite_token"] = token


CASES = [
    Case("/pair", "GET", SIGNED_IN),
    Case("/pair/invite", "POST", {"anonymous": LOGIN, "loner": SELF, "stranger": 400,
                                  "partner": 400, "owner": 400},
         body=lambda w: {"role": "rebuilding"}, note="linked people cannot invite"),
    Case("/pair/revoke", "POST", SIGNED_IN),
    Case("/pair/join/<token>", "GET", NO_SUCH_INVITE, params=lambda w: {"token": BAD_TOKEN}),
    Case("/pair/code", "POST", SIGNED_IN, body=lambda w: {"code": "ABCDE-23456"}, json=False),
    Case("/pair/accept", "POST", NO_SUCH_INVITE, body=lambda w: {"token": BAD_TOKEN}),
    Case("/pair/decline", "POST", NO_SUCH_INVITE, body=lambda w: {"token": BAD_TOKEN}),
    Case("/pair/unlink", "GET", SIGNED_IN),
    # The partner may unlink alone (safety.md 1): it is their couple too.
    Case("/pair/unlink", "POST", {"anonymous": LOGIN, "loner": 400, "stranger": SELF,
                                  "partner": OK, "owner": OK},
         body=lambda w: {"confirm": "yes"}),
]
