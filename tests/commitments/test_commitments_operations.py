"""Commitment operations, called directly: who may do what, history, versions, retries."""
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from couple.commitments import operations as ops
from couple.commitments.schedule import local_today
from couple.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.commitments.commitments_helpers import day, fresh_state, make_commitment, rows, user


def test_make_and_see_for_both(make_couple):
    riley, sam = make_couple()
    item = make_commitment(riley, "Share my phone calendar", days_back=3)
    mine = make_commitment(sam, "Go for a walk for myself", schedule="weekdays", weekdays=[0, 2, 4])
    for u in (riley, sam):
        data = fresh_state(u)["data"]["commitments"]
        assert data[str(item["id"])]["wording"] == "Share my phone calendar"
        assert data[str(mine["id"])]["schedule_text"] == "Every Mon, Wed and Fri"
    assert item["due_today"] and item["rates"]["7"]["unmarked"] == 3


def test_only_the_owner_marks_and_the_partner_acknowledges(make_couple):
    riley, sam = make_couple()
    item = make_commitment(riley, days_back=2)
    before = rows()
    with pytest.raises(Forbidden):
        ops.mark_follow_through(user(sam), item["id"], day(item), "missed")
    assert rows() == before, "a refused mark changes nothing"
    mark = ops.mark_follow_through(user(riley), item["id"], day(item, 1), "kept", "called at six")
    assert mark["status"] == "kept" and mark["ack"] is None
    with pytest.raises(Forbidden):
        ops.acknowledge_mark(user(riley), item["id"], day(item, 1), "well done me")
    acked = ops.acknowledge_mark(user(sam), item["id"], day(item, 1), "I noticed, thank you")
    assert acked["ack"]["note"] == "I noticed, thank you" and acked["ack"]["by"] == sam.id
    assert acked["status"] == "kept" and acked["note"] == "called at six", \
        "an ack never changes the mark"
    # Nothing marked yet on that day: nothing to acknowledge.
    with pytest.raises(InvalidInput):
        ops.acknowledge_mark(user(sam), item["id"], day(item, 2))


def test_the_owner_corrects_their_own_mark_and_the_ack_remembers_what_it_saw(make_couple):
    riley, sam = make_couple()
    item = make_commitment(riley, days_back=1)
    ops.mark_follow_through(user(riley), item["id"], day(item, 1), "kept")
    ops.acknowledge_mark(user(sam), item["id"], day(item, 1))
    fixed = ops.mark_follow_through(user(riley), item["id"], day(item, 1), "missed",
                                    "I was honest later", base_version=1)
    assert fixed["status"] == "missed" and fixed["version"] == 2 and fixed["corrected_at"]
    assert fixed["ack"]["seen_status"] == "kept"
    c = fresh_state(riley)["data"]["commitments"][str(item["id"])]
    assert c["rates"]["7"]["missed"] == 1 and c["rates"]["7"]["kept"] == 0


def test_marks_are_for_due_days_inside_the_window(make_couple):
    riley, _ = make_couple()
    item = make_commitment(riley, schedule="weekdays",
                           weekdays=[local_today("Europe/London").weekday()], days_back=20)
    with pytest.raises(InvalidInput, match="not come yet"):
        ops.mark_follow_through(user(riley), item["id"], day(item, -1), "kept")
    with pytest.raises(InvalidInput, match="not due"):
        ops.mark_follow_through(user(riley), item["id"], day(item, 1), "kept")
    with pytest.raises(InvalidInput):
        ops.mark_follow_through(user(riley), item["id"], day(item), "sort of")
    with pytest.raises(InvalidInput):
        ops.mark_follow_through(user(riley), item["id"], "yesterday", "kept")
    missed = ops.mark_follow_through(user(riley), item["id"], day(item, 7), "missed")
    assert missed["status"] == "missed"
    with pytest.raises(InvalidInput):
        make_commitment(riley, days_back=ops.WINDOW_DAYS)  # would start outside the window


def test_a_missed_day_lowers_the_rate_and_keeps_the_rest(make_couple):
    riley, _ = make_couple()
    item = make_commitment(riley, days_back=10)
    for back in range(1, 11):
        ops.mark_follow_through(user(riley), item["id"], day(item, back), "kept")
    full = fresh_state(riley)["data"]["commitments"][str(item["id"])]["rates"]
    assert full["7"]["rate"] == 100 and full["30"]["kept"] == 10
    ops.mark_follow_through(user(riley), item["id"], day(item, 3), "missed", base_version=1)
    after = fresh_state(riley)["data"]["commitments"][str(item["id"])]["rates"]
    # The window is the last 7 local days; a rate counts marked days only (today is not marked).
    assert after["7"] == {"kept": 5, "missed": 1, "marked": 6, "unmarked": 0, "rate": 83}
    assert after["30"]["kept"] == 9, "no reset: every other kept day still counts"


def test_reword_keeps_what_was_promised_before(make_couple):
    riley, sam = make_couple()
    item = make_commitment(riley, "Text when I leave work")
    with pytest.raises(Forbidden):
        ops.reword_commitment(user(sam), item["id"], "Something else")
    new = ops.reword_commitment(user(riley), item["id"],
                                "Text when I leave work, and when I arrive", base_version=1)
    assert new["version"] == 2
    history = fresh_state(sam)["data"]["commitments"][str(item["id"])]["history"]
    assert [h["kind"] for h in history] == ["made", "reworded"]
    assert history[1]["previous"] == "Text when I leave work"
    # A second tab that still holds version 1 gets the saved copy back, not a silent overwrite.
    with pytest.raises(Conflict) as err:
        ops.reword_commitment(user(riley), item["id"], "An older idea", base_version=1)
    assert err.value.extra["current"]["wording"] == "Text when I leave work, and when I arrive"


def test_pause_resume_end(make_couple):
    riley, sam = make_couple()
    item = make_commitment(riley, days_back=5)
    with pytest.raises(Forbidden):
        ops.set_commitment_status(user(sam), item["id"], "paused")
    paused = ops.set_commitment_status(user(riley), item["id"], "paused")
    assert paused["status"] == "paused" and not paused["due_today"]
    again = ops.set_commitment_status(user(riley), item["id"], "paused")
    assert again == paused, "pausing twice is a no-op"
    # Past days stay due (not marked, not missed): a pause never rewrites history.
    assert paused["rates"]["7"]["unmarked"] == 5 and paused["rates"]["7"]["marked"] == 0
    resumed = ops.set_commitment_status(user(riley), item["id"], "active")
    assert resumed["status"] == "active" and resumed["due_today"]
    ended = ops.set_commitment_status(user(riley), item["id"], "ended")
    assert ended["status"] == "ended" and not ended["due_today"]
    assert [h["kind"] for h in ended["history"]] == ["made", "paused", "resumed", "ended"]
    with pytest.raises(InvalidInput):
        ops.set_commitment_status(user(riley), item["id"], "active")
    with pytest.raises(InvalidInput):
        ops.reword_commitment(user(riley), item["id"], "New words")
    # Past occurrences of an ended commitment can still be marked honestly.
    kept = ops.mark_follow_through(user(riley), item["id"], day(item, 2), "kept")
    assert kept["status"] == "kept"


def test_retries_with_the_same_op_id_apply_once(make_couple):
    riley, sam = make_couple()
    first = ops.create_commitment(user(riley), wording="Once only", schedule="daily",
                                  tz="UTC", op_id="op-create-0001")
    again = ops.create_commitment(user(riley), wording="Once only", schedule="daily",
                                  tz="UTC", op_id="op-create-0001")
    assert again == first
    assert len(fresh_state(riley)["data"]["commitments"]) == 1
    today = local_today("UTC").isoformat()
    ops.mark_follow_through(user(riley), first["id"], today, "kept", op_id="op-mark-00001")
    # The retry of a mark made when the day was still unmarked (base version 0) is not a 409.
    ops.mark_follow_through(user(riley), first["id"], today, "kept", base_version=0,
                            op_id="op-mark-00001")
    ops.acknowledge_mark(user(sam), first["id"], today, "seen", op_id="op-ack-000001")
    before = rows()
    ops.acknowledge_mark(user(sam), first["id"], today, "seen", op_id="op-ack-000001")
    ops.reword_commitment(user(riley), first["id"], "Twice?", op_id="op-reword-01")
    ops.reword_commitment(user(riley), first["id"], "Twice?", op_id="op-reword-01")
    assert len(rows()["commitment_changes"]) == len(before["commitment_changes"]) + 1
    # The mark and its retry left one entry in the mark log, not two.
    log = ops.mark_log(ops.commitment_for(user(riley), first["id"]))
    assert [e["kind"] for e in log] == ["kept"]


def test_validation(make_couple, make_user):
    riley, _ = make_couple()
    bad = [
        dict(wording="", schedule="daily"),
        dict(wording="x" * 281, schedule="daily"),
        dict(wording="ok", schedule="hourly"),
        dict(wording="ok", schedule="weekdays", weekdays=[]),
        dict(wording="ok", schedule="weekdays", weekdays=[9]),
        dict(wording="ok", schedule="daily", tz="Nowhere/Land"),
        dict(wording="ok", schedule="daily", start="2026-02-30"),
        dict(wording="ok", schedule="daily",
             end=(local_today("UTC") - timedelta(days=1)).isoformat()),
        dict(wording="ok", schedule="daily", step=99),
    ]
    before = rows()
    for kwargs in bad:
        kwargs.setdefault("tz", "UTC")
        with pytest.raises(InvalidInput):
            ops.create_commitment(user(riley), **kwargs)
    assert rows() == before
    loner = make_user()
    with pytest.raises(NotFound):
        ops.create_commitment(loner, wording="alone", schedule="daily", tz="UTC")


def test_once_and_weekly(make_couple):
    riley, _ = make_couple()
    once = make_commitment(riley, "Apologise to your sister", schedule="once", days_back=2)
    assert once["end"] == once["start"] and not once["due_today"]
    assert once["rates"]["7"]["unmarked"] == 1 and once["rates"]["7"]["rate"] is None
    weekly = make_commitment(riley, "Weekly check-in", schedule="weekly", days_back=13)
    assert weekly["rates"]["30"]["unmarked"] == 2
    assert weekly["schedule_text"].startswith("Every ")


def test_a_guide_step(make_couple):
    riley, _ = make_couple()
    item = make_commitment(riley, step=3)
    assert item["guide"] == "rebuilding"
    assert item["step_title"] == "Take Responsibility for Your Actions"


def test_unlinked_partner_no_longer_reaches_commitments(make_couple):
    from couple.pairing import operations as pairing

    riley, sam = make_couple()
    item = make_commitment(riley)
    pairing.unlink(user(sam))
    with pytest.raises(NotFound):
        ops.acknowledge_mark(user(sam), item["id"], day(item))
    assert fresh_state(sam)["data"]["commitments"] == {}


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
@pytest.mark.parametrize("op_id", [None, "op-guard"])
def test_a_mark_written_past_the_couple_lock_is_a_conflict_not_a_lost_write(
        database, op_id, request, monkeypatch):
    """Every mark runs under the couple's lock, so two never meet; the mark's own write guards
    all the same (a writer that forgot the lock, a later code path). Here the mark's read is
    made stale, as if such a writer had changed the day between the read and the write: the
    day read as unmarked though it is marked (the insert finds it there), or its mark read at
    an older version (the update finds no such row). Each is a Conflict carrying the saved
    copy, and nothing is written: no mark, no log entry, no event, no op id. With an op id
    the write goes in the statement that ends the change (PostgreSQL's one round trip); the
    guard is checked there too."""
    from couple import events
    from couple.accounts.models import User
    from couple.commitments import items
    from couple.commitments.items import mark_on
    from couple.extensions import db

    if database == "postgresql":
        app, (riley_id, _sam_id) = request.getfixturevalue("pg_couple")
    else:
        app = request.getfixturevalue("app")
        riley_id = request.getfixturevalue("make_couple")()[0].id
    with app.app_context():
        riley = db.session.get(User, riley_id)
        item = make_commitment(riley, days_back=1)
        on = day(item, 1)
        ops.mark_follow_through(user(riley), item["id"], on, "kept", "called")
        saved, _ack = mark_on(item["id"], date.fromisoformat(on))
        before = rows(), db.session.scalar(select(func.count()).select_from(events.Event)), \
            db.session.scalar(select(func.count()).select_from(events.AppliedOp))
        real = items.mark_reads

        for stale in ({"mark": None, "ack": None}, {"mark": saved._replace(version=0)}):
            def stale_read(*args, stale=stale, **kwargs):
                return real(*args, **kwargs)._replace(**stale)

            monkeypatch.setattr(ops, "mark_reads", stale_read)
            with pytest.raises(Conflict) as raised:
                ops.mark_follow_through(user(riley), item["id"], on, "missed", "", None, op_id)
            assert raised.value.as_dict()["current"]["status"] == "kept", stale
            db.session.rollback()
            after = rows(), db.session.scalar(select(func.count()).select_from(events.Event)), \
                db.session.scalar(select(func.count()).select_from(events.AppliedOp))
            assert after == before, stale
            assert mark_on(item["id"], saved.day)[0] == saved
        monkeypatch.setattr(ops, "mark_reads", real)
        # Unstale, the same change goes through.
        done = ops.mark_follow_through(user(riley), item["id"], on, "missed", "", None, op_id)
        assert done["status"] == "missed" and done["version"] == saved.version + 1
        db.session.remove()
