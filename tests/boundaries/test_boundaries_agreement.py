"""Agreement from content hashes: accept -> edit -> stale; both -> agreed; removal needs both;
concurrent accept and edit resolve the same for both partners; the event contract holds."""
import pytest

from couple.accounts.models import User
from couple.boundaries import operations as ops
from couple.boundaries.content import content_hash
from couple.boundaries.models import Approval, Wording
from couple.errors import Conflict, NotFound
from couple.extensions import db
from tests.boundaries.boundaries_helpers import Editor
from tests.conftest import events_named
from tests.support.contract import Contract, fresh_state


@pytest.fixture
def room(make_couple, login_as, socket_for):
    """Both partners with an editor each (Yjs over the socket) and a `verify` for the event
    contract (tests/support/contract.py): the editors apply the Yjs packets they receive, the
    harness checks the "ev" events."""
    riley, sam = make_couple()
    editors = {u.id: Editor(socket_for(login_as(u)), u.id) for u in (riley, sam)}
    for e in editors.values():
        e.sync()
        e.sock.get_received()
    contract = Contract({uid: editor.receive for uid, editor in editors.items()})
    return riley, sam, editors[riley.id], editors[sam.id], contract.verify


def _couple(user):
    db.session.expire_all()
    return db.session.get(User, user.id).couple


def _agreement(user, bid):
    view = ops.overview(_couple(user))
    return next(b for b in view["boundaries"] if b["id"] == bid)["agreement"], view


def test_accept_edit_stale_then_both_agree(room):
    riley, sam, a, b, verify = room
    bid, _ = a.add("We say when we need space.", "communication")
    b.receive()
    h1 = content_hash("We say when we need space.", "communication")
    verify(lambda: ops.approve_boundary(_couple(riley), riley, bid, h1))
    state, view = _agreement(sam, bid)
    assert state == {"state": "accepted_by_one", "by": [riley.id], "stale": []}
    assert (view["agreed"], view["total"]) == (0, 1)
    # Sam edits: Riley's approval is for an earlier wording and no longer counts, for both.
    b.type_into(bid, 0, "Both: ")
    a.receive()
    for person in (riley, sam):
        assert _agreement(person, bid)[0] == {"state": "proposed", "by": [], "stale": [riley.id]}
    h2 = content_hash("Both: We say when we need space.", "communication")
    verify(lambda: ops.approve_boundary(_couple(sam), sam, bid, h2))
    verify(lambda: ops.approve_boundary(_couple(riley), riley, bid, h2))
    state, view = _agreement(riley, bid)
    assert state["state"] == "agreed" and sorted(state["by"]) == sorted([riley.id, sam.id])
    assert (view["agreed"], view["total"]) == (1, 1)
    # Moving it to another group is a change of content too.
    a.move(bid, "privacy", 1.0)
    assert _agreement(sam, bid)[0]["state"] == "proposed"
    # Whitespace at the ends and Unicode composition are not changes.
    assert content_hash(" Caf\u00e9 ", "other") == content_hash("Cafe\u0301\n", "other")


def test_accepting_a_wording_that_changed_meanwhile_is_refused(room):
    riley, sam, a, b, verify = room
    bid, _ = a.add("one", "other")
    b.receive()
    old = content_hash("one", "other")
    b.type_into(bid, 3, " two")           # Sam's edit lands first...
    with pytest.raises(Conflict) as err:  # ...so Riley's accept of "one" is refused
        ops.approve_boundary(_couple(riley), riley, bid, old)
    assert err.value.extra["current"]["text"] == "one two"
    assert db.session.query(Approval).count() == 0


def test_concurrent_accept_and_edit_resolve_the_same_for_both(room):
    """Over the sockets, in both orders: whatever the server saw first decides, and both
    partners end up computing the same state from the same document and approvals."""
    riley, sam, a, b, verify = room
    bid, _ = a.add("text", "behaviour")
    b.receive()
    # Order 1: accept first, then the edit: the approval exists and is stale for both.
    ack = a.sock.emit("b:accept", {"id": bid, "hash": a_hash(a, bid)}, callback=True)
    assert ack["ok"]
    b.type_into(bid, 0, "edited ")
    # Order 2: an edit first, then an accept of the old wording: 409, nothing stored.
    stale_hash = a_hash(b, bid)
    a.receive()
    a.type_into(bid, 0, "again ")
    ack = b.sock.emit("b:accept", {"id": bid, "hash": stale_hash}, callback=True)
    assert ack["status"] == 409 and ack["current"]["text"] == "again edited text"
    a.receive()
    b.receive()
    assert a.texts() == b.texts()
    views = [fresh_state(u.id)["data"]["boundary_approvals"] for u in (riley, sam)]
    assert views[0] == views[1] and list(views[0]) == [f"{bid}:{riley.id}"]
    for person in (riley, sam):
        assert _agreement(person, bid)[0] == {"state": "proposed", "by": [], "stale": [riley.id]}


def a_hash(editor, bid):
    item = editor.item(bid)
    return content_hash(str(item["text"]), item["category"])


def test_withdraw_and_removal_take_both(room):
    riley, sam, a, b, verify = room
    bid, _ = a.add("to go", "expectations")
    keep, _ = a.add("to stay", "expectations")
    b.receive()
    h = content_hash("to go", "expectations")
    verify(lambda: ops.approve_boundary(_couple(riley), riley, bid, h))
    verify(lambda: ops.withdraw_approval(_couple(riley), riley, bid))
    verify(lambda: ops.approve_boundary(_couple(riley), riley, bid, h))
    # Repeating an acceptance or a withdrawal changes nothing and emits nothing.
    verify(lambda: ops.approve_boundary(_couple(riley), riley, bid, h))
    verify(lambda: ops.propose_removal(_couple(riley), riley, bid))
    verify(lambda: ops.withdraw_removal(_couple(riley), riley, bid))
    verify(lambda: ops.propose_removal(_couple(riley), riley, bid))
    assert [x for x in a.texts()] == [bid, keep]
    result = verify(lambda: ops.propose_removal(_couple(sam), sam, bid))
    assert result["removed"] is True
    # The server's removal reached both editors as a Yjs update.
    assert list(a.texts()) == [keep] and list(b.texts()) == [keep]
    state = fresh_state(sam.id)["data"]
    assert state["boundary_approvals"] == {} and state["boundary_removals"] == {}
    assert state["boundaries_removed"][bid]["text"] == "to go"
    with pytest.raises(NotFound):
        ops.approve_boundary(_couple(riley), riley, bid, h)
    # History keeps everything: wording, acceptances, the withdrawal, proposals, the removal.
    kinds = [e["kind"] for e in ops.history(_couple(sam), bid)["entries"]]
    assert kinds.count("accept") == 2 and "withdraw" in kinds and "wording" in kinds
    assert kinds.count("removal_propose") == 3 and kinds[-1] == "removal_removed"
    assert kinds[:2] == ["wording", "accept"]


def test_settled_wordings_make_the_history(room):
    riley, sam, a, b, verify = room
    bid, _ = a.add("first", "privacy")
    assert a.sock.emit("b:settled", {"id": bid}, callback=True)["ok"]
    a.type_into(bid, 5, " second")
    assert a.sock.emit("b:settled", {"id": bid}, callback=True)["ok"]
    assert a.sock.emit("b:settled", {"id": bid}, callback=True)["ok"]  # unchanged: not repeated
    texts = [w.text for w in db.session.query(Wording).order_by(Wording.id)]
    assert texts == ["first", "first second"]
    assert b.receive() == []  # nobody else is told


def test_op_ids_make_retries_apply_once(room):
    riley, sam, a, b, verify = room
    bid, _ = a.add("retry me", "other")
    b.receive()
    payload = {"id": bid, "hash": content_hash("retry me", "other"), "op_id": "op-12345678"}
    first = a.sock.emit("b:accept", payload, callback=True)
    again = a.sock.emit("b:accept", payload, callback=True)
    assert first == again and first["ok"]
    assert db.session.query(Approval).count() == 1
    assert len(events_named(b.receive())) == 1
