"""Nothing acknowledged is lost when a process dies: while both partners make a steady stream of
changes, the server is killed with SIGKILL at a random moment and started again. Every change
the server acknowledged is in the database exactly once; changes that were in flight are retried
with the same op id (the page's outbox) and applied once; both partners' tabs reconnect, resync,
and end with every change, none applied twice, equal to a fresh fetch. No tab is told to reset:
nothing is pruned, so every resync must be an exact replay (a reset, from a replay that
overlapped a commit on PostgreSQL, was this test's intermittent failure: couple/events.py).

Bounded: a few seconds of load per run (CI budget), on SQLite and on PostgreSQL + Redis.
"""
import random
import sqlite3
import time

import pytest

from tests.support.scaleout_helpers import LiveClient, SteadyWriter, migrate, shared_env, wait_until
from tests.support.servers import link_couple, signup, start_server

pytestmark = pytest.mark.server

LOAD_BEFORE = (0.4, 1.6)  # seconds of load before the kill, chosen at random in this range
LOAD_AFTER = 1.0  # seconds of load after the restart


def _rows_sqlite(path):
    con = sqlite3.connect(path)
    try:
        return _rows(con.execute)
    finally:
        con.close()


def _rows_postgres(url):
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as con:
        return _rows(con.execute)


def _rows(execute):
    events = execute("SELECT op_id, stream, seq FROM events WHERE op_id IS NOT NULL").fetchall()
    applied = [r[0] for r in execute("SELECT op_id FROM applied_ops").fetchall()]
    progress = {(u, s): st for u, s, st in execute(
        "SELECT user_id, step, state FROM guide_progress").fetchall()}
    seqs = [r[0] for r in execute(
        "SELECT seq FROM events WHERE stream LIKE 'couple:%' ORDER BY seq")]
    return {"events": events, "applied": applied, "progress": progress, "couple_seqs": seqs}


def _tab_report(live, acked, found) -> str:
    """Which acknowledged changes a tab lacks, with their seqs, and what it received how."""
    where = {op: seq for op, stream, seq in found["events"] if stream.startswith("couple:")}
    missing = sorted(where.get(op, -1) for op in set(acked) - set(live.ops_applied()))

    def seqs(evs):
        return [ev["seq"] for ev in evs if ev["stream"] == "couple"]

    return (f"tab seqs {live.seqs}, stored up to {found['couple_seqs'][-1:]}, "
            f"{live.resets} resets, {live.connects} connects; missing seqs {missing}; "
            f"applied {seqs(live.applied['couple'])}; live {seqs(live.live)}; "
            f"replayed {seqs(live.replayed)}")


def _crash_run(tmp_path, env, rows, *, partner_server=None):
    """The scenario; `partner_server` (another process) keeps B's socket through the crash."""
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"kill -9 run, seed {seed}")
    victim = start_server(tmp_path, env=env, name="victim")
    other = None
    clients, writers = [], []
    try:
        if partner_server:
            other = start_server(tmp_path, env=env, name="survivor")
        a = signup(victim.url, "Riley", "riley@example.com")
        b = signup(victim.url, "Sam", "sam@example.com")
        link_couple(victim.url, a, b)
        live_a = LiveClient(victim.url, a)
        clients.append(live_a)
        live_b = LiveClient((other or victim).url, b)
        clients.append(live_b)
        ids = {}
        for who, session in (("a", a), ("b", b)):
            state = session.get(victim.url + "/api/state").json()
            ids[who] = state["data"]["couple"]["info"]["me"]["id"]
        writers = [SteadyWriter(victim.url, a, steps=10, pause=0.005),
                   SteadyWriter(victim.url, b, steps=8, pause=0.005)]
        for w in writers:
            w.start()
        time.sleep(rng.uniform(*LOAD_BEFORE))
        acked_before = sum(len(w.acked) for w in writers)
        victim.kill9()
        time.sleep(0.2)
        victim = start_server(tmp_path, env=env, name="victim", port=victim.port)
        time.sleep(LOAD_AFTER)
        for w in writers:
            w.stop()
        for w in writers:
            w.join(30)
            assert not w.is_alive()
            assert w.errors == [], w.errors
        assert acked_before > 0 and sum(len(w.acked) for w in writers) > acked_before

        # 1. Every acknowledged change is stored, and nothing is stored twice.
        found = rows()
        op_events = [op for op, _stream, _seq in found["events"]]
        assert len(op_events) == len(set(op_events)), "an op was applied twice"
        assert len(found["applied"]) == len(set(found["applied"]))
        acked = [op for w in writers for op, _step, _state in w.acked]
        missing = set(acked) - set(op_events)
        assert not missing, f"{len(missing)} acknowledged changes lost (seed {seed})"
        assert set(acked) <= set(found["applied"])
        assert found["couple_seqs"] == list(range(1, len(found["couple_seqs"]) + 1))
        # The last acknowledged state of every step is the stored one.
        for who, w in zip(("a", "b"), writers, strict=True):
            last = {}
            for _op, step, state in w.acked:
                last[step] = state
            for step, state in last.items():
                assert found["progress"][(ids[who], step)] == state

        # 2. Both tabs reconnect, resync, and hold every change once, in order.
        for live in clients:
            wait_until(lambda live=live: live.sio.connected, 15, "the tab reconnecting")
            # The heartbeat (every 25 s in a page), asked for every 2 s here, so the check
            # neither waits for it nor depends on one answer arriving in time on a busy machine.
            last_sync = [0.0]

            def holds_every_acked(live=live, last_sync=last_sync):
                if live.resets or set(acked) <= set(live.ops_applied()):
                    return True
                if time.monotonic() - last_sync[0] > 2:
                    last_sync[0] = time.monotonic()
                    try:
                        live.sync()
                    except Exception:  # noqa: BLE001  (no answer in 10 s on a busy machine: ask again)
                        pass
                return False

            try:
                wait_until(holds_every_acked, 60, "the tab holding every acknowledged change")
            except AssertionError as exc:
                report = _tab_report(live, acked, rows())
                raise AssertionError(f"{exc} (seed {seed}): {report}") from None
            # Nothing here is pruned and far fewer than EVENT_REPLAY_LIMIT changes are made: a
            # resync must replay exactly. A reset (the whole state reloaded) would hide which
            # changes the tab received; it was the PostgreSQL flake (couple/events.py replay).
            if live.resets:
                report = _tab_report(live, acked, rows())
                pytest.fail(f"the tab was told to reset (seed {seed}): {report}")
            seqs = [ev["seq"] for ev in live.applied["couple"]]
            assert seqs == sorted(set(seqs)), "a change was applied twice or out of order"
            ops = live.ops_applied()
            assert len(ops) == len(set(ops))
        for live, session in ((live_a, a), (live_b, b)):
            fresh = session.get(victim.url + "/api/state").json()
            assert live.state["progress"] == fresh["data"]["progress"]
            assert live.seqs["couple"] == fresh["seqs"]["couple"]
        retried = sum(w.retries for w in writers)
        tabs = "; ".join(f"{len(c.live)} live, {len(c.replayed)} replayed, {c.resets} resets, "
                         f"{c.connects} connects" for c in clients)
        print(f"acked {len(acked)} changes ({acked_before} before the kill), {retried} retries; "
              f"tabs: {tabs}")
    finally:
        for w in writers:
            w.stop()
        for c in clients:
            c.close()
        victim.stop()
        if other:
            other.stop()


def test_kill9_loses_nothing_on_sqlite(tmp_path):
    """One process, SQLite in its instance folder (WAL, synchronous=FULL), which the restart
    reuses."""
    database = tmp_path / "victim-instance" / "couple.sqlite3"
    _crash_run(tmp_path, {}, lambda: _rows_sqlite(database))


@pytest.mark.postgres
@pytest.mark.redis
def test_kill9_loses_nothing_on_postgres(tmp_path, postgres_url, redis_url, unique_channel):
    """PostgreSQL + Redis; B's socket is on a second process that stays up."""
    migrate(postgres_url)
    env = shared_env(postgres_url, redis_url, unique_channel)
    _crash_run(tmp_path, env, lambda: _rows_postgres(postgres_url), partner_server=True)
