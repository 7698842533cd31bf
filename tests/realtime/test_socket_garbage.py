"""A socket event leaves no reference cycle holding the event behind (couple._route_socket_events).

Flask-SocketIO runs each event in a request context built from the socket's environ, and Flask
matches its path (/socket.io/) against the URL map. Without a rule for it, werkzeug raised
NotFound and Flask kept it on the request: its traceback's frames held the event's context,
packet and session in a cycle only the cycle collector frees (~80 objects per event), which
was most of the collector's work under load, pauses included (bench/realtime.py). Events on a
WebSocket carry its environ (werkzeug sees ws://): a plain rule raised WebsocketMismatch instead.
Here the events run with the collector saving what it finds, and nothing of the kind may be
among it: in this process with the Flask-SocketIO test client, and in the embedded server as
`make run` starts it, spoken to over a real WebSocket.
"""
import gc
import json
from collections import Counter

import pytest
import requests

from tests.support.raw_socketio import RawSocket
from tests.support.servers import cookie_header, link_couple, signup, start_server

HOLDING_THE_EVENT = ("builtins.frame", "builtins.traceback", "flask.ctx.RequestContext",
                     "flask.ctx.AppContext")

# Loaded by the server process at start (PYTHONPATH): the collector keeps what it frees, and at
# exit the kinds of it are written where the test reads them.
CENSUS = """
import atexit, gc, json, os, sys
if os.path.basename(sys.argv[0]) == "app.py":
    gc.set_debug(gc.DEBUG_SAVEALL)

    def _census():
        gc.collect()
        kinds = {}
        for o in gc.garbage:
            kind = type(o).__module__ + "." + type(o).__qualname__
            kinds[kind] = kinds.get(kind, 0) + 1
        with open(os.environ["COUPLE_TEST_GC_CENSUS"], "w") as f:
            json.dump(kinds, f)

    atexit.register(_census)
"""


def _holding(found: dict) -> dict:
    return {k: v for k, v in found.items() if k in HOLDING_THE_EVENT
            or k.startswith("werkzeug.exceptions.") or k.startswith("werkzeug.routing.")}


@pytest.fixture
def saved_garbage():
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.collect()


def _kinds(objects) -> Counter:
    return Counter(type(o).__module__ + "." + type(o).__qualname__ for o in objects)


def test_socket_events_leave_no_cycle_holding_the_event(make_couple, login_as, socket_for,
                                                        saved_garbage):
    riley, _sam = make_couple()
    sock = socket_for(login_as(riley))
    assert sock.is_connected()
    step = 3
    states = ("working", "practising")
    for i in range(20):  # warm-up: caches fill, then the measured events
        sock.emit("change", {"path": f"/guide/steps/{step}/state",
                             "body": {"state": states[i % 2], "op_id": f"warm-op-{i:04d}"}},
                  callback=True)
    gc.collect()
    saved_garbage.clear()

    for i in range(20):
        answer = sock.emit("change", {"path": f"/guide/steps/{step}/state",
                                      "body": {"state": states[i % 2],
                                               "op_id": f"garbage-op-{i:04d}"}},
                           callback=True)
        assert answer.get("ok"), answer
        answer = sock.emit("sync", {"user": 0, "couple": 0}, callback=True)
        assert isinstance(answer, dict) and "error" not in answer, answer
    gc.collect()
    found = _kinds(saved_garbage)
    held = _holding(found)
    assert not held, f"cycles holding the event: {held} (all cyclic garbage: {found})"


@pytest.mark.server
def test_the_embedded_servers_websocket_events_leave_no_such_cycle(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(CENSUS)
    census = tmp_path / "census.json"
    server = start_server(tmp_path, env={"PYTHONPATH": str(site),
                                         "COUPLE_TEST_GC_CENSUS": str(census)})
    try:
        # While it runs: engine.io's own answers get the pages' headers on the real server too.
        polling = requests.get(server.url + "/socket.io/?EIO=4&transport=polling", timeout=10)
        assert polling.status_code == 200 and polling.text.startswith("0{")
        assert polling.headers.get("Cache-Control") == "no-store"
        assert "default-src 'self'" in polling.headers.get("Content-Security-Policy", "")
        assert polling.headers.get("X-Frame-Options") == "DENY"
        sid = json.loads(polling.text[1:])["sid"]  # end it (an Engine.IO CLOSE packet)
        requests.post(server.url + f"/socket.io/?EIO=4&transport=polling&sid={sid}", data="1",
                      timeout=10)
        riley = signup(server.url, "Riley", "riley@example.com")
        sam = signup(server.url, "Sam", "sam@example.com")
        link_couple(server.url, riley, sam)
        sock = RawSocket(server.url, cookie_header(riley))
        try:
            answer = sock.connect()
            assert answer is not None and answer.startswith("40{"), answer
            states = ("working", "practising")
            for i in range(1, 31):
                assert sock.emit("change", {"path": "/guide/steps/3/state",
                                            "body": {"state": states[i % 2],
                                                     "op_id": f"census-op-{i:04d}"}}, ack=i)
                answer = sock.ack(i, timeout=20)
                assert answer is not None and answer[0].get("ok"), answer
        finally:
            sock.close()
    finally:
        assert server.stop() == 0, server.log()[-3000:]
    found = json.loads(census.read_text())
    held = _holding(found)
    assert not held, f"cycles holding the event: {held} (all cyclic garbage: {found})"
