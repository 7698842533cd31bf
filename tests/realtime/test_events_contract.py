"""The event contract (Zulip's verify_action): for every operation that emits, each partner's
state before + the events their sockets received == a fresh fetch of their state after.
An event that changes nothing fails the test: it would be noise on the partner's screen.
The harness, shared with every capability's contract tests, is tests/support/contract.py."""
import pytest

from couple.accounts.models import User
from couple.extensions import db
from couple.guides import operations as guides
from couple.pairing import operations as pairing
from tests.support.contract import Contract, fresh_state


@pytest.fixture
def watched(make_couple, login_as, socket_for):
    """Both partners connected; returns (riley, sam, verify) where verify(action) checks the
    contract for both of them (tests/support/contract.py)."""
    riley, sam = make_couple()
    contract = Contract.for_sockets({u.id: socket_for(login_as(u)) for u in (riley, sam)})
    return riley, sam, contract.verify


def test_step_state(watched):
    riley, sam, verify = watched
    verify(lambda: guides.set_step_state(db.session.get(User, riley.id), 3, "working"))
    verify(lambda: guides.set_step_state(db.session.get(User, sam.id), 2, "practising"))
    verify(lambda: guides.set_step_state(db.session.get(User, riley.id), 3, "practising"))


def test_private_reflection_reaches_only_the_writer(watched):
    riley, sam, verify = watched
    verify(lambda: guides.save_reflection(db.session.get(User, riley.id), 1, "mine alone", None))
    assert "mine alone" not in str(fresh_state(sam.id))


def test_share_edit_unshare(watched):
    riley, sam, verify = watched
    user = lambda: db.session.get(User, riley.id)  # noqa: E731
    verify(lambda: guides.save_reflection(user(), 4, "first words", None))
    verify(lambda: guides.share_reflection(user(), 4, True))
    assert "first words" in str(fresh_state(sam.id)["data"]["shared_reflections"])
    verify(lambda: guides.save_reflection(user(), 4, "second words", 2))
    assert "second words" in str(fresh_state(sam.id)["data"]["shared_reflections"])
    verify(lambda: guides.share_reflection(user(), 4, False))
    assert fresh_state(sam.id)["data"]["shared_reflections"] == {}


def test_unlink_tells_both_to_reload(watched):
    riley, sam, verify = watched
    verify(lambda: pairing.unlink(db.session.get(User, sam.id)), reload=True)


def test_rolled_back_change_is_never_emitted(watched, app):
    riley, sam, verify = watched
    from couple import events

    user = db.session.get(User, riley.id)
    events.record(events.couple_stream(user.couple_id), "guide.progress",
                  {"set": {"progress": {"x": {"state": "working"}}}}, actor=user)
    db.session.rollback()
    db.session.commit()  # a later commit must not flush the dropped emit either
    verify(lambda: None, types=[])
