"""Housekeeping (couple/housekeeping.py): old events, op ids and socket rows are deleted, by
`flask couple prune` and, on the embedded default, by `python app.py` itself, daily."""
import sqlite3
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from couple import housekeeping
from couple.commitments.operations import create_commitment
from couple.config import from_environment
from couple.events import AppliedOp, Event, LiveSocket
from couple.extensions import db
from couple.models_base import utcnow
from tests.support.servers import link_couple, post_json, signup, start_server


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _age(model, days: int) -> None:
    db.session.execute(model.__table__.update().values(
        **{"connected_at" if model is LiveSocket else "created_at":
           utcnow() - timedelta(days=days)}))
    db.session.commit()


def test_prune_deletes_what_is_older_than_its_days_and_keeps_the_rest(app, make_couple):
    riley, sam = make_couple()
    create_commitment(riley, wording="Old promise", schedule="daily", tz="UTC", op_id="op-old-0001")
    db.session.add(LiveSocket(sid="old-sid", user_id=riley.id, couple_id=riley.couple_id,
                              connected_at=utcnow()))
    db.session.commit()
    for model in (Event, AppliedOp, LiveSocket):
        _age(model, 40)
    old = {m: _count(m) for m in (Event, AppliedOp)}
    assert all(old.values()), old
    create_commitment(riley, wording="New promise", schedule="daily", tz="UTC", op_id="op-new-0001")
    new_events = _count(Event) - old[Event]
    result = app.test_cli_runner().invoke(args=["couple", "prune", "--days", "30"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"pruned {old[Event]} events, {old[AppliedOp]} op ids"
    assert (_count(Event), _count(AppliedOp)) == (new_events, 1)
    assert housekeeping.prune(30) == {"events": 0, "ops": 0}
    # A socket connected 40 days ago may still be open: its row is how a logout anywhere finds
    # it to cut. Rows go when their socket disconnects, never by age.
    assert _count(LiveSocket) == 1
    # What a person made stays: only the log's copies go.
    from couple.commitments.models import Commitment

    assert set(db.session.scalars(select(Commitment.wording))) == {"Old promise", "New promise"}


def test_the_loop_survives_a_failed_run_and_runs_again(app, monkeypatch):
    runs, sleeps = [], []

    def prune(days):
        runs.append(days)
        if len(runs) == 1:
            raise RuntimeError("the database was away")
        return {"events": 0, "ops": 0}

    def sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 3:
            raise KeyboardInterrupt  # end the endless loop here

    monkeypatch.setattr(housekeeping, "prune", prune)
    with pytest.raises(KeyboardInterrupt):
        housekeeping.run_loop(app, 30, every=5.0, sleep=sleep)
    assert runs == [30, 30, 30] and sleeps == [5.0, 5.0, 5.0]


def test_the_loop_is_on_for_the_embedded_default_only(monkeypatch, tmp_path):
    monkeypatch.delenv("COUPLE_PRUNE_LOOP", raising=False)
    monkeypatch.delenv("COUPLE_DATABASE_URL", raising=False)
    assert from_environment(tmp_path)["PRUNE_LOOP"] is True
    monkeypatch.setenv("COUPLE_DATABASE_URL", "postgresql://u@127.0.0.1/db")
    assert from_environment(tmp_path)["PRUNE_LOOP"] is False
    monkeypatch.setenv("COUPLE_PRUNE_LOOP", "1")
    assert from_environment(tmp_path)["PRUNE_LOOP"] is True


@pytest.mark.server
def test_the_embedded_server_prunes_by_itself(tmp_path):
    """`python app.py` (gevent, SQLite) as make run starts it, its loop every second here: a
    month-old log is gone, today's stays, and the page still works."""
    server = start_server(tmp_path, name="prune", env={"COUPLE_PRUNE_EVERY": "1"})
    try:
        r, s = signup(server.url, "Riley", "riley@example.com"), signup(server.url, "Sam",
                                                                          "sam@example.com")
        link_couple(server.url, r, s)
        made = post_json(r, server.url, "/commitments", {"wording": "Call at six",
                                                         "schedule": "daily", "tz": "UTC",
                                                         "op_id": "op-prune-000001"})
        assert made.status_code == 200, made.text
        db_file = server.instance / "couple.sqlite3"
        with sqlite3.connect(db_file, timeout=30) as conn:
            # The server forgot at its start the socket rows its last run left (none here yet)
            # and keeps the row of a socket open now.
            assert conn.execute("SELECT count(*) FROM live_sockets").fetchone()[0] == 0
            before = conn.execute("SELECT count(*) FROM events").fetchone()[0]
            conn.execute("UPDATE events SET created_at = datetime('now', '-40 days')")
            conn.execute("UPDATE applied_ops SET created_at = datetime('now', '-40 days')")
        conn.close()
        post_json(r, server.url, "/guide/steps/1/state", {"state": "working",
                                                          "op_id": "op-prune-000002"})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with sqlite3.connect(db_file, timeout=30) as conn:
                left = conn.execute("SELECT op_id FROM applied_ops").fetchall()
                n_events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
            conn.close()
            if left == [("op-prune-000002",)]:
                break
            time.sleep(0.2)
        assert left == [("op-prune-000002",)] and 0 < n_events < before + 1, (left, n_events)
        page = r.get(server.url + "/commitments")
        assert page.status_code == 200 and "Call at six" in page.text
    finally:
        server.stop()


@pytest.mark.server
def test_a_restarted_embedded_server_forgets_the_socket_rows_a_crash_left(tmp_path):
    """kill -9 leaves the rows of the sockets that were open; `python app.py`, the only
    process, forgets them before it serves, and keeps the rows of the sockets that connect to
    it afterwards (a logout finds them)."""
    from tests.support.scaleout_helpers import LiveClient

    server = start_server(tmp_path, name="crash")
    r = signup(server.url, "Riley", "riley@example.com")
    live = LiveClient(server.url, r, reconnect=False)
    db_file = server.instance / "couple.sqlite3"

    def rows():
        with sqlite3.connect(db_file, timeout=30) as conn:
            found = conn.execute("SELECT count(*) FROM live_sockets").fetchone()[0]
        conn.close()
        return found

    try:
        deadline = time.monotonic() + 20
        while rows() != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert rows() == 1
        server.kill9()
    finally:
        live.close()
    assert rows() == 1  # what the crash left
    again = start_server(tmp_path, name="crash")
    try:
        assert rows() == 0
        live = LiveClient(again.url, r)
        try:
            deadline = time.monotonic() + 20
            while rows() != 1 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert rows() == 1
        finally:
            live.close()
    finally:
        again.stop()
