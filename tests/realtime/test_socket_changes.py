"""Changes over the socket (couple/socket_changes.py), spoken by hand to real servers: the
embedded default as `make run` starts it (gevent + SQLite) and two processes over PostgreSQL +
Redis, the acting socket on one process and the partner's on the other.

What is asserted: the ack comes after the commit (the other process already serves the change),
the partner's socket gets the event once, an op id applies once whichever door carries its
retry, a refusal is an error ack that changes nothing and tells nobody, hostile frames are
answered without a traceback, and a cut socket's change is never applied.
"""
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.deployments import Deployment
from tests.support.scaleout_helpers import wait_until
from tests.support.servers import csrf_from, link_couple, post_json, signup

pytestmark = [pytest.mark.server]


def _couple(d: Deployment):
    """Riley and Sam, linked, each with a tab open: Riley's on the second process, Sam's on the
    first (one process: both on it). Returns (riley, sam, riley's tab, sam's tab)."""
    riley = d.keep(signup(d.first, "Riley", "riley@example.com"))
    sam = d.keep(signup(d.last, "Sam", "sam@example.com"))
    link_couple(d.first, riley, sam)
    return riley, sam, _connected(d, riley, d.last), _connected(d, sam, d.first)


def _connected(d: Deployment, session, url):
    sock = d.raw(session, url)
    answer = sock.connect()
    assert answer is not None and answer.startswith("40{"), answer
    return sock


def _change(sock, ack_id, path, body):
    assert sock.emit("change", {"path": path, "body": body}, ack=ack_id)
    answer = sock.ack(ack_id, timeout=20)
    assert answer is not None, f"no ack for {path}"
    return answer[0]


def _with_op(events, op):
    return [e for e in events if isinstance(e, dict) and e.get("op") == op]


def _state(session, url):
    return session.get(url + "/api/state", headers={"Accept": "application/json"}).json()


def test_progress_and_marks_over_the_socket(deployment):
    d = deployment
    riley, sam, actor, partner = _couple(d)
    # Guide progress: answered after the commit, so the other process already serves it.
    answer = _change(actor, 1, "/guide/steps/2/state", {"state": "working",
                                                       "op_id": "socketprogress01"})
    assert answer["ok"] is True and answer["result"]["state"] == "working", answer
    mine = _state(riley, d.first)["data"]["progress"]
    assert any(item["state"] == "working" and item["step"] == 2 for item in mine.values()), mine
    assert partner.wait_for(lambda f: "socketprogress01" in str(f), 20)
    # The same op id again, over the socket and then as a POST: the first answer, no new event.
    again = _change(actor, 2, "/guide/steps/2/state", {"state": "working",
                                                      "op_id": "socketprogress01"})
    assert again == answer
    r = post_json(riley, d.first, "/guide/steps/2/state", {"state": "working",
                                                           "op_id": "socketprogress01"})
    assert r.status_code == 200 and r.json() == answer, r.text
    # A follow-through mark: a commitment made over HTTP, today marked over the socket.
    r = post_json(riley, d.first, "/commitments", {"wording": "Text when I am running late",
                                                   "schedule": "daily", "tz": "UTC"})
    assert r.status_code == 200, r.text
    cid = r.json()["result"]["id"]
    today = datetime.now(UTC).date().isoformat()
    mark = f"/commitments/{cid}/days/{today}/mark"
    kept = _change(actor, 3, mark, {"status": "kept", "op_id": "socketmark000001"})
    assert kept["ok"] is True and kept["result"]["status"] == "kept", kept
    version = kept["result"]["version"]
    assert partner.wait_for(lambda f: "socketmark000001" in str(f), 20)
    # A correction from a tab that saw an older version: 409 with what is saved, no event.
    stale = _change(actor, 4, mark, {"status": "missed", "version": version - 1,
                                     "op_id": "socketmark000002"})
    assert stale["status"] == 409 and stale["current"]["status"] == "kept", stale
    fixed = _change(actor, 5, mark, {"status": "missed", "version": version,
                                     "op_id": "socketmark000003"})
    assert fixed["ok"] is True and fixed["result"]["status"] == "missed", fixed
    # Sam acknowledges over the socket; only the owner may mark (403 for Sam).
    ack = _change(partner, 6, f"/commitments/{cid}/days/{today}/acknowledge",
                  {"note": "I saw it", "op_id": "socketack0000001"})
    assert ack["ok"] is True, ack
    refused = _change(partner, 7, mark, {"status": "kept", "op_id": "socketmark000004"})
    assert refused["status"] == 403 and "error" in refused, refused
    partner.pump(1.0)
    actor.pump(0.5)
    seen = partner.events() + actor.events()
    assert len(_with_op(partner.events(), "socketprogress01")) == 1
    for op in ("socketmark000002", "socketmark000004"):
        assert _with_op(seen, op) == [], op
    assert len(_with_op(partner.events(), "socketmark000003")) == 1
    assert len(_with_op(actor.events(), "socketack0000001")) == 1
    d.assert_clean_logs()


def test_hostile_change_frames_are_answered_and_change_nothing(deployment):
    d = deployment
    riley, sam, actor, partner = _couple(d)
    before = _state(riley, d.first)
    frames = [
        '42{n}["change"]',                                     # no argument
        '42{n}["change","/guide/steps/1/state"]',              # not an object
        '42{n}["change",{{"path":"/guide/steps/1/state"}}]',   # no body
        '42{n}["change",{{"path":"/guide/steps/1/state","body":[1,2]}}]',
        '42{n}["change",{{"path":"/guide/steps/1/state","body":{{"state":NaN}}}}]',
        '42{n}["change",{{"path":"/guide/steps/1/state","body":{{"state":"a\\u0000b"}}}}]',
        '42{n}["change",{{"path":"/guide/steps/1/state","body":{{"state":"\\ud800"}}}}]',
        '42{n}["change",{{"path":"/guide/steps/1/state","body":{{"state":1e400}}}}]',
        '42{n}["change",{{"path":"/guide/steps/1/state","body":{{"state":"everything"}}}}]',
        '42{n}["change",{{"path":"/guide/steps/0/state","body":{{"state":"working"}}}}]',
        '42{n}["change",{{"path":"/commitments/1/days/9999-99-99/mark","body":{{}}}}]',
        '42{n}["change",{{"path":"/guide/steps/1/state","body":{{}}}},"extra"]',
        # The doors added later: wrong types, deep values, NUL and lone surrogates.
        '42{n}["change",{{"path":"/conversations","body":{{"kind":"question","title":["x"],'
        '"text":{{"a":1}}}}}}]',
        '42{n}["change",{{"path":"/conversations","body":{{"kind":"question","title":"a\\u0000",'
        '"text":"?"}}}}]',
        '42{n}["change",{{"path":"/conversations/1/answer","body":{{"kind":"answer",'
        '"text":"\\udfff"}}}}]',
        '42{n}["change",{{"path":"/commitments","body":{{"wording":"x","schedule":"weekdays",'
        '"weekdays":[[[1]]],"tz":"UTC"}}}}]',
        '42{n}["change",{{"path":"/commitments","body":{{"wording":1e400,"schedule":"daily"}}}}]',
        '42{n}["change",{{"path":"/guide/steps/1/reflection","body":{{"text":["x"],'
        '"version":"abc"}}}}]',
        '42{n}["change",{{"path":"/guide/steps/1/share","body":{{"shared":{{"$ne":1}}}}}}]',
    ]
    answers = []
    for n, frame in enumerate(frames, start=10):
        assert actor.send(frame.format(n=n)), frame
        answer = actor.ack(n, timeout=20)
        assert answer is not None, f"no answer to {frame}"
        assert isinstance(answer[0], dict) and answer[0].get("error"), (frame, answer)
        assert answer[0].get("retry") is not True, (frame, answer)  # a refusal, not a crash
        answers.append(answer[0])
    # Doors the socket does not serve (the log-in, an invitation, a page) and addresses of no
    # route (an id past 2^31, a path too long or not a string) go back to HTTP, which answers
    # them as it answers any POST.
    for n, path in enumerate(["/login", "/pair/invite", "/logout", "/account/delete", "/",
                              "/guide/steps/99999999999/state",
                              "/commitments/2147483648/days/2026-12-01/mark", "/a" * 500,
                              [[[[]]]], None, 7, "guide/steps/1/state"], start=40):
        answer = _change(actor, n, path, {"op_id": "socketnothttp001"})
        assert answer == {"http": True}, (path, answer)
    # Nothing changed, nobody heard anything, and the connection still works.
    assert _state(riley, d.first)["data"] == before["data"]
    partner.pump(0.5)
    assert partner.events() == [], partner.events()
    good = _change(actor, 60, "/guide/steps/1/state", {"state": "working"})
    assert good["ok"] is True, good
    # A mark whose version cannot be read is refused (400, naming it), not applied unguarded.
    r = post_json(riley, d.first, "/commitments", {"wording": "Text when I am running late",
                                                   "schedule": "daily", "tz": "UTC"})
    assert r.status_code == 200, r.text
    mark = f"/commitments/{r.json()['result']['id']}/days/{datetime.now(UTC).date()}/mark"
    kept = _change(actor, 61, mark, {"status": "kept", "op_id": "socketvkept00001"})
    assert kept["ok"] is True, kept
    for n, version in enumerate(["abc", True, -1, [1], {"$gt": 0}, 1.5], start=62):
        op = f"socketbadversion{n}"
        answer = _change(actor, n, mark, {"status": "missed", "version": version, "op_id": op})
        assert answer["status"] == 400 and answer.get("field") == "version", (version, answer)
    saved = _state(riley, d.first)["data"]["commitment_marks"]
    assert [m["status"] for m in saved.values()] == ["kept"], saved
    partner.pump(0.5)
    assert not [e for e in partner.events() if "socketbadversion" in str(e)]
    d.assert_clean_logs()


def test_a_cut_socket_changes_nothing(deployment):
    d = deployment
    riley, sam, actor, partner = _couple(d)
    # Riley logs out through the first process; the tab on the second ignores the DISCONNECT
    # and sends a change anyway.
    csrf = csrf_from(riley.get(d.first + "/account").text)
    r = riley.post(d.first + "/logout", data={"csrf_token": csrf}, allow_redirects=False)
    assert r.status_code == 303
    wait_until(lambda: (actor.pump(0.2) or True) and actor.got_disconnect(), 20,
               "the logged-out tab to be cut")
    cut_at = time.monotonic()
    if actor.emit("change", {"path": "/guide/steps/4/state",
                             "body": {"state": "practising", "op_id": "socketcut0000001"}},
                  ack=1):
        assert actor.ack(1, timeout=3) is None
    partner.pump(1.0)
    assert _with_op(partner.events(since=cut_at), "socketcut0000001") == []
    progress = _state(sam, d.first)["data"]["progress"]
    assert not any(item["step"] == 4 for item in progress.values()), progress
    d.assert_clean_logs()


def test_a_socket_whose_session_expired_is_refused_at_its_next_event(deployment):
    """A login session can end by its clock, with no logout to cut its sockets: the next event
    of a tab still open finds it expired (the login check's statement compares expires_at),
    is refused, its socket cut, and nothing changes."""
    import sqlalchemy

    d = deployment
    riley, sam, actor, partner = _couple(d)
    engine = sqlalchemy.create_engine(d.database_url.replace("postgresql://",
                                                             "postgresql+psycopg://", 1))
    try:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(
                "UPDATE login_sessions SET expires_at = :past WHERE user_id = "
                "(SELECT id FROM users WHERE email = 'riley@example.com')"),
                {"past": "2000-01-01 00:00:00.000000"})
    finally:
        engine.dispose()
    started = time.monotonic()
    assert actor.emit("change", {"path": "/guide/steps/4/state",
                                 "body": {"state": "practising", "op_id": "socketexpired001"}},
                      ack=1)
    # The server cuts the socket as it refuses the event: an ack, if one gets out first, is
    # the refusal.
    answer = actor.ack(1, timeout=3)
    assert answer is None or answer[0].get("status") == 401, answer
    wait_until(lambda: (actor.pump(0.2) or True) and actor.got_disconnect(), 20,
               "the expired tab to be cut")
    partner.pump(1.0)
    assert _with_op(partner.events(since=started), "socketexpired001") == []
    progress = _state(sam, d.first)["data"]["progress"]
    assert not any(item["step"] == 4 for item in progress.values()), progress
    d.assert_clean_logs()


def test_conversations_reflections_and_commitments_over_the_socket(deployment):
    """Every change a page makes with JavaScript goes over the socket while it is connected:
    each step of a conversation, a reflection saved and shared, a commitment made, reworded,
    paused, resumed and ended. Each is acked after its commit, reaches the partner's socket on
    the other process once (a private reflection never does), and a refusal changes nothing."""
    d = deployment
    riley, sam, actor, partner = _couple(d)
    acks = iter(range(100, 200))

    def by(sock, path, body, op, heard_by=None):
        answer = _change(sock, next(acks), path, {**body, "op_id": op})
        assert answer.get("ok") is True, (path, answer)
        if heard_by is not None:
            assert heard_by.wait_for(lambda f: op in str(f), 20), f"{path} not heard"
        return answer

    # A whole round: Riley asks, Sam answers, Riley hears back, Sam confirms; each live.
    opened = by(actor, "/conversations", {"kind": "question", "title": "Friday",
                                          "text": "Where were you?"}, "socketconv000001", partner)
    cid = opened["result"]["id"]
    steps = [(partner, "answer", {"kind": "answer", "text": "At my sister's."}, actor),
             (actor, "heard", {"text": "You were at your sister's."}, partner),
             (partner, "confirm", {"text": ""}, actor),
             (actor, "round", {"kind": "feeling", "text": "I felt alone."}, partner),
             (actor, "withdraw", {}, partner)]
    for n, (sock, step, body, other) in enumerate(steps, start=2):
        by(sock, f"/conversations/{cid}/{step}", body, f"socketconv00000{n}", other)
    # The confirm's retry as a POST (its answer was lost on the socket): the first answer.
    r = post_json(sam, d.first, f"/conversations/{cid}/confirm", {"text": "",
                                                                  "op_id": "socketconv000004"})
    assert r.status_code == 200 and r.json()["ok"] is True, r.text
    # Refusals: Sam cannot withdraw what is not his; a title too long; a break with no end.
    refused = [(partner, f"/conversations/{cid}/withdraw", {}, 403),
               (actor, "/conversations", {"kind": "question", "title": "x" * 5000,
                                          "text": "?"}, 400),
               (actor, f"/conversations/{cid}/pause", {"until": "", "tz": "UTC"}, 400),
               (actor, f"/conversations/{cid}/answer", {"kind": "everything"}, 400),
               (actor, "/conversations/2147483647/close", {}, 404)]
    for n, (sock, path, body, status) in enumerate(refused):
        answer = _change(sock, next(acks), path, {**body, "op_id": f"socketrefused{n:03d}"})
        assert answer.get("status") == status and answer.get("error"), (path, answer)
    answer = _change(actor, next(acks), f"/conversations/{cid}/pause",
                     {"until": "2099-01-01T19:00", "tz": "UTC", "op_id": "socketrefused100"})
    assert answer["status"] == 400 and "30 days" in answer["error"], answer
    back = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT19:00")
    by(actor, f"/conversations/{cid}/pause", {"until": back, "tz": "UTC"}, "socketconv000007",
       partner)
    # Only who asked for the break ends it early.
    early = _change(partner, next(acks), f"/conversations/{cid}/resume",
                    {"op_id": "socketrefused101"})
    assert early["status"] == 403 and "break" in early["error"], early
    by(actor, f"/conversations/{cid}/resume", {}, "socketconv000008", partner)
    by(partner, f"/conversations/{cid}/close", {}, "socketconv000009", actor)

    # A reflection saved over the socket stays Riley's own; shared, it reaches Sam.
    saved = by(actor, "/guide/steps/2/reflection", {"text": "I want to listen first."},
               "socketrefl000001")
    assert saved["result"]["version"] == 1, saved
    stale = _change(actor, next(acks), "/guide/steps/2/reflection",
                    {"text": "Older tab", "version": 0, "op_id": "socketrefl000002"})
    assert stale["status"] == 409, stale
    by(actor, "/guide/steps/2/share", {"shared": True}, "socketrefl000003", partner)

    # A commitment made, reworded (a stale tab's rewording refused), paused, resumed, ended.
    made = by(actor, "/commitments", {"wording": "Text when I am running late",
                                      "schedule": "weekdays", "weekdays": [4, 0], "tz": "UTC"},
              "socketcomm000001", partner)
    ccid = made["result"]["id"]
    assert made["result"]["weekdays"] == [0, 4], made
    reworded = by(actor, f"/commitments/{ccid}/reword",
                  {"wording": "Text before I am late", "version": made["result"]["version"]},
                  "socketcomm000002", partner)
    stale = _change(actor, next(acks), f"/commitments/{ccid}/reword",
                    {"wording": "Older words", "version": made["result"]["version"],
                     "op_id": "socketcomm000003"})
    assert stale["status"] == 409 and stale["current"]["wording"] == "Text before I am late"
    assert reworded["result"]["wording"] == "Text before I am late"
    refused = _change(partner, next(acks), f"/commitments/{ccid}/pause",
                      {"op_id": "socketcomm000004"})
    assert refused["status"] == 403, refused
    for n, step in enumerate(("pause", "resume", "end"), start=5):
        by(actor, f"/commitments/{ccid}/{step}", {}, f"socketcomm00000{n}", partner)

    partner.pump(1.0)
    actor.pump(0.5)
    heard = partner.events() + actor.events()
    for op in ("socketconv000001", "socketconv000004", "socketrefl000003", "socketcomm000001"):
        # Once on the partner's socket (the retry of the confirm included).
        assert len(_with_op(partner.events(), op)) == 1, op
    # The actor's own tab: once on the couple's stream; a reflection shared, on its own stream
    # too (its own reflection), so twice.
    for op in ("socketconv000001", "socketconv000004", "socketcomm000001"):
        assert len(_with_op(actor.events(), op)) == 1, op
    assert sorted(e["stream"] for e in _with_op(actor.events(), "socketrefl000003")) == [
        "couple", "user"]
    assert [e for e in heard if "socketrefused" in str(e)] == []
    for op in ("socketrefl000001", "socketrefl000002", "socketcomm000003", "socketcomm000004"):
        assert _with_op(partner.events(), op) == [], op
    state = _state(sam, d.first)["data"]
    assert state["conversations"][str(cid)]["status"] == "closed", state["conversations"]
    assert state["commitments"][str(ccid)]["status"] == "ended", state["commitments"]
    d.assert_clean_logs()
