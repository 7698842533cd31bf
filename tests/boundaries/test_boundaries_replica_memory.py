"""The process's cache of couples' documents is bounded by memory, not by a count
(couple/boundaries/store.py ReplicaCache, COUPLE_BOUNDARIES_REPLICA_MEMORY_MB)."""
import pytest
from pycrdt import Array, Map, Text

from couple.boundaries import store
from tests.boundaries.boundaries_helpers import Editor, RemoteEditor
from tests.support.scaleout_helpers import wait_until
from tests.support.servers import link_couple, signup

KIB = 1024


def _update(chars: int) -> bytes:
    doc = store.new_doc()
    doc.get("boundaries", type=Array).append(Map({
        "id": "b1", "category": "communication", "text": Text("x" * chars), "created_by": 1,
        "order": 1.0}))
    return doc.get_update()


def _filled(cache, couple_id: int, update: bytes) -> store.Replica:
    replica = cache.get(couple_id)
    replica.doc = store.new_doc()
    replica._apply(update)
    return replica


def _weight(applied: int) -> int:
    return store.MEMORY_PER_REPLICA + store.MEMORY_PER_APPLIED_BYTE * applied


def test_the_least_recently_used_documents_go_once_the_budget_is_spent():
    update = _update(10 * KIB)
    one = _weight(len(update))
    cache = store.ReplicaCache(budget=3 * one)
    first = _filled(cache, 1, update)
    _filled(cache, 2, update)
    _filled(cache, 3, update)
    assert len(cache) == 3 and cache.memory() == 3 * one
    cache.get(1)  # used again: now the most recent
    second = cache.get(2)
    cache.get(3)
    cache.get(1)  # most recent last: 2, 3, 1
    # A fourth document needs room: the least recently used goes as it is asked for.
    fourth = _filled(cache, 4, update)
    assert len(cache) == 3 and cache.memory() == 3 * one
    assert cache.get(1) is first and cache.get(4) is fourth, "the recently used stay"
    again = cache.get(2)
    assert again is not second and again.applied_bytes == 0, "2 went, and comes back empty"
    # Its own room (an empty replica's) was made by the next least recently used, 3.
    assert len(cache) == 3 and cache.memory() <= cache.budget
    assert cache.get(1) is first and cache.get(4) is fourth


def test_a_document_larger_than_the_budget_is_still_held_while_it_is_used():
    big = _update(40 * KIB)
    cache = store.ReplicaCache(budget=_weight(len(big)) // 2)
    _filled(cache, 1, _update(100))
    replica = _filled(cache, 2, big)
    assert cache.get(2) is replica and len(cache) == 1
    assert cache.get(2) is replica, "never the one asked for"


def test_forgetting_or_dropping_a_replica_takes_its_bytes_out_of_the_count():
    update = _update(5 * KIB)
    cache = store.ReplicaCache(budget=10 * 1024 * KIB)
    replica = _filled(cache, 1, update)
    _filled(cache, 2, update)
    assert cache.applied_bytes == 2 * len(update)
    replica.invalidate()
    assert cache.applied_bytes == len(update) and replica.applied_bytes == 0
    replica.doc = store.new_doc()
    replica._apply(update)
    assert cache.applied_bytes == 2 * len(update)
    cache.budget = 0
    kept = cache.get(2)
    assert len(cache) == 1 and cache.applied_bytes == len(update)
    # The dropped one may still be in use by another greenlet: what it applies now counts for
    # nobody (it is garbage once that use ends).
    replica._apply(update)
    assert cache.applied_bytes == len(update) and kept.applied_bytes == len(update)


def test_couples_editing_in_turn_with_no_room_for_both_lose_nothing(app, make_couple, login_as,
                                                                    socket_for):
    """A budget of 0 holds only the document in use: each couple's every keystroke rebuilds
    its replica from the database after the other couple's edit evicted it."""
    app.config["BOUNDARIES_REPLICA_MEMORY_MB"] = 0
    app.extensions.pop(store._CACHE_KEY, None)
    editors = []
    for _ in range(2):
        riley, sam = make_couple()
        mine = Editor(socket_for(login_as(riley)), riley.id)
        partner = Editor(socket_for(login_as(sam)), sam.id)
        mine.sync()
        partner.sync()
        editors.append((riley.couple_id, mine, partner))
    ids = {couple_id: mine.add("", "communication")[0] for couple_id, mine, _ in editors}
    replicas = {}
    for i in range(12):
        for couple_id, mine, _partner in editors:
            assert mine.type_into(ids[couple_id], i, str(i % 10)) == {"ok": True}
            assert len(store.replica_cache()) == 1
            replica = store.replica_for(couple_id)
            assert replica is not replicas.get(couple_id), "rebuilt: the other couple evicted it"
            assert replica.applied_bytes > 0
            replicas[couple_id] = replica
    typed = "".join(str(i % 10) for i in range(12))
    for couple_id, mine, partner in editors:
        partner.receive()
        assert partner.texts() == {ids[couple_id]: typed}
        assert mine.texts() == {ids[couple_id]: typed}


@pytest.mark.server
@pytest.mark.deployment_env(COUPLE_BOUNDARIES_REPLICA_MEMORY_MB="0")
def test_on_real_servers_couples_typing_in_turn_through_evicted_replicas(deployment):
    """`make run`'s configuration, and two processes over PostgreSQL + Redis, with room for one
    document per process: every keystroke rebuilds its couple's replica from the log, and
    nothing typed is lost or misplaced between the two couples."""
    couples = []
    for n in range(2):
        riley = deployment.keep(signup(deployment.first, f"Riley {n}", f"riley{n}@example.com"))
        sam = deployment.keep(signup(deployment.first, f"Sam {n}", f"sam{n}@example.com"))
        link_couple(deployment.first, riley, sam)
        riley_id, sam_id = (
            s.get(deployment.first + "/api/state").json()["data"]["couple"]["info"]["me"]["id"]
            for s in (riley, sam))
        writer = deployment.keep(RemoteEditor(deployment.first, riley, riley_id))
        reader = deployment.keep(RemoteEditor(deployment.last, sam, sam_id))
        writer.sync()
        reader.sync()
        bid, ack = writer.add("", "communication")
        assert ack == {"ok": True}
        couples.append((writer, reader, bid, chr(0x4E00 + 0x100 * n), sam))
    for i in range(15):
        for writer, _reader, bid, base, _sam in couples:
            assert writer.type_into(bid, i, chr(ord(base) + i)) == {"ok": True}
    for _writer, reader, bid, base, sam in couples:
        typed = "".join(chr(ord(base) + i) for i in range(15))
        wait_until(lambda r=reader, b=bid, t=typed: r.receive() == [] and r.texts().get(b) == t,
                   15, f"{typed!r} on the partner's screen")
        fresh = deployment.keep(RemoteEditor(deployment.last, sam, reader.user_id))
        fresh.sync()
        assert fresh.texts() == {bid: typed}, "and stored: a fresh tab reads it from the server"
    deployment.assert_clean_logs()
