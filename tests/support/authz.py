"""The authorization matrix: every HTTP rule and every Socket.IO event, tried as every role.

Each capability declares its cases in its own file(s),
`tests/<capability>/authz_cases_<name>.py`, found by glob; nobody edits anybody else's file. The
suite fails (test_security_authz.py) when a rule in `app.url_map` or a registered socket event has
no case, or a case names something that no longer exists.

## The format of an authz_cases file

    from tests.support.authz import Case, EventCase, LOGIN, SELF, OK, PUBLIC, REFUSED, ERROR

    def seed(world):            # optional: runs once while the world is built (app context on)
        world.ids["commitment"] = make_commitment(world.users["owner"], "...").id

    CASES = [
        Case("/commitments/<int:commitment_id>/mark", "POST",
             params=lambda w: {"commitment_id": w.ids["commitment"]},
             body=lambda w: {"day": "2026-01-01"},
             expect={"anonymous": LOGIN, "loner": 404, "stranger": 404,
                     "partner": 404, "owner": OK}),
    ]
    EVENT_CASES = [
        EventCase("boundaries.update", payload=lambda w: {...},
                  expect={"anonymous": REFUSED, "loner": ERROR, "stranger": ERROR,
                          "partner": OK, "owner": OK}),
    ]

`rule` is the rule string exactly as `app.url_map` shows it, `method` one of its methods.
`world` is tests.support.security_helpers.World: users/clients by role ("owner", "partner",
"stranger", "loner"; also users["stranger_partner"]), `couple_id`, `stranger_couple_id`, the
canaries, and `ids` for what your seed made. The objects under test belong to the *owner*.

Roles: anonymous, loner (linked with nobody), stranger (a member of another couple), partner
(the owner's partner), owner. Every case states all five.

## What each expectation checks (every request, whatever its expectation, is also checked for
the canaries: a role never receives a text it may not see, and no answer is a 500)

HTTP
- LOGIN   anonymous is sent to /login (302), or refused 401; no row changes.
- an int  exactly that status (404 for a foreign id, 400, 405...); no row changes at all.
- SELF    acts on the requester's own data only: any status < 500, and no row that belongs to
          the owner (or, for non-members, to the owner's couple) changes.
- OK      allowed: a status < 400. No row checks (the capability's own tests check the effect).
- PUBLIC  a status < 400 for anyone, and no row changes at all.
Socket events
- REFUSED the role cannot connect at all (anonymous), so cannot send the event.
- ERROR   the ack is {"error": ...} (or the socket is cut); no row changes (open-socket rows
          and the case's `may_create` tables aside) and the owner's and partner's sockets
          receive nothing.
- SELF    any ack; no row of the owner's (or couple's) changes, their sockets receive nothing
          (with `own_events_heard`: nothing but "ev" events whose actor is the role itself).
- OK      allowed; no row checks.
"""
import glob
import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field

LOGIN = "login"
SELF = "self"
OK = "ok"
PUBLIC = "public"
REFUSED = "refused"
ERROR = "error"
ROLES = ("anonymous", "loner", "stranger", "partner", "owner")
HTTP_EXPECTATIONS = {LOGIN, SELF, OK, PUBLIC}
EVENT_EXPECTATIONS = {REFUSED, ERROR, SELF, OK}


def _none(_world):
    return None


def _empty(_world):
    return {}


@dataclass
class Case:
    rule: str
    method: str
    expect: dict
    params: Callable = _empty
    body: Callable = _none
    json: bool = True
    note: str = ""
    source: str = field(default="", compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.rule, self.method.upper())

    def check(self) -> None:
        assert set(self.expect) == set(ROLES), f"{self.key}: give all five roles {ROLES}"
        for role, exp in self.expect.items():
            assert exp in HTTP_EXPECTATIONS or isinstance(exp, int), f"{self.key} {role}: {exp!r}"


@dataclass
class EventCase:
    event: str
    expect: dict
    payload: Callable = _none
    namespace: str = "/"
    note: str = ""
    # Tables where a refused event may still lazily create an empty row of the sender's own
    # (e.g. the sender's couple's document row); every other table must stay unchanged.
    may_create: tuple = ()
    # SELF acting on their own data through a change the couple hears (a partner's own guide
    # progress): the watchers may receive "ev" events whose actor is the role itself, nothing else.
    own_events_heard: bool = False
    source: str = field(default="", compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.event)

    def check(self) -> None:
        assert set(self.expect) == set(ROLES), f"{self.key}: give all five roles {ROLES}"
        for role, exp in self.expect.items():
            assert exp in EVENT_EXPECTATIONS, f"{self.key} {role}: {exp!r}"


TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def case_modules():
    """Every tests/<capability>/authz_cases_*.py, imported, in file-name order."""
    out = []
    paths = glob.glob(os.path.join(TESTS, "*", "authz_cases_*.py"))
    for path in sorted(paths, key=os.path.basename):
        package = os.path.basename(os.path.dirname(path))
        name = os.path.splitext(os.path.basename(path))[0]
        out.append(importlib.import_module(f"tests.{package}.{name}"))
    return out


def all_cases():
    cases, events = [], []
    for module in case_modules():
        short = module.__name__.rsplit(".", 1)[-1]
        for case in getattr(module, "CASES", []):
            case.source = short
            cases.append(case)
        for case in getattr(module, "EVENT_CASES", []):
            case.source = short
            events.append(case)
    return cases, events


def seeders():
    return [m.seed for m in case_modules() if callable(getattr(m, "seed", None))]
