"""The authorization matrix (security.md A.1-A.7, safety.md): every rule in app.url_map and every
registered Socket.IO event, as anonymous / loner / stranger / partner / owner, declared per
capability in tests/<capability>/authz_cases_*.py (format and expectations:
tests/support/authz.py).

One world is built per module and restored from a copy of its SQLite file before every request,
so each (rule, role) starts from the same rows without paying for password hashing again.
"""
from urllib.parse import urlsplit

import pytest

from couple.events import couple_stream, user_stream
from couple.extensions import socketio
from tests.security.matrix import CASES, EVENT_CASES, case_url
from tests.support.authz import ERROR, LOGIN, OK, PUBLIC, REFUSED, ROLES, SELF
from tests.support.security_helpers import diff, selected

# Floors (test_matrix_size): the matrix is at least this big, its size on 2026-12-01. A
# capability's cases left out of authz.all_cases(), a role dropped or a parametrization that
# filters cases out fails there instead of quietly testing less. Raise them as the app grows.
FLOOR_ROUTES = 47      # (rule, method) pairs in app.url_map
FLOOR_HTTP_CASES = 52  # declared HTTP cases (a rule may have several: one per step kind...)
FLOOR_EVENTS = 9       # registered Socket.IO events, connect and disconnect included
FIVE_ROLES = {"anonymous", "loner", "stranger", "partner", "owner"}
RAN = {"http": set(), "socket": set()}  # ids of the matrix tests that ran to their end here


# ---- the coverage gate -------------------------------------------------------------------------

def _rules(app):
    out = set()
    for rule in app.url_map.iter_rules():
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            out.add((rule.rule, method))
    return out


def _events():
    return {(ns, event) for ns, handlers in socketio.server.handlers.items() for event in handlers}


def test_every_route_and_socket_event_has_an_authorization_case(matrix):
    """Zulip's "Some URLs are untested!": a new route or event without a case fails here."""
    declared = [c.key for c in CASES]
    routes = _rules(matrix.app)
    missing = sorted(routes - {c.key for c in CASES if c.note != "no such step"})
    stale = sorted(set(declared) - routes)
    assert not missing, (
        "routes without an authorization case (add them to "
        "tests/<capability>/authz_cases_<name>.py, "
        f"format in tests/support/authz.py): {missing}")
    assert not stale, f"cases for routes that do not exist: {stale}"
    events = _events()
    missing_events = sorted(events - {c.key for c in EVENT_CASES})
    stale_events = sorted({c.key for c in EVENT_CASES} - events)
    assert not missing_events, (
        f"socket events without an authorization case (tests/support/authz.py): {missing_events}")
    assert not stale_events, f"cases for socket events that do not exist: {stale_events}"
    for case in CASES + EVENT_CASES:
        case.check()


# ---- what each role may see and touch ----------------------------------------------------------

def forbidden_texts(world, role) -> list[str]:
    """What this role must never receive: private notes of others; non-members, the shared ones."""
    if role == "owner":
        return [world.partner_canary]
    if role == "partner":
        return [world.canary]
    return [world.canary, world.partner_canary, world.shared_text]


def _counted_failure(before: dict, after: dict) -> tuple[dict, dict]:
    """The snapshots without users.failed_logins, once it is checked that it rose by one."""
    import re

    pattern = re.compile(r"\('failed_logins', (\d+)\)")
    total = {name: sum(int(n) for row in snap.get("users", []) for n in pattern.findall(row))
             for name, snap in (("before", before), ("after", after))}
    assert total["after"] == total["before"] + 1, total
    scrub = lambda snap: {t: sorted(pattern.sub("('failed_logins', _)", r) for r in rows)  # noqa: E731
                          for t, rows in snap.items()}
    return scrub(before), scrub(after)


# ---- HTTP --------------------------------------------------------------------------------------

HTTP_PARAMS = [pytest.param(case, role, id=f"{case.method} {case.rule} {case.note} as {role}")
               for case in CASES for role in ROLES]


@pytest.mark.parametrize(("case", "role"), HTTP_PARAMS)
def test_route_as_role(matrix, case, role, request):
    matrix.restore()
    world, app = matrix.world, matrix.app
    expect = case.expect[role]
    client = world.client(role)
    path = case_url(app, case, world)
    body = case.body(world)
    kwargs = {}
    if body is not None:
        if case.json:
            kwargs["json"] = body
            kwargs["headers"] = {"Accept": "application/json"}
        else:
            kwargs["data"] = body
    before_all, before_mine = matrix.snapshot(), matrix.protected(role)
    response = client.open(path, method=case.method, **kwargs)
    status = response.status_code
    page = response.get_data(as_text=True)
    response.close()  # a static file is streamed from an open file
    assert status < 500, page[:500]
    for secret in forbidden_texts(world, role):
        assert secret not in page, f"{role} received a private text"
        assert secret not in str(response.headers)
    after_all = matrix.snapshot()
    if role != "anonymous" and case.method == "GET" and status in (301, 302, 303):
        assert urlsplit(response.headers["Location"]).path != "/login", "the role was not signed in"
    if expect == LOGIN:
        assert status in (302, 401), status
        if status == 302:
            assert urlsplit(response.headers["Location"]).path == "/login"
        assert diff(before_all, after_all) == {}
    elif isinstance(expect, int):
        assert status == expect, page[:300]
        if case.rule == "/login":
            # The one row a refused login writes: the count of wrong passwords for the
            # account, told to its owner at their next sign-in (OWASP "tell the owner").
            before_all, after_all = _counted_failure(before_all, after_all)
        assert diff(before_all, after_all) == {}
    elif expect == PUBLIC:
        assert status < 400
        assert diff(before_all, after_all) == {}
    elif expect == SELF:
        assert diff(before_mine, matrix.protected(role)) == {}, "changed someone else's rows"
    elif expect == OK:
        assert status < 400, page[:300]
    else:  # pragma: no cover
        pytest.fail(f"unknown expectation {expect!r}")
    RAN["http"].add(request.node.callspec.id)  # it ran to its end (test_matrix_size counts)


# ---- Socket.IO ---------------------------------------------------------------------------------

def _sid(sock):
    return socketio.server.manager.sid_from_eio_sid(sock.eio_sid, "/")


def _rooms(sock):
    return set(socketio.server.manager.get_rooms(_sid(sock), "/")) - {_sid(sock)}


def _connect(app, client):
    return socketio.test_client(app, flask_test_client=client)


EVENT_PARAMS = [pytest.param(case, role,
                             id=" ".join(filter(None, (case.event, case.note, "as", role))))
                for case in EVENT_CASES for role in ROLES]


@pytest.mark.parametrize(("case", "role"), EVENT_PARAMS)
def test_socket_event_as_role(matrix, case, role, request):
    matrix.restore()
    world, app = matrix.world, matrix.app
    expect = case.expect[role]
    if role == "anonymous":
        assert expect == REFUSED
        sock = _connect(app, app.test_client())
        assert not sock.is_connected(), "an anonymous socket was accepted"
        RAN["socket"].add(request.node.callspec.id)
        return
    victims = {"loner": ["owner", "partner"], "stranger": ["owner", "partner"],
               "partner": ["owner"], "owner": []}[role]
    watchers = [_connect(app, world.client(v)) for v in victims]
    sockets = list(watchers)
    try:
        before_all = matrix.snapshot(ignore=("live_sockets",))
        before_mine = matrix.protected(role)
        actor = _connect(app, world.client(role))
        sockets.append(actor)
        assert actor.is_connected()
        user = world.users[role]
        own_rooms = {user_stream(user.id)} | (
            {couple_stream(user.couple_id)} if user.couple_id else set())
        # the server chose the rooms; nothing the client sent can add one.
        assert _rooms(actor) <= own_rooms
        ack = None
        if case.event == "disconnect":
            actor.disconnect()
        elif case.event != "connect":
            ack = actor.emit(case.event, case.payload(world), callback=True,
                             namespace=case.namespace)
        received = actor.get_received() if actor.is_connected() else []
        for secret in forbidden_texts(world, role):
            assert secret not in repr(ack), f"{role} got a private text in the ack"
            assert secret not in repr(received), f"{role} got a private text in a packet"
        if expect == ERROR:
            assert (isinstance(ack, dict) and "error" in ack) or not actor.is_connected(), ack
            changes = diff(before_all, matrix.snapshot(ignore=("live_sockets",)))
            for table in case.may_create:
                if table in changes and not changes[table]["gone"]:
                    del changes[table]
            assert changes == {}
        if expect in (ERROR, SELF):
            mine = diff(before_mine, matrix.protected(role))
            mine.pop("live_sockets", None)  # the actor's own connection, made after `before`
            assert mine == {}
            for w in watchers:
                heard = w.get_received()
                if expect == SELF and case.own_events_heard:
                    heard = [p for p in heard if not (
                        p["name"] == "ev" and p["args"][0].get("actor") == user.id)]
                assert heard == [], "the owner's or partner's socket heard something"
        if expect == SELF and actor.is_connected():
            assert _rooms(actor) <= own_rooms
        RAN["socket"].add(request.node.callspec.id)
    finally:
        for s in sockets:
            if s.is_connected():
                s.disconnect()


# ---- the size, last: after the matrix has run ------------------------------------------------

def test_matrix_size(matrix, request):
    """The matrix reaches its floors: every route and event x the five roles is declared, and
    every (case, role) this session selected has run to its end (a skipped or failed one
    counts as not run). The numbers are printed with -s."""
    routes, events = _rules(matrix.app), _events()
    print(f"\nauthz matrix: {len(routes)} routes x {len(ROLES)} roles = "
          f"{len(routes) * len(ROLES)}; {len(CASES)} HTTP cases x {len(ROLES)} = "
          f"{len(HTTP_PARAMS)} requests; "
          f"{len(events)} events x {len(ROLES)} roles = {len(EVENT_PARAMS)}; run here: "
          f"{len(RAN['http'])} requests, {len(RAN['socket'])} socket cases")
    assert set(ROLES) == FIVE_ROLES, ROLES
    assert len(routes) >= FLOOR_ROUTES, f"{len(routes)} routes, fewer than the floor {FLOOR_ROUTES}"
    assert len(CASES) >= FLOOR_HTTP_CASES, f"{len(CASES)} HTTP cases < {FLOOR_HTTP_CASES}"
    assert len(events) >= FLOOR_EVENTS, f"{len(events)} socket events < {FLOOR_EVENTS}"
    # Every route and every event is in the parametrization as every role.
    http = {(p.values[0].key, p.values[1]) for p in HTTP_PARAMS}
    assert {(r, role) for r in routes for role in ROLES} <= http
    assert len(HTTP_PARAMS) >= FLOOR_HTTP_CASES * len(FIVE_ROLES)
    socket_events = {(p.values[0].key, p.values[1]) for p in EVENT_PARAMS}
    assert {(e, role) for e in events for role in ROLES} <= socket_events
    assert len(EVENT_PARAMS) >= FLOOR_EVENTS * len(FIVE_ROLES)
    # What this session selected has run (before this, in file order); a full run: all of it.
    for test, kind in ((test_route_as_role, "http"), (test_socket_event_as_role, "socket")):
        not_run = {item.callspec.id for item in selected(request, test)} - RAN[kind]
        assert not not_run, f"selected but not run: {sorted(not_run)[:5]}"
