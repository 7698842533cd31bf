"""gunicorn settings for couple, read automatically when gunicorn starts in this folder:

    gunicorn --bind 0.0.0.0:8000 app:app        (= gunicorn -k gevent -w 1 ... app:app)

One gevent worker per process: a Socket.IO connection lives in one process, so scale by running
more processes (on more ports or machines) behind a load balancer with sticky sessions and
COUPLE_REDIS_URL set, not by raising -w (docs/deploy.md).
"""
import os
import signal

worker_class = "gevent"
workers = 1
# Each open tab holds one connection; gunicorn's default of 1,000 would cap a process there.
worker_connections = int(os.environ.get("COUPLE_WORKER_CONNECTIONS", "10000"))
# SIGTERM: refuse new work, finish what is inside (COUPLE_SHUTDOWN_GRACE), close sockets, exit.
graceful_timeout = int(float(os.environ.get("COUPLE_SHUTDOWN_GRACE", "10"))) + 5
timeout = 30
keepalive = 5
# Several processes may run on one machine: each would otherwise claim ~/.gunicorn/gunicorn.ctl.
control_socket_disable = True
accesslog = None
errorlog = "-"
loglevel = os.environ.get("COUPLE_LOG_LEVEL", "info").lower()


def post_worker_init(worker):
    """On SIGTERM, run app.py's drain next to gunicorn's own graceful stop, which alone would
    wait the whole graceful_timeout for open WebSockets (they never end by themselves)."""
    import gevent

    import app as couple_app

    stop_worker = worker.handle_exit
    started = []

    def handle_exit(sig, frame):
        stop_worker(sig, frame)  # gunicorn: stop accepting, force Connection: close, wait
        if not started:
            started.append(gevent.spawn(couple_app.drain.drain, couple_app.grace_seconds()))

    signal.signal(signal.SIGTERM, handle_exit)

    # TCP_NODELAY on every accepted connection (see app.set_nodelay: without it a keystroke's
    # second WebSocket frame waits ~40 ms for a delayed ACK). The gevent worker binds
    # `self.handle` when it starts serving, after this hook.
    handle = worker.handle

    def handle_nodelay(listener, client, addr):
        couple_app.set_nodelay(client)
        return handle(listener, client, addr)

    worker.handle = handle_nodelay
    couple_app.tune_gc()  # rare, short collector pauses (see app.tune_gc)
