"""The authorization matrix (security.md A.1-A.7, safety.md): every rule in app.url_map and every
registered Socket.IO event, as anonymous / loner / stranger / partner / owner, declared per
capability in tests/<capability>/authz_cases_*.py (format and expectations:
tests/support/authz.py).

One world is built per module and restored from a copy of its SQLite file before every request,
so each (rule, role) starts from the same rows without paying for password hashing again.
"""
import sqlite3
from urllib.parse import urlsplit

import pytest
from flask import url_for
from sqlalchemy import inspect, text

from couple import create_app
from couple.events import couple_stream, user_stream
from couple.extensions import db, socketio
from tests.support import authz
from tests.support.authz import ERROR, LOGIN, OK, PUBLIC, REFUSED, ROLES, SELF
from tests.conftest import CsrfClient, app_config
from tests.support.security_helpers import (
    build_world,
    client_with_cookies,
    cookies_of,
    diff,
    selected,
    snapshot,
)

CASES, EVENT_CASES = authz.all_cases()

# Floors (test_matrix_size): the matrix is at least this big, its size on 2026-12-01. A
# capability's cases left out of authz.all_cases(), a role dropped or a parametrization that
# filters cases out fails there instead of quietly testing less. Raise them as the app grows.
FLOOR_ROUTES = 47      # (rule, method) pairs in app.url_map
FLOOR_HTTP_CASES = 52  # declared HTTP cases (a rule may have several: one per step kind...)
FLOOR_EVENTS = 9       # registered Socket.IO events, connect and disconnect included
FIVE_ROLES = {"anonymous", "loner", "stranger", "partner", "owner"}
RAN = {"http": set(), "socket": set()}  # ids of the matrix tests that ran to their end here


class Matrix:
    def __init__(self, app, world, db_path, template):
        self.app, self.world, self.db_path, self.template = app, world, db_path, template
        self.jars = {role: cookies_of(c) for role, c in world.clients.items()}

    def restore(self):
        """Put every row back as the world was built; give each role its original cookies."""
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()
        src, dst = sqlite3.connect(self.template), sqlite3.connect(self.db_path)
        with dst:
            src.backup(dst)
        src.close()
        dst.close()
        for role, jar in self.jars.items():
            self.world.clients[role] = client_with_cookies(self.app, jar)

    def snapshot(self, **kwargs):
        with self.app.app_context():
            return snapshot(**kwargs)

    def protected(self, role):
        with self.app.app_context():
            return protected_rows(self.world, role)


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("authz")
    app = create_app(app_config(tmp, RATELIMIT_ENABLED=False))
    app.test_client_class = CsrfClient
    ctx = app.app_context()
    ctx.push()
    db.create_all()
    world = build_world(app, authz.seeders())
    db.session.remove()
    db.engine.dispose()
    db_path = str(tmp / "test.sqlite3")
    template = str(tmp / "template.sqlite3")
    src, dst = sqlite3.connect(db_path), sqlite3.connect(template)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    db.session.remove()
    # No app context stays pushed while requests run: each request and socket event gets its
    # own, as in production (a shared one would share flask.g, and so Flask-Login's user).
    ctx.pop()
    yield Matrix(app, world, db_path, template)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


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


def _all_rows():
    db.session.remove()
    out = {}
    insp = inspect(db.engine)
    with db.engine.connect() as conn:
        for table in insp.get_table_names():
            out[table] = [dict(r) for r in conn.execute(text(f'SELECT * FROM "{table}"')).mappings()]
    return out, insp


def protected_rows(world, role) -> dict:
    """The rows `role` must not change: the owner's (for non-members also the couple's and the
    partner's), and every row that reaches those through foreign keys."""
    owner, partner = world.users["owner"].id, world.users["partner"].id
    if role == "partner":
        users, couples, skip = {owner}, set(), {"couples"}
    else:
        users, couples, skip = {owner, partner}, {world.couple_id}, set()
    rows, insp = _all_rows()
    pks = {t: (insp.get_pk_constraint(t)["constrained_columns"] or []) for t in rows}
    fks = {t: insp.get_foreign_keys(t) for t in rows}
    owned = {t: set() for t in rows}
    owned["users"] = set(users)
    owned.setdefault("couples", set()).update(couples)

    def pk(table, row):
        cols = pks[table]
        return tuple(row[c] for c in cols) if len(cols) != 1 else row[cols[0]]

    changed = True
    while changed:
        changed = False
        for table, table_rows in rows.items():
            if table in skip:
                continue
            for fk in fks[table]:
                ref = fk["referred_table"]
                if not owned.get(ref) or len(fk["constrained_columns"]) != 1:
                    continue
                col = fk["constrained_columns"][0]
                for row in table_rows:
                    if row[col] in owned[ref] and pk(table, row) not in owned[table]:
                        owned[table].add(pk(table, row))
                        changed = True
    streams = {user_stream(u) for u in users} | {couple_stream(c) for c in couples}
    out = {}
    for table, table_rows in rows.items():
        keep = [r for r in table_rows if pk(table, r) in owned[table]]
        if table == "events":
            keep = [r for r in table_rows if r["stream"] in streams or r["actor_id"] in users]
        out[table] = sorted(repr(sorted(r.items())) for r in keep)
    return out


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


def _url(app, case, world):
    matches = [r for r in app.url_map.iter_rules() if r.rule == case.rule and case.method in r.methods]
    assert matches, f"no rule {case.key}"
    with app.test_request_context():
        return url_for(matches[0].endpoint, **case.params(world))


# ---- HTTP --------------------------------------------------------------------------------------

HTTP_PARAMS = [pytest.param(case, role, id=f"{case.method} {case.rule} {case.note} as {role}")
               for case in CASES for role in ROLES]


@pytest.mark.parametrize(("case", "role"), HTTP_PARAMS)
def test_route_as_role(matrix, case, role, request):
    matrix.restore()
    world, app = matrix.world, matrix.app
    expect = case.expect[role]
    client = world.client(role)
    path = _url(app, case, world)
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


EVENT_PARAMS = [pytest.param(case, role, id=f"{case.event} as {role}")
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
            ack = actor.emit(case.event, case.payload(world), callback=True, namespace=case.namespace)
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
            assert diff(before_mine, matrix.protected(role)) == {}
            for w in watchers:
                assert w.get_received() == [], "the owner's or partner's socket heard something"
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
