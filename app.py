"""Run couple: `python app.py` serves http://127.0.0.1:5000 (HOST and PORT override).

gevent holds thousands of open sockets in one process (the threading mode does not: see
docs/architecture.md). The monkey patch must run before anything else is imported.

In production run it under gunicorn with one gevent worker per process (docs/deploy.md):
`gunicorn -k gevent -w 1 --bind 0.0.0.0:8000 app:app` (gunicorn.conf.py in this folder adds the
same graceful shutdown as below).

Shutdown (SIGTERM or SIGINT) drains instead of dropping:
1. stop listening: a new connection is refused, so a load balancer sends it to another process;
2. a request that arrives on a kept-alive connection is refused with 503 + Retry-After and
   `Connection: close` *before* it touches the database (the page's outbox retries it, with the
   same op id, wherever it lands next);
3. requests already inside the app run to their end (commit or rollback, answer sent), for up to
   COUPLE_SHUTDOWN_GRACE seconds (default 10);
4. every Socket.IO connection is closed, so browsers reconnect (elsewhere) and sync at once;
5. the process exits 0.
Anything still running after the grace period dies with the process: its transaction never
committed and its client never got an answer, so the retry is what applies it. A kill -9 is the
same case without the courtesy.
"""
import os

ASYNC_MODE = os.environ.get("COUPLE_ASYNC_MODE", "gevent")
if ASYNC_MODE == "gevent":
    from gevent import monkey

    monkey.patch_all()

import logging  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402

from couple import create_app  # noqa: E402
from couple.extensions import socketio  # noqa: E402
from couple.web import SOCKET_IO_PATH  # noqa: E402

log = logging.getLogger("couple.server")
SOCKET_PATH = SOCKET_IO_PATH.rstrip("/")


class Drain:
    """WSGI middleware: counts the requests inside the app, and refuses new ones once the
    process is shutting down (see the module docstring)."""

    REFUSAL = b'{"error": "This server is restarting. Try again in a moment."}'

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self.inflight = 0
        self.draining = False

    def __call__(self, environ, start_response):
        is_socket = environ.get("PATH_INFO", "").startswith(SOCKET_PATH)
        if self.draining and not (is_socket and "sid=" in environ.get("QUERY_STRING", "")):
            start_response("503 Service Unavailable", [
                ("Content-Type", "application/json"), ("Retry-After", "1"),
                ("Content-Length", str(len(self.REFUSAL))), ("Connection", "close"),
            ])
            return [self.REFUSAL]
        if is_socket:
            # A socket's request lives as long as the socket: it is closed in step 4, not
            # waited for.
            return self.wsgi_app(environ, start_response)

        def closing_start_response(status, headers, exc_info=None):
            if self.draining:
                headers = [h for h in headers if h[0].lower() != "connection"]
                headers.append(("Connection", "close"))
            return start_response(status, headers, exc_info)

        self.inflight += 1
        try:
            # Flask has run the view (and its commit) when this returns; the body is in memory.
            return self.wsgi_app(environ, closing_start_response)
        finally:
            self.inflight -= 1

    def drain(self, grace: float, linger: float = 0.5) -> None:
        """Refuse new requests, wait (bounded) for those inside, then close every socket."""
        self.draining = True
        deadline = time.monotonic() + grace
        while self.inflight > 0 and time.monotonic() < deadline:
            time.sleep(0.02)  # gevent-patched: other greenlets run
        if self.inflight:
            log.warning("shutdown: %d request(s) still running after %.0fs", self.inflight, grace)
        # A client that keeps its connection alive may have sent its next request already; a
        # moment more of answering 503 + close gives it an orderly refusal instead of a reset.
        time.sleep(min(linger, max(0.0, deadline - time.monotonic())))
        try:
            close_sockets(socketio.server.eio, linger)
        except Exception:  # noqa: BLE001
            log.exception("shutdown: closing sockets failed")


def close_sockets(eio, wait: float) -> None:
    """Close every local Engine.IO socket, then give their CLOSE packets `wait` seconds to leave.

    Each one's disconnect handler runs (and forgets its LiveSocket row). engine.io's own
    `disconnect()` waits, socket by socket and without a bound, for each CLOSE to be taken off
    the socket's queue: a WebSocket's writer takes it at once, but a long-polling socket's is
    taken only by the client's next poll, and a client that vanished mid-handshake never polls
    again. That held the shutdown until the process gave up on it (15 s)."""
    reason = eio.reason.SERVER_DISCONNECT
    sockets = list(eio.sockets.values())
    for sock in sockets:
        try:
            sock.close(wait=False, reason=reason)
        except Exception:  # noqa: BLE001 - one socket's failure must not keep the others open
            log.exception("shutdown: closing socket %s failed", getattr(sock, "sid", "?"))
    eio.sockets = {}
    deadline = time.monotonic() + wait
    for sock in sockets:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.queue.join(timeout=left)  # gevent's JoinableQueue: False when the time ran out


app = create_app({"SOCKETIO_ASYNC_MODE": ASYNC_MODE})
drain = Drain(app.wsgi_app)
app.wsgi_app = drain


def set_nodelay(sock) -> None:
    """Send small writes at once. A binary Socket.IO message leaves as two WebSocket frames
    (the placeholder packet, then the bytes): with Nagle's algorithm on, the second waits for
    the peer's delayed ACK (~40 ms) and every keystroke reaches the partner that much later.
    (COUPLE_TCP_NODELAY=0 turns it off: only bench/keystroke_latency.py's "before" run.)"""
    if os.environ.get("COUPLE_TCP_NODELAY", "1") == "0":
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):  # not TCP (a Unix socket): nothing to do
        pass


def keepalive_seconds() -> float:
    """How long an idle kept-alive HTTP connection waits for its next request (gunicorn's
    `keepalive`, gunicorn.conf.py, is the same 5 s)."""
    return float(os.environ.get("COUPLE_KEEPALIVE", "5"))


GC_THRESHOLD = 10_000


def tune_gc() -> None:
    """Make the cycle collector's pauses rare and short; call once the app is built.

    With Python's default (a young collection every 700 net new container objects) a process
    holding 600 sockets (~300 tracked objects each) under load ran a full collection every few
    seconds, each a 100-260 ms pause for every socket at once: the main part of the realtime
    benchmark's p99. Measured with bench/realtime.py, PostgreSQL, 300 couples, the two
    alternated three times: p99 217 / 240 / 271 ms -> 44 / 46 / 75 ms, and no full collection
    while loaded (COUPLE_GC_THRESHOLD=0 is the "before"). Two things, as long-running Python
    servers do:
    - `gc.freeze()`: what exists now (modules, classes, the app, its URL map and mappers) lives
      as long as the process, so no collection scans it again;
    - the young generation's threshold COUPLE_GC_THRESHOLD (default 10,000): the objects of
      the changes in flight at each young collection were promoted towards the old generation,
      and its growth is what triggers a full collection. A young collection of 10,000 objects
      is a pause of a few ms (up to ~20 ms seen under load); 5,000 and 20,000 measured alike.
    COUPLE_GC_THRESHOLD=0 leaves Python's defaults alone.
    """
    import gc

    raw = os.environ.get("COUPLE_GC_THRESHOLD", str(GC_THRESHOLD))
    try:
        threshold = int(raw)
    except ValueError:
        raise SystemExit(f"COUPLE_GC_THRESHOLD must be a whole number, not {raw!r}") from None
    if threshold <= 0:
        return
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(threshold, middle, old)


def grace_seconds() -> float:
    return float(os.environ.get("COUPLE_SHUTDOWN_GRACE", "10"))


def main() -> None:
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    if ASYNC_MODE != "gevent":
        socketio.run(app, host=host, port=port, debug=False, use_reloader=False,
                     log_output=False, allow_unsafe_werkzeug=False)
        return

    import gevent
    from gevent import pywsgi

    keepalive = keepalive_seconds()

    class Handler(pywsgi.WSGIHandler):
        def read_requestline(self):
            # An idle kept-alive connection (a page loaded minutes ago) is closed after
            # `keepalive` seconds instead of holding a greenlet and its buffers for as long as
            # the browser keeps it (bench/realtime.py: memory per idle partner). Only the wait
            # for a request line is bounded: a WebSocket, once upgraded, is not read here.
            self.socket.settimeout(keepalive)
            try:
                return super().read_requestline()
            finally:
                self.socket.settimeout(None)

    # What socketio.run builds for gevent (WebSockets come from simple-websocket), kept here so
    # shutdown can close the listener first and then drain.
    class Server(pywsgi.WSGIServer):
        handler_class = Handler

        def handle(self, sock, address):
            set_nodelay(sock)
            return super().handle(sock, address)

    # The embedded server is its own mail timer: what a crash or an SMTP outage left in the
    # outbox is retried without cron (a deployment may also run `flask couple mail`).
    from couple import mail

    mail.start_drain_loop(app)
    server = Server((host, port), app, log=None)
    socketio.wsgi_server = server

    def shutdown():
        server.close()  # 1. no new connections
        drain.drain(grace_seconds())  # 2.-4.
        server.stop(timeout=1)  # 5. serve_forever returns

    stopping = []

    def on_signal():
        # Runs in the event loop, where nothing may block: the drain gets its own greenlet.
        if not stopping:
            stopping.append(gevent.spawn(shutdown))

    if not app.config.get("PUBLIC_URL"):
        app.config["PUBLIC_URL"] = f"http://{host}:{port}"  # links in reminder emails
    if app.config.get("REMINDER_LOOP"):
        # Commitment reminders on the embedded default: this process is the timer. Multi-process
        # deployments leave COUPLE_REMINDER_LOOP off and run `flask couple remind` from a timer.
        from couple.commitments.reminders import run_loop

        gevent.spawn(run_loop, app, app.config["REMINDER_EVERY"])
    if not app.config.get("REDIS_URL"):
        # The only process there is, before it serves: no socket row names an open socket (a
        # crash left them). Rows are how a logout anywhere finds the sockets to cut.
        from couple import housekeeping

        with app.app_context():
            housekeeping.forget_sockets()
    if app.config.get("PRUNE_LOOP"):
        # Old events and op ids on the embedded default: this process is the daily timer too.
        from couple import housekeeping

        gevent.spawn(housekeeping.run_loop, app, app.config["PRUNE_DAYS"],
                     app.config["PRUNE_EVERY"])
    gevent.signal_handler(signal.SIGTERM, on_signal)
    gevent.signal_handler(signal.SIGINT, on_signal)
    tune_gc()
    print(f"couple is running on http://{host}:{port}", flush=True)
    server.serve_forever()
    if stopping:
        stopping[0].join(timeout=grace_seconds() + 5)


if __name__ == "__main__":
    main()
