"""The event contract for every conversations operation, for both partners: the state before +
the events each partner's socket received == a fresh fetch after; both get the same events; no
event is a no-op; a refused or repeated operation sends nothing."""
import pytest

from couple.conversations import operations as ops
from couple.errors import OperationError
from tests.conversations.conversations_helpers import fresh_state, later, rows, user
from tests.support.contract import Contract


@pytest.fixture
def watched(make_couple, login_as, socket_for):
    """Both partners connected; every verify also checks both got the same events (no
    conversations event is private). The harness: tests/support/contract.py."""
    riley, sam = make_couple()
    contract = Contract.for_sockets({u.id: socket_for(login_as(u)) for u in (riley, sam)},
                                    same_for_all=True)
    return riley, sam, contract.verify


def test_every_operation_for_both_partners(watched):
    riley, sam, verify = watched
    c = verify(lambda: ops.open_conversation(user(sam), kind="question", title="Last Friday",
                                             text="Where were you on Friday evening?"),
               types=["conversations.started"])
    cid = c["id"]
    verify(lambda: ops.answer(user(riley), cid, "answer", "At my sister's. I should have said."),
           types=["conversations.answered"])
    verify(lambda: ops.hear_back(user(sam), cid,
                                 "You were at your sister's and wish you'd told me."),
           types=["conversations.heard_back"])
    verify(lambda: ops.confirm(user(riley), cid, text="And that I was afraid to say so."),
           types=["conversations.added"])
    verify(lambda: ops.hear_back(user(sam), cid, "You were afraid to tell me."),
           types=["conversations.heard_back"])
    verify(lambda: ops.confirm(user(riley), cid), types=["conversations.confirmed"])
    # A feeling, by the partner rebuilding trust: the other hears it back.
    verify(lambda: ops.next_round(user(riley), cid, kind="feeling", text="I feel ashamed."),
           types=["conversations.round"])
    verify(lambda: ops.hear_back(user(sam), cid, "You feel ashamed."),
           types=["conversations.heard_back"])
    verify(lambda: ops.confirm(user(riley), cid), types=["conversations.confirmed"])
    verify(lambda: ops.next_round(user(sam), cid, kind="question", text="Who else knew?"),
           types=["conversations.round"])
    verify(lambda: ops.answer(user(riley), cid, "counsellor"), types=["conversations.answered"])
    verify(lambda: ops.next_round(user(riley), cid, kind="question", text="Can we walk later?"),
           types=["conversations.round"])
    verify(lambda: ops.answer(user(sam), cid, "not_ready"), types=["conversations.answered"])
    verify(lambda: ops.next_round(user(sam), cid, kind="question", text="Something I take back"),
           types=["conversations.round"])
    verify(lambda: ops.withdraw(user(sam), cid), types=["conversations.withdrawn"])
    verify(lambda: ops.pause(user(riley), cid, until=later(), tz="Europe/London",
                             note="I need a break, let's come back tomorrow evening"),
           types=["conversations.paused"])
    verify(lambda: ops.resume(user(riley), cid), types=["conversations.resumed"])
    verify(lambda: ops.close(user(sam), cid), types=["conversations.closed"])
    item = fresh_state(riley)["data"]["conversations"][str(cid)]
    # Closed: the state holds a summary (no words); the whole item is read on request.
    assert (item["rounds"], item["rounds_total"]) == ([], 5)
    assert item["status"] == "closed" and item["closed_by"] == sam.id
    [whole] = ops.items_for(user(riley).couple, [cid])
    assert [r["status"] for r in whole["rounds"]] == ["heard", "heard", "set_aside", "set_aside",
                                                      "withdrawn"]


def test_refused_repeated_and_no_op_operations_send_nothing(watched):
    riley, sam, verify = watched
    c = verify(lambda: ops.open_conversation(user(riley), kind="feeling", title="Tonight",
                                             text="I felt alone tonight.", op_id="op-open-0001"))
    cid = c["id"]
    # The same op id again (a retry after a lost answer): the stored result, no event.
    again = verify(lambda: ops.open_conversation(user(riley), kind="feeling", title="Tonight",
                                                 text="I felt alone tonight.",
                                                 op_id="op-open-0001"), types=[])
    assert again == c
    before = rows()

    def refused(fn):
        def run():
            with pytest.raises(OperationError):
                fn()
        verify(run, types=[])
        assert rows() == before

    refused(lambda: ops.hear_back(user(riley), cid, "my own words"))   # the speaker cannot
    refused(lambda: ops.confirm(user(sam), cid))                        # nothing to confirm
    refused(lambda: ops.answer(user(sam), cid, "answer", "x"))          # a feeling is not asked
    refused(lambda: ops.withdraw(user(sam), cid))                       # not Sam's words
    refused(lambda: ops.next_round(user(sam), cid, kind="question", text="x"))  # still going
    refused(lambda: ops.pause(user(sam), cid, until="2000-01-01T10:00", tz="UTC"))
    refused(lambda: ops.pause(user(sam), cid, until=later(24 * 40), tz="UTC"))
    refused(lambda: ops.pause(user(sam), cid, until=later(), tz="Mars/Olympus"))
    verify(lambda: ops.pause(user(sam), cid, until=later(), tz="Europe/London"),
           types=["conversations.paused"])
    before = rows()
    refused(lambda: ops.hear_back(user(sam), cid, "while paused"))     # a break is for both
    refused(lambda: ops.resume(user(riley), cid))                      # Sam's break, not over
    refused(lambda: ops.pause(user(riley), cid, until=later(), tz="UTC"))
    verify(lambda: ops.close(user(riley), cid), types=["conversations.closed"])
    verify(lambda: ops.close(user(sam), cid), types=[])                # already closed: no-op
