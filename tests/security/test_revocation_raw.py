"""Revocation is the server's guarantee (issue 10): a hand-written Socket.IO client that
misbehaves (sends reserved event names, ignores DISCONNECT, reconnects with the old cookie) gets
nothing more once its login session ends, on the embedded default (`python app.py`: gevent +
SQLite, one pooled connection) and on two processes over PostgreSQL + Redis.

Every test here crosses a real socket to real `python app.py` processes (tests/support/servers.py).
Timings are printed, never asserted; what is asserted is who receives what, and that the
server log holds no traceback and no pool timeout.
"""
import json
import threading
import time

import pytest

from tests.support.deployments import Deployment
from tests.support.raw_socketio import RawSocket
from tests.support.scaleout_helpers import wait_until
from tests.support.servers import (
    PASSWORD,
    csrf_from,
    healthz,
    link_couple,
    login,
    post_json,
    signup,
    start_server,
)

pytestmark = [pytest.mark.server]
def _couple(d: Deployment):
    """Riley (rebuilding) and Sam (supporting), linked; Sam also signed in on a second browser."""
    riley = d.keep(signup(d.first, "Riley", "riley@example.com"))
    sam = d.keep(signup(d.last, "Sam", "sam@example.com"))
    link_couple(d.first, riley, sam)
    sam_other = d.keep(login(d.first, "sam@example.com"))
    return riley, sam, sam_other


def _connected(d, session, url=None) -> RawSocket:
    sock = d.raw(session, url)
    answer = sock.connect()
    assert answer is not None and answer.startswith("40{"), answer
    return sock


def _share_reflection(riley, url, text):
    r = post_json(riley, url, "/guide/steps/1/reflection", {"text": text})
    assert r.status_code == 200, r.text
    r = post_json(riley, url, "/guide/steps/1/share", {"shared": True})
    assert r.status_code == 200, r.text


def _types(events):
    return [e.get("type") for e in events if isinstance(e, dict)]


def test_reserved_names_run_no_handler_and_a_logout_cuts_a_client_that_ignores_it(deployment):
    d = deployment
    riley, sam, sam_other = _couple(d)
    attacker = _connected(d, sam)          # the device to cut off (on the other process)
    control = _connected(d, sam_other)     # Sam's other browser, which stays signed in
    # What issue 10 found: 42["disconnect"] ran the disconnect handler (the server forgot the
    # socket while it stayed in its rooms, so logout could not find it), 42["connect"] ran the
    # connect handler again (IntegrityError). Each is refused with an error ack, nothing runs.
    for n, name in enumerate(["disconnect", "connect", "connect_error", "disconnecting",
                              "message", "*"], start=1):
        assert attacker.emit(name, {"x": 1}, ack=n)
        answer = attacker.ack(n)
        assert answer and "error" in answer[0], (name, answer)
    attacker.emit("disconnect")  # and without an ack id: silently dropped
    attacker.emit("connect")
    # The socket is still known to the server and still in its rooms (it is not forgotten).
    assert post_json(riley, d.first, "/guide/steps/2/state",
                     {"state": "working"}).status_code == 200
    assert attacker.wait_for(lambda f: '"guide.progress"' in str(f), 60), attacker.frames
    # Sam logs this browser out, from the first process.
    csrf = csrf_from(sam.get(d.first + "/account").text)
    started = time.monotonic()
    r = sam.post(d.first + "/logout", data={"csrf_token": csrf}, allow_redirects=False)
    took = time.monotonic() - started
    cut_at = time.monotonic()
    assert r.status_code == 303
    print(f"\n[{len(d.servers)} process(es)] logout with a misbehaving tab: {took * 1000:.0f} ms")
    # The client ignores the DISCONNECT and keeps reading; meanwhile Riley shares a reflection
    # and changes progress. Sam's other browser gets them, the cut device nothing.
    _share_reflection(riley, d.first, "shared after the logout")
    assert post_json(riley, d.first, "/guide/steps/3/state",
                     {"state": "working"}).status_code == 200
    wait_until(lambda: (control.pump(0.2) or True)
               and "guide.progress" in _types(control.events(since=cut_at))
               and "guide.reflection" in " ".join(_types(control.events(since=cut_at))), 15,
               "Sam's other browser to receive the changes")
    attacker.pump(1.5)
    assert attacker.got_disconnect()
    assert attacker.events(since=cut_at) == [], attacker.events(since=cut_at)
    # Whatever it sends now is not answered: no handler runs for a cut socket.
    if attacker.emit("sync", {"user": 0, "couple": 0}, ack=50):
        assert attacker.ack(50, timeout=2) is None
    # Reconnecting with the old cookie is refused, on every process.
    for server in d.servers:
        again = d.raw(sam, server.url)
        answer = again.connect()
        assert answer is not None and answer.startswith("44"), answer
    assert "shared after the logout" not in json.dumps(attacker.events(since=0))
    d.assert_clean_logs()


def test_a_password_change_cuts_the_other_sessions_sockets_whatever_they_send(deployment):
    d = deployment
    riley, sam, sam_other = _couple(d)
    kept = _connected(d, sam_other, d.first)   # the browser that changes the password
    cut = [_connected(d, sam) for _ in range(2)]
    cut[0].emit("disconnect")                  # one of them tried to make the server forget it
    csrf = csrf_from(sam_other.get(d.first + "/account").text)
    r = sam_other.post(d.first + "/account/password", allow_redirects=False, data={
        "csrf_token": csrf, "current_password": PASSWORD,
        "new_password": "a brand new long passphrase"})
    assert r.status_code == 303, r.text[:300]
    cut_at = time.monotonic()
    assert post_json(riley, d.first, "/guide/steps/4/state",
                     {"state": "working"}).status_code == 200
    assert kept.wait_for(lambda f: '"guide.progress"' in str(f), 60)
    for sock in cut:
        sock.pump(1)
        assert sock.got_disconnect()
        assert sock.events(since=cut_at) == []
    again = d.raw(sam)
    assert again.connect().startswith("44")
    d.assert_clean_logs()


def test_unlink_ends_the_couple_stream_for_a_socket_that_ignores_everything(deployment):
    d = deployment
    riley, sam, _ = _couple(d)
    sam_sock = _connected(d, sam)
    sam_sock.emit("disconnect")
    assert post_json(riley, d.first, "/pair/unlink", {"confirm": "yes"}).status_code == 200
    assert sam_sock.wait_for(lambda f: '"pair.unlinked"' in str(f), 60)
    after = time.monotonic()
    # Riley goes on alone: nothing of it reaches the former partner's open socket.
    r = post_json(riley, d.first, "/guide/steps/1/reflection", {"text": "after the unlink"})
    assert r.status_code == 200, r.text
    assert post_json(riley, d.first, "/guide/steps/5/state",
                     {"state": "working"}).status_code == 200
    sam_sock.pump(1.5)
    assert [e for e in sam_sock.events(since=after) if e.get("stream") == "couple"] == []
    assert "after the unlink" not in json.dumps(sam_sock.events(since=0))
    d.assert_clean_logs()


# ---- the embedded default must not freeze (issue 10, item 1) ------------------------------

def _poll_healthz(url, stop: threading.Event, answers: list):
    while not stop.is_set():
        started = time.monotonic()
        ok = healthz(url, timeout=60)
        answers.append((started, time.monotonic() - started, ok))
        time.sleep(0.02)


@pytest.mark.parametrize("what", ["logout", "password", "delete"])
def test_ending_a_session_with_five_tabs_open_answers_at_once(tmp_path, what):
    """On `python app.py` exactly as `make run` starts it (gevent, SQLite, one pooled
    connection): logout, a password change and a deletion with five tabs open answer at once,
    all five tabs are cut, and another person's /healthz answers while they run."""
    server = start_server(tmp_path, name="embedded")
    d = Deployment([server])
    try:
        sam = d.keep(signup(server.url, "Sam", "sam@example.com"))
        actor = sam
        if what == "password":
            actor = d.keep(login(server.url, "sam@example.com"))
        tabs = [_connected(d, sam) for _ in range(5)]
        csrf = csrf_from(actor.get(server.url + "/account").text)
        path, data = {
            "logout": ("/logout", {}),
            "password": ("/account/password", {"current_password": PASSWORD,
                                               "new_password": "another long passphrase"}),
            "delete": ("/account/delete", {"password": PASSWORD, "confirm": "y"}),
        }[what]
        stop, answers = threading.Event(), []
        poller = threading.Thread(target=_poll_healthz, args=(server.url, stop, answers))
        poller.start()
        try:
            time.sleep(0.2)
            started = time.monotonic()
            r = actor.post(server.url + path, data={"csrf_token": csrf, **data},
                           allow_redirects=False, timeout=120)
            took = time.monotonic() - started
            time.sleep(0.2)
        finally:
            stop.set()
            poller.join(120)
        assert r.status_code == 303, r.text[:300]
        during = [a for a in answers if a[0] >= started - 0.05 and a[0] <= started + took]
        print(f"\n{what} with five tabs open: {took * 1000:.0f} ms; /healthz answers meanwhile: "
              f"{len(during)}, slowest /healthz overall: "
              f"{max(a[1] for a in answers) * 1000:.0f} ms")
        assert answers and all(ok for _, _, ok in answers)
        for tab in tabs:
            tab.pump(0.5)
            assert tab.got_disconnect(), tab.frames
        if what == "delete":
            assert r.headers["Location"].endswith("/account/deleted")
            page = sam.get(server.url + "/account/deleted").text
            assert "Your account has been deleted" in page
        d.assert_clean_logs()
    finally:
        for thing in d.opened:
            thing.close()
        server.stop()
