"""The server process's cycle collector (app.tune_gc): what exists at start is frozen and the
young generation's threshold is raised, on the embedded server and under gunicorn alike.
Its effect on latency is measured by bench/realtime.py (its "before" run: COUPLE_GC_THRESHOLD=0).
"""
import json
import os
import runpy
import signal
import subprocess
import sys
import types

from tests.support.servers import ROOT

TUNE = """
import gc, json, app
before = gc.get_threshold()
app.tune_gc()
print(json.dumps([before, gc.get_threshold(), gc.get_freeze_count()]))
"""

# app.py as `make run` starts it, up to the moment it would serve: is the collector tuned?
SERVE = """
import gc, json, runpy, sys
from gevent import pywsgi
def serve_forever(self, *args, **kwargs):
    print(json.dumps([gc.get_threshold(), gc.get_freeze_count()]), flush=True)
pywsgi.WSGIServer.serve_forever = serve_forever
sys.argv = ["app.py"]
runpy.run_path("app.py", run_name="__main__")
"""


def _python(code, tmp_path, **env):
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "COUPLE_INSTANCE_PATH": str(tmp_path), "COUPLE_SECRET_KEY": "k" * 40,
             "PORT": "0", "COUPLE_REMINDER_LOOP": "0", **env})


def _last_json(proc):
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_tune_gc_freezes_what_exists_and_raises_the_young_threshold(tmp_path):
    before, after, frozen = _last_json(_python(TUNE, tmp_path))
    assert before[0] == 700, "Python's default, before"
    assert after == [10_000, before[1], before[2]]
    assert frozen > 10_000, "the app's objects, built at import, are frozen"


def test_the_threshold_is_configurable_and_zero_leaves_python_alone(tmp_path):
    _before, after, _frozen = _last_json(_python(TUNE, tmp_path, COUPLE_GC_THRESHOLD="5000"))
    assert after[0] == 5000
    before, after, frozen = _last_json(_python(TUNE, tmp_path, COUPLE_GC_THRESHOLD="0"))
    assert after == before and frozen == 0


def test_a_bad_threshold_stops_the_server_with_a_clear_message(tmp_path):
    proc = _python(TUNE, tmp_path, COUPLE_GC_THRESHOLD="lots")
    assert proc.returncode != 0
    assert "COUPLE_GC_THRESHOLD must be a whole number, not 'lots'" in proc.stderr


def test_the_embedded_server_tunes_the_collector_before_serving(tmp_path):
    threshold, frozen = _last_json(_python(SERVE, tmp_path))
    assert threshold[0] == 10_000 and frozen > 10_000


def test_gunicorns_worker_hook_tunes_the_collector(monkeypatch):
    calls = []
    fake_app = types.SimpleNamespace(
        set_nodelay=lambda sock: None, tune_gc=lambda: calls.append("tune_gc"),
        drain=types.SimpleNamespace(drain=lambda *a: None), grace_seconds=lambda: 1)
    monkeypatch.setitem(sys.modules, "app", fake_app)
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    worker = types.SimpleNamespace(handle=lambda *a: None, handle_exit=lambda *a: None)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        conf["post_worker_init"](worker)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert calls == ["tune_gc"]
