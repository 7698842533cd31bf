"""store.locked, the one lock protocol of a couple's replica: the lock is never waited for
while a connection is held (a free lock is taken within the open transaction, a taken one is
waited for after releasing it), and a failure rolls back and forgets the replica, unless it is
a refusal (decided before the document changed: a hostile client must not make the server
rebuild the document on every refused message)."""
import threading

import pytest

from couple.boundaries import store
from couple.boundaries.content import read_boundaries
from couple.errors import InvalidInput
from couple.extensions import db
from tests.boundaries.boundaries_helpers import Editor


def _with_doc(make_couple, login_as, socket_for):
    riley, _sam = make_couple()
    editor = Editor(socket_for(login_as(riley)), riley.id)
    editor.sync()
    _bid, ack = editor.add("We say when plans change.")
    assert ack == {"ok": True}
    return riley.couple_id


def _last_seq(couple_id):
    from couple.boundaries.models import BoundaryDoc

    return db.session.get(BoundaryDoc, couple_id, populate_existing=True).last_seq


def test_a_failure_forgets_the_replica_and_a_refusal_keeps_it(make_couple, login_as,
                                                               socket_for):
    couple_id = _with_doc(make_couple, login_as, socket_for)
    with store.locked(couple_id) as replica:
        replica.catch_up()
    assert replica.doc is not None
    with pytest.raises(InvalidInput):
        with store.locked(couple_id) as same:
            same.catch_up()
            raise InvalidInput("refused")
    assert same is replica and replica.doc is not None, "a refusal keeps the replica"
    with pytest.raises(RuntimeError):
        with store.locked(couple_id) as same:
            same.catch_up()
            raise RuntimeError("broken")
    assert replica.doc is None and replica.seen_seq == 0, "rebuilt from the log next time"
    with store.locked(couple_id) as again:
        texts = [b["text"] for b in read_boundaries(again.catch_up())]
    assert texts == ["We say when plans change."]


def test_a_free_lock_keeps_the_transaction_a_taken_one_releases_it_and_failures_roll_back(
        make_couple, login_as, socket_for, monkeypatch):
    couple_id = _with_doc(make_couple, login_as, socket_for)
    db.session.execute(db.text("SELECT 1"))
    with store.locked(couple_id):
        assert db.session().in_transaction(), "a free lock: the open transaction goes on"
    db.session.rollback()

    # Another thread holds the lock: this one must give its connection back before waiting
    # (with SQLite under gevent there is one, and the holder may need it to finish).
    replica = store.replica_for(couple_id)
    held, released = threading.Event(), threading.Event()
    real_release = store.release_connection

    def release():
        real_release()
        released.set()

    monkeypatch.setattr(store, "release_connection", release)

    def holder():
        with replica.lock:
            held.set()
            released.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(10)
    db.session.execute(db.text("SELECT 1"))
    with store.locked(couple_id):
        assert released.is_set() and not db.session().in_transaction(), (
            "the connection is released before waiting for a taken lock")
    thread.join(10)

    with pytest.raises(InvalidInput):
        with store.locked(couple_id):
            store.lock_doc(couple_id, bump=True)
            raise InvalidInput("refused")
    assert not db.session().in_transaction()
    before = _last_seq(couple_id)
    with pytest.raises(InvalidInput):
        with store.locked(couple_id):
            store.lock_doc(couple_id, bump=True)
            raise InvalidInput("refused")
    assert _last_seq(couple_id) == before, "the bumped seq was rolled back"
