"""TCP_NODELAY on accepted sockets (issue 11: a keystroke's second WebSocket frame waited for a
delayed ACK). app.py's helper, and gunicorn.conf.py's hook around the gevent worker's handler,
each on a real accepted TCP socket. The latency itself is measured in bench/keystroke_latency.py.
"""
import json
import os
import runpy
import socket
import subprocess
import sys
import types

from tests.support.servers import ROOT

CHECK = """
import json, socket, app
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
cli = socket.create_connection(srv.getsockname()); conn, _ = srv.accept()
before = conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
app.set_nodelay(conn)
after = conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
for s in (conn, cli, srv): s.close()
print(json.dumps([before, after]))
"""


def _run_check(tmp_path, **env):
    proc = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "COUPLE_INSTANCE_PATH": str(tmp_path), "COUPLE_SECRET_KEY": "k" * 40,
             **env})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_app_sets_nodelay_on_an_accepted_socket(tmp_path):
    before, after = _run_check(tmp_path)
    assert before == 0 and after != 0


def test_gunicorn_worker_hook_sets_nodelay_before_handling(tmp_path, monkeypatch):
    calls = []
    fake_app = types.SimpleNamespace(
        set_nodelay=lambda sock: sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),
        tune_gc=lambda: None, drain=types.SimpleNamespace(drain=lambda *a: None),
        grace_seconds=lambda: 1)
    monkeypatch.setitem(sys.modules, "app", fake_app)
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))

    class Worker:
        def handle(self, listener, client, addr):
            calls.append(client.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        def handle_exit(self, sig, frame):
            pass

    worker = Worker()
    import signal

    previous = signal.getsignal(signal.SIGTERM)
    try:
        conf["post_worker_init"](worker)
    finally:
        signal.signal(signal.SIGTERM, previous)
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    cli = socket.create_connection(srv.getsockname())
    conn, addr = srv.accept()
    try:
        worker.handle(srv, conn, addr)  # what the gevent worker binds when it starts serving
    finally:
        for s in (conn, cli, srv):
            s.close()
    assert calls and calls[0] != 0
