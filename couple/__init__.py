"""couple: two partners rebuilding trust, live.

`create_app(config)` builds the Flask app, binds the extensions, registers the blueprints and
the Socket.IO handlers. Run it with `python app.py` (see the README).
"""
import logging
import os
import sqlite3
from pathlib import Path

from flask import Flask, abort, request
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine

from . import config as config_module
from .extensions import csrf, db, limiter, login_manager, migrate, socketio
from .pg_cursor import use_lazy_description

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@sa_event.listens_for(Engine, "connect")
def _on_connect(dbapi_connection, _record):
    use_lazy_description(dbapi_connection)
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        # WAL lets pages read while a write commits; FULL makes an acknowledged commit survive
        # a crash or power cut (NORMAL may lose the last transactions in WAL mode).
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


SQLITE_AT_LEAST = (3, 35, 0)


def _check_sqlite_version() -> None:
    """The embedded default needs SQLite 3.35 or newer: changes take their sequence number with
    UPDATE ... RETURNING and write marks and progress with INSERT ... ON CONFLICT ... RETURNING.
    An older library would refuse the first change someone makes; say so at start instead.
    (Python uses the system's libsqlite3 on Linux: Debian 11 has 3.34, Ubuntu 20.04 3.31.)"""
    import sqlite3

    if sqlite3.sqlite_version_info < SQLITE_AT_LEAST:
        need = ".".join(map(str, SQLITE_AT_LEAST))
        raise RuntimeError(
            f"couple needs SQLite {need} or newer, and this Python uses SQLite "
            f"{sqlite3.sqlite_version}. Use a Python built with a newer SQLite, or PostgreSQL "
            "(COUPLE_DATABASE_URL, docs/deploy.md).")


def _check_psycopg_wait() -> None:
    """Under gevent, psycopg must wait for PostgreSQL through gevent's hub and on any fd.

    psycopg (>= 3.2) sees gevent's patched `select` and picks `wait_poll` (gevent's poll:
    cooperative, no descriptor limit). PSYCOPG_WAIT_FUNC can override that, and two choices
    break a server: `wait_c` blocks every greenlet while one query runs, and `wait_select`
    goes through gevent's select, which first calls the real select(2): that raises
    "filedescriptor out of range" for a descriptor >= 1024 (about 500 open sockets) after the
    query was sent, and the connection returns to the pool mid-command, so the next request
    that gets it fails with "another command is already in progress" (measured:
    bench/realtime.py at 600 couples). `wait_poll` works, but gevent's poll emulation costs a
    fifth of a round trip's CPU; couple/gevent_wait.py waits on one io watcher instead,
    whatever PSYCOPG_WAIT_FUNC says.
    """
    import sys

    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("select"):
        return
    from psycopg import waiting

    from .gevent_wait import wait_gevent

    chosen = getattr(waiting.wait, "__name__", "")
    if chosen in ("wait_c", "wait_select"):
        logging.getLogger(__name__).warning(
            "psycopg wait function %s does not work under gevent; using wait_gevent", chosen)
    # psycopg.Connection.wait looks up `waiting.wait` at each call.
    waiting.wait = wait_gevent


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app; `test_config` overrides settings read from the environment."""
    instance = Path(
        (test_config or {}).get("INSTANCE_PATH")
        or os.environ.get("COUPLE_INSTANCE_PATH")
        or ROOT / "instance"
    ).resolve()
    instance.mkdir(parents=True, exist_ok=True)
    app = Flask(
        __name__,
        instance_path=str(instance),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    # Before any blueprint adds a rule: every <int:...> is bounded to what an id can be.
    from .web import BoundedIntConverter

    app.url_map.converters["int"] = BoundedIntConverter
    app.config.update(config_module.from_environment(instance))
    if test_config:
        app.config.update(test_config)
    logging.basicConfig(level=app.config["LOG_LEVEL"])

    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if uri.startswith("sqlite"):
        _check_sqlite_version()
    if uri.startswith("sqlite") and app.config.get("SOCKETIO_ASYNC_MODE") == "gevent":
        # SQLite's busy wait blocks in C and would freeze every greenlet; one pooled
        # connection makes greenlets queue for it cooperatively instead.
        options.setdefault("pool_size", 1)
        options.setdefault("max_overflow", 0)
    elif not uri.startswith("sqlite"):
        _check_psycopg_wait()
        # No pre-ping: it is one more round trip (SELECT 1) on every checkout, i.e. on every
        # request and socket connect, and the app is CPU-bound on round trips under load
        # (bench/realtime.py). Connections are recycled by age instead; one that the server
        # dropped meanwhile fails its first statement, and SQLAlchemy then discards the whole
        # pool, so a database restart costs the requests in flight (the client's outbox
        # retries them with their op ids), not a broken pool.
        options.setdefault("pool_pre_ping", False)
        options.setdefault("pool_recycle", 1800)
        # Greenlets queue for pooled connections. A pool as large as the usual concurrency
        # keeps its connections (and psycopg's prepared statements) instead of opening and
        # closing "overflow" connections, a PostgreSQL backend fork each, on every burst.
        options.setdefault("pool_size", app.config["DB_POOL_SIZE"])
        options.setdefault("max_overflow", app.config["DB_MAX_OVERFLOW"])
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    csrf.init_app(app)
    limiter.init_app(app)
    _init_login(app)
    from . import mail

    mail.init_app(app)
    # Socket handlers must be imported before socketio.init_app: Flask-SocketIO remembers an
    # @socketio.on handler for later init_app calls only if it was decorated while no server
    # existed yet; decorated afterwards, it reaches the first app's server only.
    from . import socket_changes, sockets  # noqa: F401
    app.session_interface = sockets.SocketEventSessions()
    from .capabilities import CAPABILITIES
    from .web import SOCKET_IO_PATH

    for capability in CAPABILITIES:
        capability.load_sockets()
    socketio.init_app(
        app,
        async_mode=app.config.get("SOCKETIO_ASYNC_MODE"),
        message_queue=app.config.get("REDIS_URL"),
        channel=app.config["SOCKETIO_CHANNEL"],
        cors_allowed_origins=app.config.get("ALLOWED_ORIGINS"),
        max_http_buffer_size=app.config["MAX_SOCKET_MESSAGE"],
        path=SOCKET_IO_PATH.strip("/"),
        # One client's events are handled in the order it sent them.
        async_handlers=False,
        ping_interval=20,
        ping_timeout=20,
    )
    # Reserved event names, sockets the server cuts, undecodable frames (couple/sockets.py).
    sockets.guard_server(socketio.server)
    _route_socket_events(app)

    from . import models  # noqa: F401  (every table registered before create_all/migrations)
    from .core.routes import bp as core_bp
    from .web import init_web

    app.register_blueprint(core_bp)
    for capability in CAPABILITIES:
        app.register_blueprint(capability.blueprint())
    init_web(app)
    socket_changes.check_registered(app)

    from .cli import register_cli

    register_cli(app)

    if app.config.get("AUTO_MIGRATE"):
        with app.app_context():
            from flask_migrate import upgrade

            upgrade(directory=str(MIGRATIONS), revision="heads")
    return app


def _route_socket_events(app: Flask) -> None:
    """Give the Socket.IO path a rule in the URL map, so socket events match it.

    Flask-SocketIO runs every socket event inside a request context built from the socket's
    environ (path /socket.io/), and pushing it matches that path against the URL map. With no
    rule, werkzeug raises NotFound and Flask keeps it on the request, traceback and all; the
    traceback's frames hold the whole event (its context, packet and session) in a reference
    cycle that only the cycle collector frees: ~80 container objects per event, most of what
    the collector had to do under load (bench/realtime.py, docs/architecture.md). Nothing is
    served here: engine.io's middleware answers /socket.io/ before Flask; only a request for
    /socket.io itself (no slash) reaches this view, and it is a 404 like any unknown page.
    What engine.io answers gets the pages' security headers from a middleware around it, which
    also opens its WebSockets without compression (couple/web.py `socket_io_middleware`).
    """
    def no_page():
        abort(404)

    from .web import SOCKET_IO_ENDPOINT, SOCKET_IO_PATH, socket_io_middleware

    # Two rules: a socket's events carry the environ of its WebSocket request (werkzeug sees
    # ws://, and a plain rule raises WebsocketMismatch the same way), a long-polling socket's
    # the environ of an HTTP one.
    for websocket in (False, True):
        app.add_url_rule(SOCKET_IO_PATH, endpoint=SOCKET_IO_ENDPOINT, view_func=no_page,
                         strict_slashes=False, websocket=websocket)
    app.wsgi_app = socket_io_middleware(app.wsgi_app)


def _init_login(app: Flask) -> None:
    from .accounts.operations import user_for_session_token
    from .accounts.signed_in import signed_in_for_token

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(token):
        # A socket event (Flask-SocketIO sets request.sid) reads a snapshot, a page the ORM
        # User its templates and forms change: couple/accounts/signed_in.py.
        if getattr(request, "sid", None) is not None:
            return signed_in_for_token(token)
        return user_for_session_token(token)
