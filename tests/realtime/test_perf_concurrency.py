"""Many greenlets on one PostgreSQL pool, in a real gevent server: no errors, every change once.

The server runs with every new descriptor numbered above 1024 (as with ~500 open sockets) and
with PSYCOPG_WAIT_FUNC=wait_select, the setting under which one benchmark run logged ~1,300
"another command is already in progress" errors: gevent's select first calls the real select(2),
which refuses descriptors >= 1024 after the query was sent, and the connection went back to the
pool mid-command. The app must replace that wait function (couple/__init__.py). The load is
bench/loadgen.py (authenticated sockets, POST guide progress with op ids, partners receiving);
then a burst of retries of one op id must be applied once and answered alike.

No wall-clock assertion: speed is bench/realtime.py's business.
"""
import json
import os
import subprocess
import sys
import threading
import uuid

import psycopg
import pytest
import requests

from tests.support.scaleout_helpers import migrate
from tests.support.servers import ROOT, free_port

pytestmark = [pytest.mark.server, pytest.mark.postgres]

COUPLES = 20
SECRET = "perf-test-" + "p" * 40
# Open descriptors up to 1100 first, then run app.py as the server would run.
HIGH_FDS = (
    "import os, runpy, sys; "
    "held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]; "
    "sys.argv = ['app.py']; runpy.run_path('app.py', run_name='__main__')"
)


def _env(postgres_url: str, instance) -> dict:
    env = {**os.environ, "COUPLE_DATABASE_URL": postgres_url, "COUPLE_AUTO_MIGRATE": "0",
           "COUPLE_SECRET_KEY": SECRET, "COUPLE_INSTANCE_PATH": str(instance),
           "COUPLE_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    for name in ("COUPLE_ASYNC_MODE", "COUPLE_REDIS_URL"):
        env.pop(name, None)
    return env


def _wait_healthy(url: str, proc, log_path, timeout: float = 60) -> None:
    # tests/support/servers.py's wait closes every socket it opens (issue 10's CI flake).
    from tests.support.servers import wait_healthy

    try:
        wait_healthy(url, proc, lambda: log_path.read_text(errors="replace"), timeout)
    except RuntimeError as exc:
        raise AssertionError(f"server not healthy: {exc}") from None


def _db(postgres_url: str):
    return psycopg.connect(postgres_url.replace("postgresql+psycopg://", "postgresql://", 1),
                           autocommit=True)


def test_many_greenlets_share_the_pool_safely(tmp_path, postgres_url):
    migrate(postgres_url)
    instance = tmp_path / "instance"
    instance.mkdir()
    env = _env(postgres_url, instance)
    seeds_path = tmp_path / "seeds.json"
    with open(seeds_path, "w") as out:
        subprocess.run([sys.executable, str(ROOT / "bench" / "seed.py"), str(COUPLES)], cwd=ROOT,
                       env=env, stdout=out, check=True, timeout=300)
    seeds = json.loads(seeds_path.read_text())

    port = free_port()
    log_path = tmp_path / "server.log"
    server_env = {**env, "HOST": "127.0.0.1", "PORT": str(port),
                  "PSYCOPG_WAIT_FUNC": "wait_select"}
    with open(log_path, "ab") as log:
        server = subprocess.Popen([sys.executable, "-c", HIGH_FDS], cwd=ROOT, env=server_env,
                                  stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, server, log_path)
        # 2 x COUPLES sockets, every couple changing something every 0.1 s for 3 s: dozens
        # of requests in flight at once on the pool, each answered and relayed.
        loadgen = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "loadgen.py"), "--target", "app", "--port",
             str(port), "--couples", str(COUPLES), "--interval", "0.1", "--duration", "3",
             "--warmup", "0", "--drain", "15", "--seeds", str(seeds_path),
             # Guide progress only: every change is one event and one op row, which the
             # accounting below relies on (a Yjs boundary edit writes neither).
             "--kinds", "progress"],
            cwd=ROOT, input="GO\n", capture_output=True, text=True, timeout=180)
        assert loadgen.returncode == 0, loadgen.stdout[-2000:] + loadgen.stderr[-2000:]
        result = json.loads(next(line for line in loadgen.stdout.splitlines()
                                 if line.startswith("RESULT "))[len("RESULT "):])
        assert result["changes_measured"] > COUPLES
        assert result["http_errors"] == 0
        assert result["socket_errors"] == 0
        assert result["changes_acked"] == result["changes_measured"]
        assert result["changes_lost"] == 0

        # Retries of one op id, all at once (a client whose answers were lost): applied once,
        # every answer the same.
        seed = seeds[0]["a"]
        op = uuid.uuid4().hex
        answers, errors = [], []

        def retry():
            try:
                r = requests.post(url + "/guide/steps/3/state",
                                  json={"state": "practising", "op_id": op}, timeout=30,
                                  headers={"Cookie": seed["cookie"], "X-CSRFToken": seed["csrf"],
                                           "Accept": "application/json",
                                           "User-Agent": "couple-bench/1"})
                answers.append((r.status_code, r.json()))
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))

        threads = [threading.Thread(target=retry) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors
        assert len(answers) == 8
        assert {status for status, _ in answers} == {200}
        assert len({json.dumps(body, sort_keys=True) for _, body in answers}) == 1
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)

    log = log_path.read_text(errors="replace")
    assert "Traceback" not in log, log[-4000:]
    assert "another command is already in progress" not in log
    assert "wait_select does not work under gevent" in log  # the guard did its job

    with _db(postgres_url) as conn:
        # Exactly once: one event and one applied-op row per op id, none without the other.
        dupes = conn.execute("SELECT op_id, count(*) FROM events WHERE op_id IS NOT NULL "
                             "GROUP BY op_id HAVING count(*) > 1").fetchall()
        assert dupes == []
        events = conn.execute("SELECT count(*) FROM events WHERE op_id IS NOT NULL").fetchone()[0]
        ops = conn.execute("SELECT count(*) FROM applied_ops").fetchone()[0]
        assert events == ops == result["changes_acked"] + 1
        count = conn.execute("SELECT count(*) FROM events WHERE op_id = %s", (op,)).fetchone()[0]
        assert count == 1
        # Every stream's sequence numbers are gap-free and end at its owner's last_seq.
        gaps = conn.execute(
            "SELECT e.stream FROM events e GROUP BY e.stream "
            "HAVING max(e.seq) <> count(*) OR min(e.seq) <> 1").fetchall()
        assert gaps == []
        behind = conn.execute(
            "SELECT c.id FROM couples c WHERE c.last_seq <> "
            "(SELECT coalesce(max(seq), 0) FROM events WHERE stream = 'couple:' || c.id)"
        ).fetchall()
        assert behind == []
