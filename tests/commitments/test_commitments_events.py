"""The event contract for every commitments operation that emits: for each partner, the state
before + the events their sockets received == a fresh fetch after; no event is a no-op, and a
refused or repeated operation sends nothing."""
import pytest

from couple.commitments import operations as ops
from couple.errors import OperationError
from tests.commitments.commitments_helpers import day, fresh_state, make_commitment, user
from tests.conftest import events_named
from tests.support.contract import Contract


@pytest.fixture
def watched(make_couple, login_as, socket_for):
    """Both partners connected; every verify also checks both got the same events (no
    commitments event is private). The harness: tests/support/contract.py."""
    riley, sam = make_couple()
    contract = Contract.for_sockets({u.id: socket_for(login_as(u)) for u in (riley, sam)},
                                    same_for_all=True)
    return riley, sam, contract.verify


def test_every_emitting_operation(watched):
    riley, sam, verify = watched
    item = verify(lambda: make_commitment(riley, "Share where I am going", days_back=5),
                  types=["commitments.made"])
    cid = item["id"]
    other = verify(lambda: make_commitment(sam, "Take an evening for myself", schedule="weekly",
                                           days_back=7), types=["commitments.made"])
    verify(lambda: ops.mark_follow_through(user(riley), cid, day(item), "kept", "told you at noon"),
           types=["commitments.marked"])
    verify(lambda: ops.mark_follow_through(user(riley), cid, day(item, 2), "missed"),
           types=["commitments.marked"])
    verify(lambda: ops.acknowledge_mark(user(sam), cid, day(item, 2), "Thank you for saying so"),
           types=["commitments.acknowledged"])
    verify(lambda: ops.mark_follow_through(user(riley), cid, day(item, 2), "kept",
                                           "I did, in the end", base_version=1),
           types=["commitments.marked"])
    verify(lambda: ops.acknowledge_mark(user(sam), cid, day(item, 2), "Noticed that too"),
           types=["commitments.acknowledged"])
    verify(lambda: ops.mark_follow_through(user(sam), other["id"], day(other, 7), "kept"),
           types=["commitments.marked"])
    verify(lambda: ops.acknowledge_mark(user(riley), other["id"], day(other, 7)),
           types=["commitments.acknowledged"])
    verify(lambda: ops.reword_commitment(user(riley), cid, "Share where I am going, and with whom"),
           types=["commitments.reworded"])
    verify(lambda: ops.set_commitment_status(user(riley), cid, "paused"),
           types=["commitments.paused"])
    verify(lambda: ops.set_commitment_status(user(riley), cid, "active"),
           types=["commitments.resumed"])
    verify(lambda: ops.set_commitment_status(user(riley), cid, "ended"),
           types=["commitments.ended"])


def test_refused_repeated_and_no_op_operations_send_nothing(watched):
    riley, sam, verify = watched
    item = verify(lambda: make_commitment(riley, days_back=1))
    cid = item["id"]
    verify(lambda: ops.mark_follow_through(user(riley), cid, day(item), "kept",
                                           op_id="op-same-0001"))

    def refused(fn):
        def run():
            with pytest.raises(OperationError):
                fn()
        return run

    verify(refused(lambda: ops.mark_follow_through(user(sam), cid, day(item), "missed")), types=[])
    verify(refused(lambda: ops.reword_commitment(user(sam), cid, "mine now")), types=[])
    verify(refused(lambda: ops.acknowledge_mark(user(riley), cid, day(item))), types=[])
    verify(refused(lambda: ops.mark_follow_through(user(riley), cid, day(item), "missed",
                                                   base_version=0)), types=[])
    verify(lambda: ops.mark_follow_through(user(riley), cid, day(item), "kept",
                                           op_id="op-same-0001"),
           types=[])
    verify(lambda: ops.mark_follow_through(user(riley), cid, day(item), "kept"), types=[])
    verify(lambda: ops.reword_commitment(user(riley), cid, item["wording"]), types=[])
    verify(lambda: ops.set_commitment_status(user(riley), cid, "active"), types=[])


def test_another_couple_hears_nothing(watched, make_couple, login_as, socket_for):
    riley, sam, verify = watched
    eve, mallory = make_couple()
    outsider = socket_for(login_as(eve))
    outsider.get_received()
    item = verify(lambda: make_commitment(riley, "Private to this couple"))
    verify(lambda: ops.mark_follow_through(user(riley), item["id"], day(item), "kept"))
    assert events_named(outsider.get_received()) == []
    assert fresh_state(eve)["data"]["commitments"] == {}


def test_rates_in_the_events_count_marked_days_only(watched):
    """Issue 12: a commitment started in the past begins "not marked", not at 0%; marking one
    of those days missed moves the rate both partners hold, through the event alone."""
    riley, sam, verify = watched
    item = verify(lambda: make_commitment(riley, "Started last week", days_back=3))
    r7 = item["rates"]["7"]
    assert r7 == {"kept": 0, "missed": 0, "marked": 0, "unmarked": 3, "rate": None}
    verify(lambda: ops.mark_follow_through(user(riley), item["id"], day(item, 3), "missed"),
           types=["commitments.marked"])
    after = fresh_state(sam)["data"]["commitments"][str(item["id"])]["rates"]["7"]
    assert after == {"kept": 0, "missed": 1, "marked": 1, "unmarked": 2, "rate": 0}
    verify(lambda: ops.mark_follow_through(user(riley), item["id"], day(item, 2), "kept"),
           types=["commitments.marked"])
    assert fresh_state(sam)["data"]["commitments"][str(item["id"])]["rates"]["7"]["rate"] == 50
    # A note saved on its own under a marked day is an event too, and is not a correction.
    note = verify(lambda: ops.mark_follow_through(user(riley), item["id"], day(item, 2), "kept",
                                                  "Walked at seven", base_version=1),
                  types=["commitments.marked"])
    assert note["note"] == "Walked at seven" and note["corrected_at"] is None
    log = ops.mark_log(ops.commitment_for(user(sam), item["id"]))
    assert [(e["kind"], e["previous"]) for e in log] == [("noted", None), ("kept", None),
                                                       ("missed", None)]
