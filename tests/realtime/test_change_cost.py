"""What one change costs in database statements, per kind: the realtime path's budget.

bench/realtime.py --profile shows the app's CPU per change going to the statements a change
runs (each a round trip plus SQLAlchemy's and psycopg's work around it, ~0.3-0.5 ms of CPU).
These are the counts today, each statement named, for the three kinds the benchmark makes:
one more read or write on a change path fails here first, with the statements printed.
BEGIN, COMMIT and ROLLBACK are not statements SQLAlchemy reports; `transactions()` counts them
where a path could add one (each is a round trip of its own on PostgreSQL).
"""
import contextlib
import re
from datetime import UTC, datetime

import pytest
from pycrdt import Map, Text
from sqlalchemy import event, func, select, update

from couple.commitments.models import (
    Acknowledgement,
    Commitment,
    CommitmentChange,
    FollowThrough,
)
from couple.commitments.operations import create_commitment
from couple.extensions import db
from couple.pairing.models import Couple
from tests.boundaries.boundaries_helpers import Editor
from tests.support.orm_loads import orm_loads

JSON = {"Accept": "application/json"}


@contextlib.contextmanager
def statements():
    seen: list[str] = []

    def count(conn, cursor, statement, params, context, executemany):
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


@contextlib.contextmanager
def transactions():
    """The transaction control a path sends: 'begin', 'commit', 'rollback' (pool resets too)."""
    seen: list[str] = []
    listeners = [(name, lambda *args, name=name: seen.append(name))
                 for name in ("begin", "commit", "rollback")]
    for name, fn in listeners:
        event.listen(db.engine, name, fn)
    try:
        yield seen
    finally:
        for name, fn in listeners:
            event.remove(db.engine, name, fn)


def _kinds(seen):
    """Each statement as its verb and table: 'select users', 'insert events', ..."""
    out = []
    for s in seen:
        if s.startswith("WITH "):  # a data-modifying WITH: every table it writes
            out.append("+".join(f"{verb.split()[0].lower()} {table}" for verb, table in
                                re.findall(r"(?<!DO )\b(INSERT INTO|UPDATE) (\w+)", s)))
            continue
        verb = s.split()[0].lower()
        outer = s
        while re.search(r"\([^()]*\)", outer):  # the statement's own table, not a subquery's
            outer = re.sub(r"\([^()]*\)", "", outer)
        table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)", outer)
        out.append(f"{verb} {table.group(1)}" if table and verb != "savepoint" else verb)
    return out


@pytest.fixture
def make_a_year(app):
    """A daily commitment after a year of use (bench/seed.py: every past day marked, nearly every
    mark acknowledged), as the CPU benchmark measures it."""
    from bench.seed import a_year_of_marks

    return a_year_of_marks


@pytest.fixture
def couple_client(make_couple, login_as):
    riley, sam = make_couple()
    client = login_as(riley)
    token = client.csrf_token()
    return riley, sam, client, {**JSON, "X-CSRFToken": token}


def test_guide_progress_is_five_statements(couple_client):
    _riley, _sam, client, headers = couple_client
    with statements() as seen:
        r = client.post("/guide/steps/3/state", json={"state": "practising",
                                                      "op_id": "progress-op-1"}, headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert _kinds(seen) == [
        "select users",            # the login session, its user and couple: one query
        "insert guide_progress",   # an upsert
        "update couples",          # the couple's next seq
        "insert events",
        "insert applied_ops",      # the op id, with its result
    ], seen


def test_a_first_mark_and_a_correction(couple_client):
    riley, _sam, client, headers = couple_client
    cid = create_commitment(riley, wording="Call when I am late", schedule="daily",
                            tz="UTC")["id"]
    today = datetime.now(UTC).date().isoformat()
    url = f"/commitments/{cid}/days/{today}/mark"
    with statements() as first:
        r = client.post(url, json={"status": "kept", "op_id": "mark-op-1"}, headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    common = [
        "select users",
        "update couples",              # the couple's stream lock, taking its next seq too
        "select commitments",          # with its own changes joined (pauses, edits), the op
                                       # id's applied row (a retry answers its first result),
                                       # the 90-day window's statuses and the day's own mark
    ]
    tail = ["insert events", "insert applied_ops"]
    assert _kinds(first) == common + [
        "insert follow_throughs",      # ON CONFLICT: the unique (commitment, day) without a
                                       # savepoint
        "insert commitment_changes",   # the mark's log
    ] + tail, first

    with statements() as again:
        r = client.post(url, json={"status": "missed", "op_id": "mark-op-2", "version": 1},
                        headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    # The day's own mark and its acknowledgement come with the window's statuses: no read more.
    assert _kinds(again) == common + [
        "update follow_throughs", "insert commitment_changes",
    ] + tail, again
    joined = next(s for s in again if s.startswith("SELECT") and "FROM commitments" in s)
    assert "JOIN commitment_changes" in joined and "JOIN applied_ops" in joined, joined
    assert "JOIN follow_throughs AS day_mark" in joined and "group_concat(" in joined, joined


def test_a_mark_after_a_year_reads_its_window_as_rows(couple_client, make_a_year):
    """After a year of daily marks a mark reads its window's ~90 statuses (one string), and the
    day's own mark with its acknowledgement, in the statement that reads its commitment, and
    builds no ORM object. Building them as objects was most of the mark's CPU (bench/change_cpu.py,
    a year in), and reading every mark of the window whole with its acknowledgement ~0.4 ms more
    than its statuses."""
    riley, sam, client, headers = couple_client
    cid = make_a_year(riley, sam)
    today = datetime.now(UTC).date().isoformat()
    with orm_loads(Commitment, FollowThrough, Acknowledgement, CommitmentChange) as loaded, \
            statements() as seen:
        r = client.post(f"/commitments/{cid}/days/{today}/mark",
                        json={"status": "kept", "op_id": "year-mark-1"}, headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    result = r.get_json()["result"]
    assert result["status"] == "kept" and result["version"] == 1
    # The same statements as on a commitment's first day, and nothing built as an object: not
    # the commitment, nor its marks, nor the schedule's own changes.
    assert _kinds(seen) == [
        "select users", "update couples", "select commitments", "insert follow_throughs",
        "insert commitment_changes", "insert events", "insert applied_ops"], seen
    assert loaded == [], loaded
    read = next(s for s in seen if s.startswith("SELECT") and "FROM commitments" in s)
    assert re.search(r"JOIN follow_through_acks AS day_ack ON day_ack\.follow_through_id = "
                     r"day_mark\.id", read), read

    # A correction a year in (what the benchmark makes): the day's mark is read whole, and the
    # commitment's item the partner is sent is the one a fresh read builds.
    from couple.commitments.items import item_for
    from couple.events import Event

    with statements() as seen:
        r = client.post(f"/commitments/{cid}/days/{today}/mark",
                        json={"status": "missed", "op_id": "year-mark-2", "version": 1},
                        headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert "select follow_throughs" not in _kinds(seen), seen
    sent = db.session.scalars(select(Event).where(Event.type == "commitments.marked")
                              .order_by(Event.id.desc()).limit(1)).one()
    event_item = sent.data["set"]["commitments"][str(cid)]
    fresh = item_for(db.session.get(Commitment, cid))
    assert event_item["rates"] == fresh["rates"] and event_item == fresh
    assert fresh["rates"]["7"]["missed"] >= 1


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_marks_one_read_reads_what_the_separate_reads_did(database, request, make_a_year):
    """mark_reads is the commitment, changes_of, statuses_in_window and mark_on in one
    statement: the same commitment and history, the same statuses, and the day's mark with its
    acknowledgement, on a day acknowledged, one not, one unmarked; in UTC and in the zones
    furthest east and west, whose windows start a day apart (the statement reads a day wider
    and the read cuts)."""
    from datetime import timedelta

    from couple.accounts.models import User
    from couple.commitments.items import changes_of, mark_on, mark_reads, statuses_in_window
    from couple.commitments.models import Commitment

    if database == "postgresql":
        app, (riley_id, sam_id) = request.getfixturevalue("pg_couple")
    else:
        app = request.getfixturevalue("app")
        riley, sam = request.getfixturevalue("make_couple")()
        riley_id, sam_id = riley.id, sam.id
    with app.app_context():
        cid = make_a_year(db.session.get(User, riley_id), db.session.get(User, sam_id))
        c = db.session.get(Commitment, cid)
        today = datetime.now(UTC).date()
        acked = [today - timedelta(days=n) for n in range(1, 30)
                 if mark_on(cid, today - timedelta(days=n))[1] is not None]
        bare = [today - timedelta(days=n) for n in range(1, 30)
                if mark_on(cid, today - timedelta(days=n))[1] is None]
        assert acked and bare
        unmarked = today + timedelta(days=1)  # no mark: none of the window's rows is its day
        couple_id = c.couple_id
        for tz in ("UTC", "Pacific/Kiritimati", "Etc/GMT+12"):
            db.session.execute(update(Commitment).where(Commitment.id == cid).values(tz=tz))
            db.session.commit()
            c = db.session.get(Commitment, cid)
            db.session.refresh(c)
            for day in (acked[0], bare[0], unmarked):
                read = mark_reads(couple_id, cid, day)
                assert read.by_day == statuses_in_window(c) and len(read.by_day) >= 80, tz
                assert (read.mark, read.ack) == mark_on(cid, day), (tz, day)
                assert read.commitment.tz == tz and read.commitment.id == cid
                assert [ch.id for ch in read.changes] == [ch.id for ch in changes_of([cid])[cid]]
                assert read.applied is None
        assert mark_reads(couple_id, cid, acked[0]).ack.seen_status in ("kept", "missed")
        assert mark_reads(couple_id + 1000, cid, acked[0]) is None  # another couple's: none
        db.session.remove()


def test_a_boundary_keystroke(couple_client, socket_for, login_as):
    riley, sam, client, _headers = couple_client
    a = Editor(socket_for(client), riley.id)
    a.sync()
    bid, ack = a.add("We tell each other when plans change.", "communication")
    assert ack == {"ok": True}
    boundary = next(m for m in a.array if isinstance(m, Map) and m.get("id") == bid)
    text = boundary["text"]
    assert isinstance(text, Text)
    with statements() as seen, transactions() as control:
        ack = a.edit(lambda: text.insert(len(str(text)), "!"))
    assert ack == {"ok": True}
    # One transaction from the login check to the commit: the replica's lock was free, so the
    # connection was not given back before taking it (a ROLLBACK and a BEGIN more).
    assert control[:2] == ["begin", "commit"] and "rollback" not in control[:2], control
    assert _kinds(seen) == [
        "select users",               # each socket event checks the login session anew
        "update boundary_docs",       # the document's row lock and next seq (the replica
                                      # has seen the last one: it reads nothing more)
        "insert boundary_updates",    # what the update adds, appended to the log
        "update boundary_docs",       # the log's size, for the limit and compaction
    ], seen


def test_on_postgresql_a_change_writes_its_events_with_its_op_id_in_one_statement(pg_couple):
    """Each statement is a round trip, and on PostgreSQL a round trip is most of a change's CPU
    (bench/realtime.py --profile): the events a change recorded go with its op id, at commit."""
    from couple.accounts.models import User
    from couple.events import AppliedOp, Event
    from couple.guides.operations import set_step_state

    app, (riley_id, _sam_id) = pg_couple
    with app.app_context():
        riley = db.session.get(User, riley_id)
        assert riley.active_couple is not None  # as the login check loads it
        with statements() as seen:
            first = set_step_state(riley, 3, "practising", "pg-progress-1")
        assert _kinds(seen) == [
            "insert guide_progress+update couples",  # the upsert, and the couple's next seq
            "insert events+insert applied_ops"], seen
        events_before = db.session.scalar(select(func.count()).select_from(Event))
        op = db.session.scalars(select(AppliedOp).where(AppliedOp.op_id == "pg-progress-1")).one()
        assert op.result == first
        event = db.session.scalars(select(Event).where(Event.op_id == "pg-progress-1")).one()
        assert event.data["set"]["progress"] and event.actor_id == riley_id

        # The same op id again (progress does not look first): the one statement fails whole on
        # the op id's key, nothing of the retry stays, and it answers the first result.
        riley = db.session.get(User, riley_id)
        assert set_step_state(riley, 3, "working", "pg-progress-1") == first
        assert db.session.scalar(select(func.count()).select_from(Event)) == events_before
        seq = db.session.scalar(select(Couple.last_seq).where(Couple.id == riley.couple_id))
        assert seq == event.seq  # no number was taken and lost

        # A change that records on two streams (a link tells both people): still one statement.
        riley = db.session.get(User, riley_id)
        from couple.events import change, couple_stream, user_stream

        with statements() as seen:
            with change(riley, "pg-two-events") as two:
                two.record(couple_stream(riley.couple_id), "test.one", {"n": 1})
                two.record(user_stream(riley.id), "test.two", {"n": 2})
                two.applied({"ok": True})
        assert _kinds(seen)[-1] == "insert events+insert events+insert applied_ops", seen
        assert sorted(db.session.scalars(select(Event.type).where(
            Event.op_id == "pg-two-events"))) == ["test.one", "test.two"]


def test_on_postgresql_a_mark_sends_its_log_row_with_its_event_and_op_id(pg_couple):
    """A mark's own row (a first mark or a correction) and its log row (nothing in the change
    reads either back) go in the change's last statement too; the history it builds is the
    same."""
    from couple.accounts.models import User
    from couple.commitments.items import mark_log
    from couple.commitments.models import Commitment
    from couple.commitments.operations import mark_follow_through

    app, (riley_id, _sam_id) = pg_couple
    with app.app_context():
        riley = db.session.get(User, riley_id)
        cid = create_commitment(riley, wording="Call when I am late", schedule="daily",
                                tz="UTC")["id"]
        today = datetime.now(UTC).date().isoformat()
        riley = db.session.get(User, riley_id)
        assert riley.active_couple is not None
        with statements() as seen:
            mark_follow_through(riley, cid, today, "kept", "", None, "pg-mark-1")
        # The mark itself goes in that statement too, guarded (events.change.insert/update).
        assert _kinds(seen) == [
            "update couples", "select commitments",
            "insert follow_throughs+insert commitment_changes+insert events+insert applied_ops"
        ], seen
        riley = db.session.get(User, riley_id)
        assert riley.active_couple is not None
        with statements() as seen:
            mark_follow_through(riley, cid, today, "missed", "", 1, "pg-mark-2")
        assert _kinds(seen) == [
            "update couples", "select commitments",
            "update follow_throughs+insert commitment_changes+insert events+insert applied_ops"
        ], seen
        log = mark_log(db.session.get(Commitment, cid))
        assert [(e["kind"], e["previous"], e["day"]) for e in log] == [
            ("missed", "kept", today), ("kept", None, today)]


def test_events_recorded_before_a_commit_in_the_middle_of_a_change_are_kept(app, make_couple):
    """A change that commits on its way (and then fails, or records nothing more) keeps the
    events it recorded before that commit: they were part of what that commit saved."""
    from couple.events import Event, change, couple_stream

    riley, _sam = make_couple()
    with pytest.raises(RuntimeError):
        with change(riley, "mid-commit") as c:
            c.record(couple_stream(riley.couple_id), "test.before", {"n": 1})
            db.session.commit()
            c.record(couple_stream(riley.couple_id), "test.after", {"n": 2})
            raise RuntimeError("after the commit")
    assert list(db.session.scalars(select(Event.type).where(Event.op_id == "mid-commit"))) == [
        "test.before"]
    # A no-op change that recorded: its block's end commits the event.
    with change(riley, None) as c:
        c.record(couple_stream(riley.couple_id), "test.noop", {"n": 3})
    assert db.session.scalar(select(func.count()).select_from(Event)
                             .where(Event.type == "test.noop")) == 1


def test_events_recorded_before_a_rollback_are_never_written(app, make_couple):
    """Nor a rolled-back event: a change that rolls back on its way (and goes on) or whose
    savepoint is rolled back writes none of what it recorded before."""
    from couple.events import Event, change, couple_stream

    riley, _sam = make_couple()
    with change(riley, "after-rollback") as c:
        c.record(couple_stream(riley.couple_id), "test.rolled", {"n": 1})
        db.session.rollback()
        c.record(couple_stream(riley.couple_id), "test.kept", {"n": 2})
        c.applied({"ok": True})
    with change(riley, "in-a-savepoint") as c:
        with pytest.raises(RuntimeError), db.session.begin_nested():
            c.record(couple_stream(riley.couple_id), "test.savepoint", {"n": 3})
            raise RuntimeError("the savepoint is rolled back")
        c.applied({"ok": True})
    types = list(db.session.scalars(select(Event.type).where(
        Event.op_id.in_(["after-rollback", "in-a-savepoint"]))))
    assert types == ["test.kept"], types


def test_on_postgresql_a_keystroke_appends_and_counts_in_one_statement(pg_couple):
    """A keystroke on PostgreSQL: the document's lock, then its update appended to the log and
    counted (for the limit and compaction) in one statement; the counts stay exact."""
    import pycrdt

    from couple.accounts.models import User
    from couple.boundaries.models import BoundaryDoc, BoundaryUpdate
    from couple.boundaries.operations import receive_message, receive_update

    app, (riley_id, _sam_id) = pg_couple
    with app.app_context():
        riley = db.session.get(User, riley_id)
        doc = pycrdt.Doc()
        array = doc.get("boundaries", type=pycrdt.Array)
        with doc.transaction():
            array.append(pycrdt.Map({"id": "pg-boundary-1", "category": "communication",
                                     "text": pycrdt.Text("We take a break."),
                                     "created_by": riley_id, "order": 1.0}))
        assert receive_update(riley.active_couple, riley, doc.get_update()).get("ok")
        db.session.remove()

        riley = db.session.get(User, riley_id)
        couple = riley.active_couple
        before = db.session.get(BoundaryDoc, couple.id)
        size, count = before.stored_bytes, before.updates_since_snapshot
        state = doc.get_state()
        with doc.transaction():
            array[0]["text"].insert(0, "!")
        update = doc.get_update(state)
        with statements() as seen:
            answer = receive_message(couple, riley, pycrdt.create_update_message(update))
        assert "error" not in answer, answer
        assert _kinds(seen) == [
            "update boundary_docs", "insert boundary_updates+update boundary_docs"], seen
        after = db.session.get(BoundaryDoc, couple.id)
        db.session.refresh(after)
        assert (after.stored_bytes, after.updates_since_snapshot) == (
            size + len(update), count + 1)
        row = db.session.scalars(select(BoundaryUpdate).where(
            BoundaryUpdate.couple_id == couple.id).order_by(BoundaryUpdate.seq.desc())).first()
        assert row.data == update and row.user_id == riley_id and row.created_at is not None


def test_a_socket_event_reads_who_sent_it_as_a_row(couple_client, socket_for):
    """Every socket event checks its login session: one Core statement into a snapshot
    (couple/accounts/signed_in.py), no User or Couple built by the ORM. A page still gets the
    ORM User its templates and forms change."""
    from couple.accounts.models import User

    riley, _sam, client, headers = couple_client
    sock = socket_for(client)
    with orm_loads(User, Couple) as loaded:
        with statements() as seen:
            beat = sock.emit("sync", {"couple_id": riley.couple_id}, callback=True)
            answer = sock.emit("change", {"path": "/guide/steps/3/state",
                                          "body": {"state": "practising",
                                                   "op_id": "snapshot-op-1"}}, callback=True)
        assert beat["couple"]["reset"] and answer["ok"], (beat, answer)
        assert _kinds(seen).count("select users") == 2, seen  # one per event
        assert loaded == [], loaded
        r = client.get("/home")
        assert r.status_code == 200
        assert "User" in loaded  # the page's login check: the ORM user


def test_a_heartbeat_sync_that_missed_nothing_is_the_login_check_alone(couple_client, socket_for,
                                                                       login_as):
    """Every tab syncs every ~25 s: the streams' counters come with the login check's one query
    (the user and the couple, each with its last seq), so a heartbeat that missed nothing runs
    no statement of its own; one that missed something gets it, exactly."""
    riley, sam, client, _headers = couple_client
    sock = socket_for(client)
    first = sock.emit("sync", {"couple_id": riley.couple_id}, callback=True)
    assert first["user"]["reset"] and first["couple"]["reset"], first
    since = {"user": first["user"]["last"], "couple_id": riley.couple_id,
             "couple": first["couple"]["last"]}
    with statements() as seen:
        beat = sock.emit("sync", since, callback=True)
    assert _kinds(seen) == ["select users"], seen
    assert beat["user"] == {"last": since["user"], "events": []}
    assert beat["couple"] == {"last": since["couple"], "events": []}

    partner = login_as(sam)
    r = partner.post("/guide/steps/2/state", json={"state": "working", "op_id": "heartbeat-op-1"},
                     headers={**JSON, "X-CSRFToken": partner.csrf_token()})
    assert r.status_code == 200, r.get_data(as_text=True)
    missed = sock.emit("sync", since, callback=True)
    assert missed["couple"]["last"] == since["couple"] + 1
    assert [e["op"] for e in missed["couple"]["events"]] == ["heartbeat-op-1"]


def test_on_postgresql_a_socket_events_round_trips_on_the_wire(pg_couple):
    """Round trips, not statements, are what a change pays most for on PostgreSQL, and BEGIN,
    COMMIT and ROLLBACK are round trips too: counted here in libpq's own trace, per event, in
    the steady state (past psycopg's prepare threshold, whose one Parse is a round trip more).
    The login check goes with the transaction's BEGIN (couple/pg_begin.py)."""
    import contextvars

    from couple.accounts.models import User
    from couple.extensions import socketio
    from tests.conftest import IsolatedSocket, login
    from tests.support.pg_wire import queries, round_trips, wire

    app, (riley_id, _sam_id) = pg_couple
    with app.app_context():
        riley = db.session.get(User, riley_id)
        client = app.test_client()
        login(client, riley)
        couple_id = riley.couple_id
        db.session.remove()
    sock = IsolatedSocket(contextvars.Context().run(socketio.test_client, app,
                                                    flask_test_client=client))
    try:
        first = sock.emit("sync", {"couple_id": couple_id}, callback=True)
        since = {"user": first["user"]["last"], "couple_id": couple_id,
                 "couple": first["couple"]["last"]}
        with app.app_context(), wire(db.engine) as traces:
            beat = sock.emit("sync", since, callback=True)
        assert beat["couple"] == {"last": since["couple"], "events": []}, beat
        (trace,) = traces
        assert [q.split(" FROM")[0][:22] for q in queries(trace)] == [
            "BEGIN; SELECT users.id", "ROLLBACK"], queries(trace)
        assert round_trips(trace) == 2, trace

        for n in range(7):  # past psycopg's prepare threshold: the steady state
            with app.app_context(), wire(db.engine) as traces:
                answer = sock.emit("change", {"path": "/guide/steps/3/state", "body": {
                    "state": ("practising", "working")[n % 2], "op_id": f"wire-{n}"}},
                    callback=True)
            assert answer.get("ok"), answer
        (trace,) = traces
        sent = queries(trace)
        # The check with its BEGIN; the upsert that takes the couple's next seq; the event
        # with its op id; COMMIT.
        assert sent[0].startswith("BEGIN; SELECT users.id") and sent[-1] == "COMMIT", sent
        assert round_trips(trace) == 4, (sent, trace)

        # A mark (corrections back and forth): the check with its BEGIN, the stream's lock, the
        # one read, the mark with its log row, event and op id, COMMIT.
        with app.app_context():
            cid = create_commitment(db.session.get(User, riley_id), wording="Call when late",
                                    schedule="daily", tz="UTC")["id"]
            db.session.remove()
        path = f"/commitments/{cid}/days/{datetime.now(UTC).date().isoformat()}/mark"
        for n in range(8):
            body = {"status": ("kept", "missed")[n % 2], "op_id": f"wire-mark-{n}"}
            if n:
                body["version"] = n
            with app.app_context(), wire(db.engine) as traces:
                answer = sock.emit("change", {"path": path, "body": body}, callback=True)
            assert answer.get("ok"), answer
        (trace,) = traces
        assert queries(trace)[0].startswith("BEGIN; SELECT users.id"), queries(trace)
        assert round_trips(trace) == 5, (queries(trace), trace)

        # A keystroke: the check with its BEGIN, the document's lock and next seq, the append
        # that counts the log's size, COMMIT.
        editor = Editor(sock, riley_id)
        editor.sync()
        bid, ack = editor.add("We say when plans change.", "communication")
        assert ack == {"ok": True}, ack
        text = next(m for m in editor.array if isinstance(m, Map) and m.get("id") == bid)["text"]
        for _ in range(8):
            with app.app_context(), wire(db.engine) as traces:
                ack = editor.edit(lambda: text.insert(len(str(text)), "!"))
            assert ack == {"ok": True}, ack
        (trace,) = traces
        assert queries(trace)[0].startswith("BEGIN; SELECT users.id"), queries(trace)
        assert round_trips(trace) == 4, (queries(trace), trace)
    finally:
        if sock.is_connected():
            sock.disconnect()
