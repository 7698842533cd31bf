"""The realtime benchmark still runs: bench/realtime.py --smoke (3 couples, a few seconds, app and
relay floor) finishes, writes its JSON, and loses nothing; the app's load goes through all three
change paths (guide progress, a follow-through mark, a boundary edit), none refused or lost. No
figure is asserted: CI machines differ, and speed is the benchmark's business, not the test
suite's."""
import json
import subprocess
import sys

import pytest

from tests.support.servers import ROOT

pytestmark = pytest.mark.server


def test_benchmark_smoke(tmp_path):
    out = tmp_path / "realtime.json"
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "realtime.py"), "--smoke",
                          "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads(out.read_text())
    (level,) = report["levels"]
    for target in ("app", "floor"):
        result = level[target]
        assert result["connected"] == 6
        assert result["changes_measured"] > 0
        assert result["changes_lost"] == 0
        assert result["http_errors"] == 0
        assert result["latency_ms"]["n"] == result["changes_measured"]
    by_kind = level["app"]["by_kind"]
    assert set(by_kind) == {"progress", "mark", "boundary"}
    for kind, result in by_kind.items():
        assert result["changes_measured"] > 0, kind
        assert result["changes_lost"] == 0, kind
        assert result["errors"] == 0, (kind, level["app"]["error_samples"])
        assert result["latency_ms"]["n"] == result["changes_measured"], kind
    assert report["marginal_kib_per_partner"] == {}, "one level: no slope to take"


def test_marginal_memory_is_the_slope_between_fresh_servers():
    from bench.realtime import marginal_memory

    def level(n, app_kib, floor_kib):
        return {"couples": n,
                "app": {"connected": 2 * n, "server_rss_idle_kib": app_kib},
                "floor": {"connected": 2 * n, "server_rss_idle_kib": floor_kib}}

    levels = [level(50, 120_000, 60_000), level(150, 136_000, 74_000), level(500, 192_000, 123_000)]
    assert marginal_memory(levels) == {
        "50->150": {"app": 80.0, "floor": 70.0, "ratio": 1.14},
        "50->500": {"app": 80.0, "floor": 70.0, "ratio": 1.14},
    }
    assert marginal_memory(levels[:1]) == {}


def test_postgres_commit_counters_see_commits_and_their_flushes(postgres_url, monkeypatch):
    """bench/realtime.py's WAL figures (`pg_wal_flushes_per_commit`): committed writes move
    both counters; with no PostgreSQL to ask there is no figure, and no failure."""
    import time

    import psycopg

    from bench import realtime

    monkeypatch.setattr(realtime, "POSTGRES_ADMIN",
                        postgres_url.replace("postgresql+psycopg://", "postgresql://", 1))
    before = realtime.pg_commit_counters()
    assert before is not None and all(isinstance(n, int) for n in before)
    with psycopg.connect(realtime.POSTGRES_ADMIN) as conn:
        conn.execute("CREATE TABLE counted (n int)")
        conn.commit()
        for n in range(5):
            conn.execute("INSERT INTO counted VALUES (%s)", (n,))
            conn.commit()
    # Backends report their statistics at most once a second (and at exit, as here).
    deadline = time.monotonic() + 10
    while True:
        after = realtime.pg_commit_counters()
        if (after[0] >= before[0] + 6 and after[1] > before[1]) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert after[0] >= before[0] + 6, (before, after)  # the six commits
    assert after[1] > before[1], (before, after)  # and at least one WAL flush for them
    monkeypatch.setattr(realtime, "POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:1/none")
    assert realtime.pg_commit_counters() is None


def test_socket_memory_benchmark_runs_both_ways(tmp_path):
    """bench/socket_memory.py: the floor with the framework's default agrees permessage-deflate
    with every browser-like socket, the floor as the app runs agrees it with none."""
    out = tmp_path / "socket_memory.json"
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "socket_memory.py"), "-n", "6",
                          "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["accepted"]["deflate_agreed"] == 6
    assert report["declined"]["deflate_agreed"] == 0


def test_change_profile_sorts_samples_into_pieces(tmp_path):
    """bench/change_profile.py (py-spy is not a dependency, so its sorting is tested on stacks
    written here): a sample goes to the first piece on its stack, the operation's statements
    apart from its Python, and set-up outside the counted calls is left out."""
    from bench.change_profile import shares

    one = "main (x.py:1);child.<locals>.one (change_instructions.py:2);"
    op = one + "on_change (couple/socket_changes.py:9);_run (couple/socket_changes.py:10);"
    raw = tmp_path / "raw.txt"
    raw.write_text("\n".join([
        one + "LoginManager._load_user (flask_login/login_manager.py:3);x (y.py:4) 5",
        op + "change.applied (couple/events.py:5);_write_pending_and_op (couple/events.py:6) 3",
        op + "f (couple/ops.py:1);Connection.execute (sqlalchemy/engine/base.py:7) 2",
        op + "f (couple/ops.py:1);rates (couple/commitments/followthrough.py:1) 4",
        op + "change.applied (couple/events.py:5);scoped_session.commit (s.py:1);"
             "_run_after_commit (couple/realtime.py:1) 1",
        one + "Flask.request_context (flask/app.py:1) 3",
        one + "SocketIOTestClient.get_received (flask_socketio/test_client.py:1) 2",
        "main (x.py:1);child (change_instructions.py:3);upgrade (alembic.py:1) 50",
    ]) + "\n")
    result = shares(raw)
    assert result["samples"] == 20
    share = result["share"]
    assert share["the login check"] == 0.25
    assert share["the change's last statement"] == 0.15
    assert share["the operation's other statements"] == 0.1
    assert share["the operation's own Python"] == 0.2
    assert share["the emit after commit"] == 0.05 and share["COMMIT"] == 0
    assert share["Socket.IO and Flask around the handler"] == 0.15
    assert share["the test client's own work"] == 0.1
