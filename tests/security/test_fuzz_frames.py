"""Raw Socket.IO frames from a hostile client, fuzzed with hypothesis against real servers
(issue 10 item 4): `python app.py` exactly as `make run` starts it (gevent + SQLite), and a
process on PostgreSQL + Redis.

Each example is one websocket frame: an Engine.IO packet, usually a Socket.IO packet inside it
(`42[...]`, `43<id>[...]`, `40`, `41`, `45<n>-[...]` plus binary attachments...), built from
the classes that took the server down or left tracebacks: JSON nested thousands deep,
Infinity/NaN/1e400, lone surrogates, NUL, huge integers and 5,000-digit packet ids, cut-off
JSON, reserved and odd event names, unknown packet types, stray binary frames. After each
frame an Engine.IO probe (a NOOP-answered UPGRADE packet, `5`) shows the server has dealt with
it; a frame the server refuses by closing the connection is followed by a fresh connection.

Checked: the server stays up and answers, its log holds no traceback, and no row changed.
Size: at least COUPLE_FUZZ_FRAMES frames per server (default 3300); the count is printed and a floor
is asserted (tests/security/test_security_fuzz.py::test_fuzz_run_size adds the HTTP side).
"""
import json
import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.raw_socketio import RawSocket
from tests.support.scaleout_helpers import migrate, shared_env
from tests.support.servers import cookie_header, healthz, link_couple, signup, start_server

# Runs in one xdist worker with test_security_fuzz.py (tests/conftest.py: ONE_WORKER).
pytestmark = [pytest.mark.server]
FRAMES = int(os.environ.get("COUPLE_FUZZ_FRAMES", "3300"))  # the floor asserted per server
EXAMPLES = max(1, FRAMES // 7)  # ~7-9 frames per example on average
COUNT = {}

EVENT_NAMES = ["sync", "b:y", "b:aw", "b:accept", "b:unaccept", "b:propose_removal",
               "b:withdraw_removal", "b:settle", "connect", "disconnect", "connect_error",
               "disconnecting", "message", "json", "*", "", "ev", "__proto__", "constructor",
               "a" * 200]


def _deep(n: int, kind: str) -> str:
    return ("[" * n + "]" * n) if kind == "[" else ('{"a":' * n + "1" + "}" * n)


json_scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                           max_leaves=12)
# Raw JSON text, including what json.dumps would never write.
nasty_json = st.one_of(
    json_values.map(lambda v: json.dumps(v)),
    st.sampled_from(["Infinity", "-Infinity", "NaN", "1e400", "-1e400", "[1e400]",
                     '{"user":Infinity}', '"a\\ud800b"', '"\\udfff"', '["\\ud800"]',
                     '"a\\u0000b"', '{"\\u0000":1}', "9" * 5000, "-" + "9" * 4400,
                     "12345678901234567890123", "[" + "9" * 400 + "]", "", "[", "{", '{"a":',
                     '["sync",', '"unterminated', "[1,]", "{'a':1}", "\x00"]),
    st.builds(_deep, st.sampled_from([40, 500, 5000, 40000]), st.sampled_from(["[", "{"])),
    st.builds(lambda v, cut: json.dumps(v)[:cut], json_values, st.integers(0, 30)),
)
event_payloads = st.one_of(
    st.builds(lambda name, args: json.dumps([name, *args]),
              st.sampled_from(EVENT_NAMES) | st.text(max_size=10),
              st.lists(json_values, max_size=3)),
    st.builds(lambda name, raw: '["' + name + '",' + raw + "]", st.sampled_from(EVENT_NAMES),
              nasty_json),
    nasty_json,
    st.sampled_from(['{"a":1}', "5", '"sync"', "[]", "[5]", "[null]", "[[1]]", '[{"a":1}]',
                     '["sync"]']),
)
packet_ids = st.one_of(st.just(""), st.integers(0, 2**31).map(str),
                       st.sampled_from(["9" * 20, "9" * 99, "9" * 100, "9" * 5000, "0" * 50]))
namespaces = st.sampled_from(["", "", "", "/,", "/admin,", "/" + "n" * 100 + ",", "/x?y=1,"])
# EVENT and ACK with every kind of payload and id: refused ones are answered (an error ack
# when they carry an id) on the same connection.
answered_packets = st.builds(lambda t, ns, pid, body: "4" + t + ns + pid + body,
                             st.sampled_from(["2", "3"]), namespaces, packet_ids, event_payloads)
closing_frames = st.one_of(
    # BINARY_EVENT / BINARY_ACK announcing attachments (which may or may not follow)
    st.builds(lambda t, n, body: f"4{t}{n}-{body}", st.sampled_from(["5", "6"]),
              st.sampled_from(["0", "1", "2", "11", "99999999999"]),
              st.sampled_from(['["b:y",{"_placeholder":true,"num":0}]',
                               '["b:y",{"_placeholder":true,"num":7}]',
                               '["b:y",{"_placeholder":true,"num":"x"}]', '[]', '{}', "["])),
    # CONNECT (again, with auth), DISCONNECT, CONNECT_ERROR, unknown types
    st.builds(lambda t, ns, body: "4" + t + ns + body,
              st.sampled_from(["0", "1", "4", "7", "8", "9"]), namespaces,
              st.one_of(st.just(""), nasty_json)),
    # Engine.IO itself: empty, unknown or odd types, bad base64, deep JSON, huge numbers
    st.sampled_from(["", "0", "1", "2", "3", "5", "6", "7", "9", "x", "b", "bAAAA", "b!!!",
                     "4", "40", "41", "4" + "[" * 60000, "4" + "9" * 5000, "2probe", "3probe",
                     # a raw lone surrogate: a text frame that is not UTF-8 (closed, RFC 6455)
                     '42["sync","\ud800"]', "4\ud800"]),
    st.text(max_size=30),
    st.binary(max_size=64),                                        # a stray binary frame
)
# One example: a burst of 6-20 answered packets, or (a quarter of the time) one frame that
# may end the connection (each costs a new connection: the slow part of this test).
burst = st.lists(answered_packets, min_size=6, max_size=20)
# (one_of with a repeated branch does not weigh it: hypothesis folds identical strategies)
bursts = st.sampled_from([True, False, False, False]).flatmap(
    lambda closing: closing_frames.map(lambda frame: [frame]) if closing else burst)

FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


class Target:
    """One signed-in person's raw connection to one server, reopened when the server closes it."""

    def __init__(self, server, session):
        self.server, self.session = server, session
        self.sock = None
        self.frames = self.reconnects = 0

    def socket(self) -> RawSocket:
        if self.sock is None or self.sock.closed:
            if self.sock is not None:
                self.sock.close()
                self.reconnects += 1
            self.sock = RawSocket(self.server.url, cookie_header(self.session))
            answer = self.sock.connect()
            assert answer and answer.startswith("40{"), answer
        return self.sock

    def send(self, burst) -> None:
        """Send the frames, then the probe: an UPGRADE packet on an open websocket is answered
        with NOOP ("6") in order, so every frame before it has been dealt with. Frames count
        as fuzz inputs when the probe says so; if the connection ended on the way, only the
        first (it was read: nothing before it ends connections) counts."""
        sock = self.socket()
        for frame in burst:
            sock.send(frame)
        answered = sock.send("5") and sock.wait_for(lambda f: f == "6", timeout=30)
        self.frames += len(burst) if answered else 1
        left = any(isinstance(f, str) and f.startswith("41") for _, f in sock.frames) or any(
            isinstance(f, str) and f.startswith("41") for f in burst)
        sock.frames.clear()
        if left or not answered:  # the namespace was left (by us or the server): start again
            sock.close()

    def close(self):
        if self.sock is not None:
            self.sock.close()


def _rows(url_or_path: str) -> dict:
    """Row counts and a digest of every table but live_sockets, from outside the server."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url_or_path)
    try:
        with engine.connect() as conn:
            out = {}
            for table in sorted(inspect(conn).get_table_names()):
                if table in ("live_sockets", "alembic_version"):
                    continue
                rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
                out[table] = sorted(repr(tuple(r)) for r in rows)
            return out
    finally:
        engine.dispose()


def _fuzz(server, database_url: str, label: str):
    riley = signup(server.url, "Riley", "riley@example.com")
    sam = signup(server.url, "Sam", "sam@example.com")
    try:
        link_couple(server.url, riley, sam)
        before = _rows(database_url)
        target = Target(server, riley)
        started = time.monotonic()
        try:
            @FUZZ
            @given(burst=bursts)
            def run(burst):
                target.send(burst)

            run()
        finally:
            target.close()
        took = time.monotonic() - started
        COUNT[label] = target.frames
        print(f"\nraw frame fuzz [{label}]: {target.frames} frames in {took:.1f} s, "
              f"{target.reconnects} connections closed by the server")
        assert healthz(server.url, timeout=10)
        log = server.log()
        assert "Traceback" not in log, log[-6000:]
        assert "Error on request" not in log, log[-6000:]
        after = _rows(database_url)
        after.pop("boundary_docs", None), before.pop("boundary_docs", None)
        assert after == before
        assert target.frames >= FRAMES, f"only {target.frames} frames reached the server"
    finally:
        riley.close()
        sam.close()


def test_raw_frames_on_the_embedded_default(tmp_path):
    server = start_server(tmp_path, name="embedded")
    try:
        _fuzz(server, f"sqlite:///{server.instance / 'couple.sqlite3'}", "embedded")
    finally:
        server.stop()


@pytest.mark.postgres
@pytest.mark.redis
def test_raw_frames_on_postgres_and_redis(tmp_path, postgres_url, redis_url, unique_channel):
    migrate(postgres_url)
    server = start_server(tmp_path, env=shared_env(postgres_url, redis_url, unique_channel),
                          name="pg")
    try:
        _fuzz(server, postgres_url, "postgres+redis")
    finally:
        server.stop()


def test_frame_fuzz_size():
    """Printed with -s; with the HTTP fuzzers, the run's total must reach 10,000 inputs."""
    print(f"\nraw frame fuzz so far in this process: {COUNT} (total {sum(COUNT.values())})")
