"""Fixtures: the app, an HTTP client that speaks CSRF, user and couple factories, sockets.

Conventions (flaskr / indico): `app`, `client`, factories that return a callable
(`make_user`, `make_couple`), `login(client, user)`, `socket_for(client)`.
"""
import contextvars
import itertools
import os
import re
import shutil
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from couple import create_app
from couple.extensions import db, socketio

# Fixtures shared by modules of several folders (tests/support/deployments.py: `deployment`).
pytest_plugins = ["tests.support.deployments", "tests.support.socket_origins"]

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
_counter = itertools.count(1)

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


# Figures the benchmarks inside tests measure, printed after the run. A file, because under
# pytest-xdist they are measured in a worker and the run's summary is printed by the controller.
SUMMARY_FILE = Path(__file__).resolve().parent.parent / "test-artifacts" / "summary.txt"


def add_to_summary(block: str) -> None:
    SUMMARY_FILE.parent.mkdir(parents=True, exist_ok=True)
    with open(SUMMARY_FILE, "a") as f:
        f.write(block.rstrip("\n") + "\n")


def pytest_sessionstart(session):
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        SUMMARY_FILE.unlink(missing_ok=True)


def pytest_terminal_summary(terminalreporter):
    if not os.environ.get("PYTEST_XDIST_WORKER") and SUMMARY_FILE.exists():
        for line in SUMMARY_FILE.read_text().splitlines():
            terminalreporter.write_line(line)


# Under pytest-xdist (make test), tests that must share one worker process: each prefix of a
# node id names its group, and a group goes to one worker whole, in collection order.
#  - e2e: one Chromium and one set of e2e servers, and the session fixtures that write
#    bench/results (the browser latency log) see every sample rather than half of them;
#  - the fuzz and matrix summaries (test_fuzz_run_size, test_matrix_size) count what the
#    other tests of their modules did in their process.
# Every other test is its own unit, balanced between the workers.
ONE_WORKER = (
    ("tests/e2e/", "e2e"),
    ("tests/security/test_fuzz_frames.py", "fuzz"),
    ("tests/security/test_security_fuzz.py", "fuzz"),
    ("tests/security/test_security_authz.py", "authz-matrix"),
)


def pytest_xdist_make_scheduler(config, log):
    # (pytest-xdist 3.8's own --dist loadgroup does not group here: its node-id suffix is
    # not applied under pytest 9, so the grouping is this scheduler's.)
    from xdist.scheduler import LoadScopeScheduling

    class OneWorkerGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            for prefix, group in ONE_WORKER:
                if nodeid.startswith(prefix):
                    return group
            return nodeid

    return OneWorkerGroups(config, log)


def need(condition: bool, why: str):
    """Skip loudly on a developer machine without a service; in CI a missing service fails."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI must have this: {why}")
    pytest.skip(f"not available here: {why}")


class CsrfClient(FlaskClient):
    """A test client that sends the page's CSRF token with every state-changing request,
    as the real forms and fetch calls do (CSRF stays on in tests)."""

    def csrf_token(self) -> str:
        page = self._isolated(super().open, "/safety", method="GET")
        match = _CSRF.search(page.get_data(as_text=True))
        assert match, "no csrf meta tag on the page"
        return match.group(1)

    def open(self, *args, **kwargs):
        method = (kwargs.get("method") or "GET").upper()
        csrf = kwargs.pop("csrf", True)
        if csrf and method in {"POST", "PUT", "PATCH", "DELETE"}:
            headers = dict(kwargs.pop("headers", None) or {})
            if "X-CSRFToken" not in headers:  # (setdefault would fetch a page regardless)
                headers["X-CSRFToken"] = self.csrf_token()
            kwargs["headers"] = headers
        return self._isolated(super().open, *args, **kwargs)

    @staticmethod
    def _isolated(fn, *args, **kwargs):
        # Each request runs as in production: its own app context, its own g (Flask-Login's
        # cached user) and its own database session, even while the test holds a context.
        return contextvars.Context().run(fn, *args, **kwargs)


class IsolatedSocket:
    """A Socket.IO test client whose handler calls run in a fresh context (see CsrfClient)."""

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        attr = getattr(self._inner, name)
        if name in {"connect", "disconnect", "emit", "send"}:
            return lambda *a, **k: contextvars.Context().run(attr, *a, **k)
        return attr


def app_config(tmp_path, **overrides) -> dict:
    config = {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'test.sqlite3'}",
        "SECRET_KEY": "tests-only-" + "x" * 32,
        "SOCKETIO_ASYNC_MODE": "threading",
        "AUTO_MIGRATE": False,
        "REDIS_URL": None,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SERVER_NAME": "couple.test",
        # Messages are handed to the backend right after the commit, in the request's thread
        # (tests/core/test_mail.py also covers the background path the server uses).
        "MAIL_SYNC": True,
        # argon2 at its cheapest in-process (couple/accounts/operations.py: hasher); the
        # servers tests start, and test_password_hashing.py, use the production cost.
        "PASSWORD_HASHER": "cheapest-for-tests",
    }
    config.update(overrides)
    return config


@pytest.fixture
def app_factory(tmp_path):
    """Build an app with overrides; tables are created from the models (migrations have
    their own test in test_migrations.py)."""
    made = []

    def factory(**overrides):
        app = create_app(app_config(tmp_path, **overrides))
        app.test_client_class = CsrfClient
        with app.app_context():
            db.create_all()
        made.append(app)
        return app

    yield factory
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(app_factory):
    app = app_factory()
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(app):
    from couple.accounts.operations import sign_up

    def factory(name: str | None = None, email: str | None = None, password: str = PASSWORD):
        n = next(_counter)
        name = name or f"Person {n}"
        email = email or f"person{n}@example.com"
        return sign_up(email, name, password)

    return factory


@pytest.fixture
def make_couple(app, make_user):
    """Returns (rebuilding, supporting), linked through the real invite operations."""
    from couple.pairing.operations import accept_invite, create_invite

    def factory(rebuilding=None, supporting=None):
        rebuilding = rebuilding or make_user(name="Riley")
        supporting = supporting or make_user(name="Sam")
        invite, _token, _code = create_invite(rebuilding, "rebuilding")
        accept_invite(invite, supporting)
        db.session.expire_all()
        return rebuilding, supporting

    return factory


def login(client, user, password: str = PASSWORD, remember: bool = False):
    response = client.post(
        "/login",
        data={"email": user.email, "password": password, **({"remember": "y"} if remember else {})},
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def login_as(app):
    """login_as(user) -> a new HTTP client signed in as that user."""

    def factory(user, **kwargs):
        c = app.test_client()
        login(c, user, **kwargs)
        return c

    return factory


@pytest.fixture
def socket_for(app):
    """socket_for(client) -> a Socket.IO test client carrying that client's login session."""
    made = []

    def factory(http_client, **kwargs):
        sock = IsolatedSocket(contextvars.Context().run(
            socketio.test_client, app, flask_test_client=http_client, **kwargs))
        made.append(sock)
        return sock

    yield factory
    for sock in made:
        if sock.is_connected():
            sock.disconnect()


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 (tests/support/mail_helpers.py); pass .url as SMTP_URL."""
    from tests.support.mail_helpers import SmtpSink

    sink = SmtpSink().start()
    yield sink
    sink.stop()


def events_named(received: list, name: str = "ev") -> list:
    return [packet["args"][0] for packet in received if packet["name"] == name]


def chromium_path() -> str | None:
    return (os.environ.get("COUPLE_CHROMIUM") or shutil.which("chromium")
            or shutil.which("chromium-browser"))


POSTGRES_URL = os.environ.get("COUPLE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("COUPLE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _postgres_admin():
    import psycopg

    try:
        return psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        return None


@pytest.fixture
def postgres_url():
    """A fresh, empty PostgreSQL database for this test (dropped afterwards), so test runs and
    parallel suites never see each other's rows."""
    admin = _postgres_admin()
    need(admin is not None, f"PostgreSQL at {POSTGRES_URL}")
    name = f"couple_t_{os.getpid()}_{next(_counter)}_{os.urandom(3).hex()}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    admin = _postgres_admin()
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_couple(app_factory, postgres_url):
    """An app on a fresh PostgreSQL database with one linked couple: (app, (riley_id, sam_id)).
    The race tests send overlapping requests to it from threads."""
    from couple.accounts.operations import sign_up
    from couple.pairing.operations import accept_invite, create_invite

    app = app_factory(SQLALCHEMY_DATABASE_URI=postgres_url)
    with app.app_context():
        tag = os.urandom(3).hex()
        riley = sign_up(f"riley-{tag}@example.com", "Riley", PASSWORD)
        sam = sign_up(f"sam-{tag}@example.com", "Sam", PASSWORD)
        invite, _t, _c = create_invite(riley, "rebuilding")
        accept_invite(invite, sam)
        ids = (riley.id, sam.id)
        db.session.remove()
    return app, ids


@pytest.fixture
def redis_url():
    """The Redis server, with a channel name of this test's own (COUPLE_REDIS_CHANNEL)."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        ok = True
    except redis.exceptions.RedisError:
        ok = False
    need(ok, f"Redis at {REDIS_URL}")
    return REDIS_URL


@pytest.fixture
def unique_channel():
    return f"couple-test-{os.getpid()}-{os.urandom(4).hex()}"


# ---- two real processes over PostgreSQL + Redis (realtime/, conversations/) -------------------

@pytest.fixture
def two_processes(tmp_path, postgres_url, redis_url, unique_channel):
    """Two `python app.py` processes on two ports over one database and one Redis channel."""
    from tests.support.scaleout_helpers import migrate, shared_env
    from tests.support.servers import start_server

    migrate(postgres_url)
    env = shared_env(postgres_url, redis_url, unique_channel)
    servers = []
    try:
        servers.append(start_server(tmp_path, env=env, name="p1"))
        servers.append(start_server(tmp_path, env=env, name="p2"))
        yield servers
    finally:
        for s in servers:
            s.stop()


@pytest.fixture
def couple_across(two_processes):
    """A linked couple: A (rebuilding) signed in on process 1, B (supporting) on process 2, each
    with a live socket."""
    from tests.support.scaleout_helpers import LiveClient
    from tests.support.servers import link_couple, signup

    p1, p2 = two_processes
    a = signup(p1.url, "Riley", "riley@example.com")
    b = signup(p2.url, "Sam", "sam@example.com")
    couple_id = link_couple(p1.url, a, b)
    clients = []
    live_a = LiveClient(p1.url, a)
    clients.append(live_a)
    live_b = LiveClient(p2.url, b)
    clients.append(live_b)
    try:
        yield {"p1": p1, "p2": p2, "a": a, "b": b, "couple_id": couple_id,
               "live_a": live_a, "live_b": live_b}
    finally:
        for c in clients:
            c.close()
