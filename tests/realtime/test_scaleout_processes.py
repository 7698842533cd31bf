"""Two app processes sharing PostgreSQL and Redis serve one couple: partner A's socket on
process 1, partner B's on process 2. Changes made on one reach the other live (Redis message
queue); a message that Redis never delivers is still recovered from the event table on the
client's next sync; rate-limit counters are shared.
"""
import pytest

from tests.support.scaleout_helpers import (
    LiveClient,
    YjsSocket,
    new_op,
    set_step,
    shared_env,
    wait_until,
)
from tests.support.servers import login, post_json, signup, start_server

pytestmark = [pytest.mark.server, pytest.mark.postgres, pytest.mark.redis]


def test_guide_progress_crosses_processes_live(couple_across):
    """A's change on process 1 reaches B's socket on process 2 by the queue, and back."""
    c = couple_across
    op = new_op()
    assert set_step(c["a"], c["p1"].url, 1, "working", op).status_code == 200
    wait_until(lambda: any(ev["op"] == op for ev in c["live_b"].live), 10, "B's live event")
    op2 = new_op()
    assert set_step(c["b"], c["p2"].url, 2, "practising", op2).status_code == 200
    wait_until(lambda: any(ev["op"] == op2 for ev in c["live_a"].live), 10, "A's live event")
    # Both tabs hold the same state as a fresh fetch from either process.
    for live, session, server in ((c["live_a"], c["a"], c["p1"]), (c["live_b"], c["b"], c["p2"])):
        wait_until(lambda live=live: live.has_op(op) and live.has_op(op2), 10, "both applied")
        fresh = session.get(server.url + "/api/state").json()
        assert live.state["progress"] == fresh["data"]["progress"]
        assert live.seqs["couple"] == fresh["seqs"]["couple"]


def test_a_dropped_message_is_recovered_on_the_next_sync(tmp_path, couple_across, postgres_url,
                                                        redis_url, unique_channel):
    """A third process publishes on another Redis channel: its emits reach nobody, as when Redis
    drops a message. The change is committed; B's next sync replays it from the event table."""
    c = couple_across
    deaf = start_server(tmp_path, name="p3",
                        env=shared_env(postgres_url, redis_url, unique_channel + "-elsewhere"))
    try:
        # A's login session is in the database, so A's cookie works on any process.
        lost_op = new_op()
        assert set_step(c["a"], deaf.url, 3, "working", lost_op).status_code == 200
        # A live change after it, through the real queue: B sees a gap and syncs by itself.
        assert set_step(c["a"], c["p1"].url, 4, "working", new_op()).status_code == 200
    finally:
        deaf.stop()
    b = c["live_b"]
    wait_until(lambda: b.has_op(lost_op), 10, "B recovering the dropped event through sync")
    assert lost_op not in [ev["op"] for ev in b.live]
    assert lost_op in [ev["op"] for ev in b.replayed]
    ops = b.ops_applied()
    assert len(ops) == len(set(ops)), "an event was applied twice"


def test_a_silent_loss_is_recovered_by_the_heartbeat_sync(tmp_path, couple_across, postgres_url,
                                                         redis_url, unique_channel):
    """The lost change is the last one (no later event shows a gap): the heartbeat sync, which
    live.js sends every 25 s, brings it."""
    c = couple_across
    deaf = start_server(tmp_path, name="p3",
                        env=shared_env(postgres_url, redis_url, unique_channel + "-elsewhere"))
    try:
        lost_op = new_op()
        assert set_step(c["b"], deaf.url, 2, "practising", lost_op).status_code == 200
    finally:
        deaf.stop()
    a = c["live_a"]
    assert not a.has_op(lost_op)
    answer = a.sync()  # what the 25 s heartbeat sends
    assert [ev["op"] for ev in answer["couple"]["events"]] == [lost_op]
    assert a.has_op(lost_op)
    fresh = c["a"].get(c["p1"].url + "/api/state").json()
    assert a.state["progress"] == fresh["data"]["progress"]


def test_rate_limit_holds_across_two_processes(two_processes):
    """The login limits (tests/security/test_security_doors.py) count POSTs to both processes
    together."""
    p1, p2 = two_processes
    signup(p1.url, "Riley", "riley@example.com")
    statuses = []
    for i in range(10):
        server = (p1, p2)[i % 2]
        try:
            login(server.url, "riley@example.com", "wrong password entirely")
        except AssertionError as err:
            statuses.append(str(err))
        else:  # pragma: no cover
            statuses.append("logged in")
    import requests

    from tests.support.servers import csrf_from

    with requests.Session() as s:  # closed: a leaked socket fails a later test (issue 10)
        for server in (p1, p2):
            token = csrf_from(s.get(server.url + "/login").text)
            r = s.post(server.url + "/login", data={"csrf_token": token,
                                                    "email": "riley@example.com",
                                                    "password": "wrong"}, allow_redirects=False)
            assert r.status_code == 429, (server.name if hasattr(server, "name") else server.url,
                                          r.status_code)


def test_logout_on_one_process_closes_the_socket_on_the_other(couple_across):
    """LiveSocket rows + the queue: signing out on process 1 closes B's socket on process 2."""
    c = couple_across
    b = c["live_b"]
    b.sio.reconnection = False
    r = post_json(c["b"], c["p1"].url, "/logout", {})
    assert r.status_code in (200, 303)
    wait_until(lambda: not b.sio.connected, 10, "B's socket on process 2 closed")


def _editor(live):
    from tests.boundaries.boundaries_helpers import Editor

    me = live.state["couple"]["info"]["me"]["id"]
    editor = Editor(YjsSocket(live), me)
    editor.sync()
    return editor


def test_boundary_edits_cross_processes_and_the_doc_converges(tmp_path, couple_across,
                                                              postgres_url, redis_url,
                                                              unique_channel):
    """Yjs over Socket.IO: A's edit on process 1 reaches B on process 2 live and back; fresh tabs
    on either process sync to the same document; an update whose broadcast never arrives (a
    process on another channel) reaches B through B's next sync step 1."""
    c = couple_across
    a, b = _editor(c["live_a"]), _editor(c["live_b"])
    bid, ack = a.add("Tell me before plans change")
    assert ack.get("ok"), ack
    wait_until(lambda: c["live_b"].yjs, 10, "B's live Yjs update")
    b.receive()
    assert str(b.item(bid)["text"]) == "Tell me before plans change"
    assert b.edit(lambda: b.item(bid)["text"].insert(0, "Please: ")).get("ok")
    wait_until(lambda: c["live_a"].yjs, 10, "A's live Yjs update")
    a.receive()
    assert a.doc.get("boundaries", type=type(a.array)).to_py() == b.array.to_py()

    deaf = start_server(tmp_path, name="p3",
                        env=shared_env(postgres_url, redis_url, unique_channel + "-elsewhere"))
    try:
        lonely = LiveClient(deaf.url, c["a"])
        try:
            a3 = _editor(lonely)
            lost, ack = a3.add("No surprises with money", category="expectations")
            assert ack.get("ok"), ack
        finally:
            lonely.close()
    finally:
        deaf.stop()
    b.receive()
    with pytest.raises(KeyError):
        b.item(lost)  # its broadcast went nowhere
    b.sync()  # what the browser sends on every (re)connect
    assert str(b.item(lost)["text"]) == "No surprises with money"
    # Fresh tabs on both processes see one document (each replica catches up from the log).
    views = []
    for session, server in ((c["a"], c["p1"]), (c["b"], c["p2"]), (c["b"], c["p1"])):
        fresh = LiveClient(server.url, session)
        try:
            views.append(_editor(fresh).array.to_py())
        finally:
            fresh.close()
    assert views[0] == views[1] == views[2] == b.array.to_py()
    assert {item["id"] for item in views[0]} == {bid, lost}


def test_follow_through_mark_crosses_processes_live(couple_across):
    """A commitment made and marked on process 1 reaches B's tab on process 2 live."""
    from datetime import UTC, datetime

    c = couple_across
    today = datetime.now(UTC).date().isoformat()
    r = post_json(c["a"], c["p1"].url, "/commitments",
                  {"wording": "Text when I will be late", "schedule": "daily", "start": today,
                   "tz": "UTC", "op_id": new_op()})
    assert r.status_code == 200, r.text
    cid = r.json()["result"]["id"]
    op = new_op()
    r = post_json(c["a"], c["p1"].url, f"/commitments/{cid}/days/{today}/mark",
                  {"status": "kept", "op_id": op})
    assert r.status_code == 200, r.text
    wait_until(lambda: any(ev["op"] == op for ev in c["live_b"].live), 10, "B's live mark")
    fresh = c["b"].get(c["p2"].url + "/api/state").json()
    wait_until(lambda: c["live_b"].seqs["couple"] == fresh["seqs"]["couple"], 10, "B caught up")
    for name in fresh["data"]:
        if name.startswith(("commitment", "follow", "mark")):
            assert c["live_b"].state.get(name) == fresh["data"][name], name
