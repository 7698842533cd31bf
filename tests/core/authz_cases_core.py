"""Authorization cases for the core pages and the socket connection itself (format:
tests/support/authz.py)."""
from tests.support.authz import LOGIN, OK, PUBLIC, REFUSED, SELF, Case, EventCase

MEMBERS_SEE_THEIR_OWN = {"anonymous": LOGIN, "loner": SELF, "stranger": SELF, "partner": SELF,
                         "owner": OK}
EVERYONE = {r: PUBLIC for r in ("anonymous", "loner", "stranger", "partner", "owner")}

CASES = [
    Case("/static/<path:filename>", "GET", EVERYONE, params=lambda w: {"filename": "app.css"}),
    Case("/", "GET", EVERYONE),
    Case("/safety", "GET", EVERYONE),
    Case("/healthz", "GET", EVERYONE),
    Case("/home", "GET", MEMBERS_SEE_THEIR_OWN),
    Case("/api/state", "GET", MEMBERS_SEE_THEIR_OWN),
    Case("/api/now", "GET", MEMBERS_SEE_THEIR_OWN),
    # The Socket.IO path's rule exists so socket events match it (couple._route_socket_events);
    # engine.io answers the path before Flask: without its query, a 400 for anyone.
    Case("/socket.io/", "GET", {r: 400 for r in EVERYONE}),
]

EVENT_CASES = [
    # connect: the server picks the rooms (user:<id>, couple:<id>); a client cannot name one.
    EventCase("connect", {"anonymous": REFUSED, "loner": SELF, "stranger": SELF,
                          "partner": SELF, "owner": OK}),
    EventCase("disconnect", {"anonymous": REFUSED, "loner": SELF, "stranger": SELF,
                             "partner": SELF, "owner": OK}),
    # sync naming the owner's couple: non-members get a reset, never the couple's events.
    EventCase("sync", {"anonymous": REFUSED, "loner": SELF, "stranger": SELF,
                       "partner": OK, "owner": OK},
              payload=lambda w: {"user": 0, "couple": 0, "couple_id": w.couple_id}),
]
