"""The one change path (couple.events.change): exactly once, all or nothing, retries answered.

On SQLite (the embedded default) the helper itself; on PostgreSQL two retries of one op id
sent at the same instant from two threads, which is the race the unique key and the stream lock
settle: both get the first answer, one change is recorded.
"""
import threading

import pytest
from sqlalchemy import func, select

from couple import events
from couple.accounts.models import User
from couple.errors import Conflict
from couple.events import AppliedOp, Event
from couple.extensions import db
from couple.guides import drafts
from couple.guides import operations as guides
from couple.guides.models import GuideProgress, Reflection
from tests.conftest import login


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_applied_records_remembers_and_commits(make_couple):
    riley, _sam = make_couple()
    stream = events.couple_stream(riley.couple_id)
    before = events.last_seq(stream)
    with events.change(riley, "op-change-0001", lock=stream) as change:
        assert not change.repeated
        change.record(stream, "test.changed", {"set": {"things": {"1": {"n": 1}}}})
        assert change.applied({"n": 1}) == {"n": 1}
    db.session.rollback()  # nothing left to roll back: it was committed
    assert events.last_seq(stream) == before + 1
    ev = db.session.scalar(select(Event).where(Event.type == "test.changed"))
    assert ev.op_id == "op-change-0001" and ev.actor_id == riley.id
    stored = db.session.scalar(select(AppliedOp).where(AppliedOp.op_id == "op-change-0001"))
    assert stored.user_id == riley.id and stored.result == {"n": 1}


def test_a_repeated_op_id_answers_the_first_result_and_writes_nothing(make_couple):
    riley, _sam = make_couple()
    stream = events.couple_stream(riley.couple_id)
    with events.change(riley, "op-change-0002", lock=stream) as change:
        change.record(stream, "test.changed", {"set": {"things": {"1": {"n": 1}}}})
        change.applied({"n": 1})
    seq = events.last_seq(stream)
    with events.change(riley, "op-change-0002", lock=stream) as change:
        assert change.repeated and change.result == {"n": 1}
    assert events.last_seq(stream) == seq
    assert _count(Event, Event.type == "test.changed") == 1
    # The op id is this person's: the same id from the partner is a different op.
    sam = db.session.get(User, _sam.id)
    with events.change(sam, "op-change-0002") as change:
        assert not change.repeated


def test_a_late_retry_of_a_mark_answers_its_first_result_after_another_change(make_couple):
    """A correction applied, then the same tab's next one, then the first one's retry (its
    answer was lost on the way): the retry is found by its op id and answered as the first time,
    not compared with the mark as it is now (a conflict) nor applied again."""
    from datetime import UTC, datetime

    from couple.commitments.operations import create_commitment, mark_follow_through

    riley, _sam = make_couple()
    today = datetime.now(UTC).date().isoformat()
    cid = create_commitment(riley, wording="Say when plans change", schedule="daily",
                            tz="UTC")["id"]
    kept = mark_follow_through(riley, cid, today, "kept", "", None, "op-late-1")
    missed = mark_follow_through(riley, cid, today, "missed", "", kept["version"], "op-late-2")
    again = mark_follow_through(riley, cid, today, "kept", "", missed["version"], "op-late-3")
    assert again["version"] == 3
    stream = events.couple_stream(riley.couple_id)
    seq = events.last_seq(stream)
    retry = mark_follow_through(riley, cid, today, "missed", "", kept["version"], "op-late-2")
    assert retry == missed
    assert events.last_seq(stream) == seq
    assert _count(Event, Event.op_id == "op-late-2") == 1


def _seqs(stream) -> list[int]:
    return list(db.session.scalars(select(Event.seq).where(Event.stream == stream)
                                   .order_by(Event.seq)))


def test_the_seq_a_lock_takes_is_given_back_unless_an_event_uses_it(make_couple):
    """The lock's statement takes the stream's next seq too; a change that records nothing on
    the stream it locked gives it back, so a stream never has a gap (a gap makes every open
    tab reload its state)."""
    riley, _sam = make_couple()
    couple, own = events.couple_stream(riley.couple_id), events.user_stream(riley.id)
    start, start_own = events.last_seq(couple), events.last_seq(own)
    with events.change(riley, "op-seq-0001", lock=couple) as change:  # a no-op
        pass
    with events.change(riley, "op-seq-0002", lock=couple) as change:  # applied, no event
        change.applied({"nothing": True})
    with events.change(riley, "op-seq-0003", lock=couple) as change:  # only another stream
        change.record(own, "test.own", {"set": {}})
        change.applied({"own": True})
    assert events.last_seq(couple) == start
    assert events.last_seq(own) == start_own + 1
    with events.change(riley, "op-seq-0004", lock=couple) as change:  # two on the locked one
        change.record(couple, "test.first", {"set": {}})
        change.record(couple, "test.second", {"set": {}})
        change.applied({"two": True})
    with events.change(riley, "op-seq-0005", lock=(couple, own)) as change:
        change.record(own, "test.own", {"set": {}})
        change.applied({"own only": True})
    with events.change(riley, "op-seq-0004", lock=couple) as change:  # a repeat
        assert change.repeated
    with events.change(riley, "op-seq-0006", lock=couple) as change:
        change.record(couple, "test.third", {"set": {}})
        change.applied({"three": True})
    assert _seqs(couple)[-3:] == [start + 1, start + 2, start + 3] == list(
        range(start + 1, events.last_seq(couple) + 1))
    assert _seqs(own)[-2:] == [start_own + 1, start_own + 2] == [events.last_seq(own) - 1,
                                                                 events.last_seq(own)]


def test_a_commit_or_savepoint_inside_a_change_leaves_no_gap(make_couple):
    """An operation that commits on its way (the boundaries document's first row is saved so)
    gives back what the lock took; a savepoint's release or rollback does not."""
    riley, _sam = make_couple()
    couple = events.couple_stream(riley.couple_id)
    start = events.last_seq(couple)
    with events.change(riley, "op-seq-0101", lock=couple) as change:
        db.session.commit()  # mid-change: the taken seq goes back first
        change.record(couple, "test.after_commit", {"set": {}})
        change.applied({"after": True})
    with pytest.raises(Conflict), events.change(riley, "op-seq-0102", lock=couple):
        db.session.commit()
        raise Conflict("refused after saving something")
    with events.change(riley, "op-seq-0103", lock=couple) as change:
        with db.session.begin_nested():
            pass
        savepoint = db.session.begin_nested()
        savepoint.rollback()
        change.record(couple, "test.after_savepoints", {"set": {}})
        change.applied({"savepoints": True})
    assert _seqs(couple)[-2:] == [start + 1, start + 2]
    assert events.last_seq(couple) == start + 2


def test_an_exception_rolls_back_rows_events_seq_and_op(make_couple):
    riley, _sam = make_couple()
    riley_id, couple_id = riley.id, riley.couple_id
    stream = events.couple_stream(couple_id)
    seq = events.last_seq(stream)
    with pytest.raises(Conflict):
        with events.change(riley, "op-change-0003", lock=stream) as change:
            db.session.add(Reflection(user_id=riley_id, guide="rebuilding", step=1, text="x",
                                      version=1))
            db.session.flush()
            change.record(stream, "test.changed", {"set": {"things": {"1": {}}}})
            raise Conflict("refused")
    assert events.last_seq(stream) == seq
    assert _count(Event, Event.type == "test.changed") == 0
    assert _count(Reflection) == 0
    assert _count(AppliedOp, AppliedOp.op_id == "op-change-0003") == 0


def test_the_fast_path_refuses_a_repeat_by_the_unique_key(make_couple):
    """look_first=False (guide progress): no query up front; the repeat's writes are rolled back
    whole and the first answer is given."""
    riley, _sam = make_couple()
    first = guides.set_step_state(riley, 2, "working", "op-change-0004")
    seq = events.last_seq(events.couple_stream(riley.couple_id))
    again = guides.set_step_state(db.session.get(User, riley.id), 2, "practising",
                                  "op-change-0004")
    assert again == first
    assert db.session.scalar(select(GuideProgress.state)) == "working"
    assert events.last_seq(events.couple_stream(riley.couple_id)) == seq


def test_saving_forgets_the_kept_draft_in_the_same_change(make_couple):
    riley, _sam = make_couple()
    key = "reflection:rebuilding:1"
    drafts.keep_drafts(riley, {key: "half written"})
    db.session.commit()
    # A refused save (an old copy) keeps the draft: nothing of the change is committed.
    guides.save_reflection(riley, 1, "first words", 0)
    drafts.keep_drafts(db.session.get(User, riley.id), {key: "half written"})
    db.session.commit()
    with pytest.raises(Conflict):
        guides.save_reflection(db.session.get(User, riley.id), 1, "other words", 0)
    assert drafts.drafts_for(db.session.get(User, riley.id)) == {key: "half written"}
    # A save that changes nothing (the same words) still forgets it: the words are saved.
    guides.save_reflection(db.session.get(User, riley.id), 1, "first words", 1)
    db.session.rollback()
    assert drafts.drafts_for(db.session.get(User, riley.id)) == {}


# ---------------------------------------------------------------- PostgreSQL: retries racing

@pytest.fixture
def pg(pg_couple):
    app, (riley_id, _sam_id) = pg_couple
    return app, riley_id


def _race(app, user_id, url, body, n=3):
    """The same request (same op id) from n tabs of one person at the same instant."""
    tabs = []
    with app.app_context():
        user = db.session.get(User, user_id)
        for _ in range(n):
            c = app.test_client()
            login(c, user)
            tabs.append(c)
    barrier = threading.Barrier(n)
    answers = [None] * n

    def go(i, client):
        barrier.wait()
        r = client.post(url, json=body)
        answers[i] = (r.status_code, r.get_json())

    threads = [threading.Thread(target=go, args=(i, c)) for i, c in enumerate(tabs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return answers


@pytest.mark.postgres
def test_retries_of_a_progress_change_racing_apply_once(pg):
    app, riley_id = pg
    body = {"state": "working", "op_id": "op-race-progress-1"}
    answers = _race(app, riley_id, "/guide/steps/4/state", body)
    assert [code for code, _ in answers] == [200, 200, 200], answers
    assert len({repr(a) for _c, a in answers}) == 1, "every retry answers the first result"
    with app.app_context():
        assert _count(Event, Event.type == "guide.progress") == 1
        assert _count(AppliedOp, AppliedOp.op_id == "op-race-progress-1") == 1


@pytest.mark.postgres
def test_retries_of_a_correction_racing_apply_once(pg):
    """Three retries of one correction (kept -> missed, sent with the version it saw) at the
    same instant: they take the couple's lock in turn, the first applies, the others answer
    its result; none is a conflict, one event."""
    from datetime import UTC, datetime

    from couple.commitments.operations import create_commitment, mark_follow_through

    app, riley_id = pg
    today = datetime.now(UTC).date().isoformat()
    with app.app_context():
        riley = db.session.get(User, riley_id)
        cid = create_commitment(riley, wording="Text when I leave work", schedule="daily",
                                tz="UTC")["id"]
        first = mark_follow_through(db.session.get(User, riley_id), cid, today, "kept")
        db.session.remove()
    body = {"status": "missed", "version": first["version"], "op_id": "op-race-correct-1"}
    answers = _race(app, riley_id, f"/commitments/{cid}/days/{today}/mark", body)
    assert [code for code, _ in answers] == [200, 200, 200], answers
    assert len({repr(a) for _c, a in answers}) == 1, "every retry answers the first result"
    with app.app_context():
        assert _count(Event, Event.op_id == "op-race-correct-1") == 1
        assert _count(AppliedOp, AppliedOp.op_id == "op-race-correct-1") == 1


@pytest.mark.postgres
def test_different_changes_racing_on_one_couple_leave_no_gap(pg):
    """Five tabs mark five commitments at the same instant (each change locks the couple and
    takes its seq with the lock), then repeat every op: the couple's stream is 1..n, no gap,
    no duplicate, one event per op."""
    from datetime import UTC, datetime

    from couple.commitments.operations import create_commitment

    app, riley_id = pg
    with app.app_context():
        riley = db.session.get(User, riley_id)
        ids = [create_commitment(riley, wording=f"Promise {i}", schedule="daily",
                                 tz="UTC")["id"] for i in range(5)]
        stream = events.couple_stream(riley.couple_id)
    today = datetime.now(UTC).date().isoformat()
    tabs = []
    with app.app_context():
        for _ in ids:
            c = app.test_client()
            login(c, db.session.get(User, riley_id))
            tabs.append(c)
    barrier = threading.Barrier(len(ids))
    answers = {}

    def go(i, client, op):
        barrier.wait()
        r = client.post(f"/commitments/{ids[i]}/days/{today}/mark",
                        json={"status": "kept", "op_id": op})
        answers[(i, op)] = r.status_code

    for round_ in ("a", "a"):  # the second round repeats every op id: answered, nothing new
        threads = [threading.Thread(target=go, args=(i, c, f"op-gap-{round_}-{i:04d}"))
                   for i, c in enumerate(tabs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert set(answers.values()) == {200}, answers
    with app.app_context():
        seqs = _seqs(stream)
        assert seqs == list(range(1, events.last_seq(stream) + 1)), seqs
        marks = db.session.scalars(select(Event.op_id).where(
            Event.stream == stream, Event.type == "commitments.marked")).all()
        assert sorted(marks) == [f"op-gap-a-{i:04d}" for i in range(5)], marks


@pytest.mark.postgres
def test_retries_of_a_first_reflection_racing_apply_once(pg):
    """The first save of a reflection inserts its row: without the writer's stream lock the
    second retry would hit the reflection's own unique key (a 500) instead of the op id."""
    app, riley_id = pg
    body = {"text": "written once", "version": 0, "op_id": "op-race-reflection-1"}
    answers = _race(app, riley_id, "/guide/steps/5/reflection", body)
    assert [code for code, _ in answers] == [200, 200, 200], answers
    assert len({repr(a) for _c, a in answers}) == 1
    with app.app_context():
        assert _count(Reflection) == 1
        assert _count(Event, Event.type == "guide.reflection") == 1
