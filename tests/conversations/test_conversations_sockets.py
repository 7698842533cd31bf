"""Conversations over real sockets: on `python app.py` (gevent, SQLite) as a person runs it, and
on two processes over PostgreSQL + Redis (A's socket on process 1, B's on process 2). A whole
round reaches the other partner live, each tab's state equals a fresh fetch, a retried op id is
applied once, and a step missed while disconnected is replayed on reconnecting."""
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.scaleout_helpers import LiveClient, new_op, wait_until
from tests.support.servers import healthz, link_couple, post_json, signup, start_server


def _round(a, b, a_url, b_url, live_a, live_b):
    """B asks on B's process, A answers on A's, B hears back, A confirms; every step live."""
    ops = []

    def step(session, url, path, body, live):
        op = new_op()
        r = post_json(session, url, path, {**body, "op_id": op})
        assert r.status_code == 200, r.text
        wait_until(lambda: live.has_op(op), 60, f"{path} reached the other partner live")
        ops.append(op)
        return r.json()["result"]

    c = step(b, b_url, "/conversations", {"kind": "question", "title": "Friday",
                                          "text": "Where were you?"}, live_a)
    cid = c["id"]
    step(a, a_url, f"/conversations/{cid}/answer", {"kind": "answer", "text": "Out."}, live_b)
    step(b, b_url, f"/conversations/{cid}/heard", {"text": "You were out."}, live_a)
    step(a, a_url, f"/conversations/{cid}/confirm", {"text": ""}, live_b)
    # A retry of the last step with its op id (its answer was lost): applied once, no event.
    again = post_json(a, a_url, f"/conversations/{cid}/confirm", {"text": "", "op_id": ops[-1]})
    assert again.status_code == 200
    # A break, while B's tab is away; B's tab catches up on reconnecting.
    live_b.close()
    op = new_op()
    until = "2099-01-01T19:00"
    r = post_json(a, a_url, f"/conversations/{cid}/pause", {"until": until, "tz": "UTC",
                                                            "op_id": op})
    assert r.status_code == 400 and "30 days" in r.json()["error"]  # a break has a near end
    until = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    r = post_json(a, a_url, f"/conversations/{cid}/pause", {"until": until, "tz": "UTC",
                                                            "op_id": op})
    assert r.status_code == 200, r.text
    return cid, op


def _check_same(live, session, url):
    fresh = session.get(url + "/api/state").json()
    assert live.state["conversations"] == fresh["data"]["conversations"]
    assert live.seqs["couple"] == fresh["seqs"]["couple"]


@pytest.mark.server
def test_a_round_on_the_default_server(tmp_path):
    server = start_server(tmp_path, name="conv")
    try:
        a = signup(server.url, "Riley", "riley@example.com")
        b = signup(server.url, "Sam", "sam@example.com")
        link_couple(server.url, a, b)
        live_a, live_b = LiveClient(server.url, a), LiveClient(server.url, b)
        try:
            cid, op = _round(a, b, server.url, server.url, live_a, live_b)
            live_b2 = LiveClient(server.url, b)
            try:
                wait_until(lambda: live_b2.state["conversations"][str(cid)]["status"] == "paused",
                           60, "B's new tab starts from the break")
                wait_until(lambda: live_a.has_op(op), 60, "A's own tab applied the break")
                _check_same(live_a, a, server.url)
                _check_same(live_b2, b, server.url)
            finally:
                live_b2.close()
            # The cards a page asks for, through the real server: hostile ids show nothing and
            # never fail it; the real one is the same card in both partners' pages.
            for cards in ("%00", "%ED%A0%80", "1%00", "-1", "1e3", str(2**64), "",
                          "&cards=".join(["1"] * 2000)):
                r = a.get(f"{server.url}/conversations?cards={cards}")
                assert r.status_code in (200, 400, 414) and "Where were you" not in r.text, cards
                if r.status_code == 400:  # a NUL or a lone surrogate: said, not a traceback
                    assert "cannot be saved" in r.text, (cards, r.text[:300])
            card = f'data-conv="{cid}"'
            for who in (a, b):
                r = who.get(f"{server.url}/conversations?cards={cid}")
                assert r.status_code == 200 and card in r.text and "<html" not in r.text
            assert healthz(server.url)
        finally:
            live_a.close()
    finally:
        server.stop()


@pytest.mark.server
@pytest.mark.postgres
@pytest.mark.redis
def test_a_round_across_two_processes(couple_across):
    c = couple_across
    cid, op = _round(c["a"], c["b"], c["p1"].url, c["p2"].url, c["live_a"], c["live_b"])
    wait_until(lambda: c["live_a"].has_op(op), 60, "A's tab applied the break")
    _check_same(c["live_a"], c["a"], c["p1"].url)
    # B reconnects on process 2: the break (made on process 1 while B was away) is there.
    live_b = LiveClient(c["p2"].url, c["b"])
    try:
        wait_until(lambda: live_b.state["conversations"][str(cid)]["status"] == "paused", 60,
                   "B's tab caught up")
        _check_same(live_b, c["b"], c["p2"].url)
    finally:
        live_b.close()
