"""Fuzzing (security.md E, "bad input everywhere gets a clear 4xx and changes nothing"): every
POST rule with hypothesis-made form and JSON bodies, and every socket event with made-up
payloads, as the owner (the role allowed the most). No input makes a 500; an answer of 400 or
more says what is wrong and changes no row.

Size: COUPLE_FUZZ_EXAMPLES examples per rule and per event (default 25); the run's total is
printed by test_fuzz_run_size.
"""
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from couple.extensions import socketio
from tests.security_helpers import diff
from tests.test_security_authz import CASES, EVENT_CASES, _url, matrix  # noqa: F401

EXAMPLES = int(os.environ.get("COUPLE_FUZZ_EXAMPLES", "25"))
POST_RULES = sorted({c.rule for c in CASES if c.method == "POST"})
EVENTS = sorted({c.event for c in EVENT_CASES if c.event not in ("connect", "disconnect")})
FIELDS = ["text", "state", "shared", "version", "op_id", "role", "token", "code", "confirm",
          "wording", "schedule", "start", "end", "weekdays", "tz", "step", "status", "note",
          "day", "id", "hash", "email", "password", "display_name", "current_password",
          "new_password", "remember", "user_id", "couple_id", "owner_id", "private"]

scalars = (st.none() | st.booleans() | st.integers(min_value=-2**63, max_value=2**63)
           | st.floats(allow_nan=True) | st.text(max_size=300)
           | st.sampled_from(["", "0", "-1", "yes", "true", "daily", "kept", "working",
                              "rebuilding", "2026-02-30", "9999-99-99", "<script>x</script>",
                              "\x00", "a" * 5000]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                           max_leaves=10)
json_bodies = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=12), json_values,
                              max_size=6) | json_values
form_bodies = st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=200), max_size=6)
path_values = st.one_of(st.integers(min_value=-5, max_value=2**40).map(str),
                        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1,
                                max_size=20))

FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
COUNT = {"http": 0, "socket": 0}


def _check_answer(matrix, before, response, what):
    status = response.status_code
    text = response.get_data(as_text=True)
    assert status < 500, (what, status, text[:300])
    if status >= 400:
        assert text.strip(), what
        if response.is_json:
            assert response.get_json().get("error"), what
        assert diff(before, matrix.snapshot()) == {}, f"{what}: a refused request changed rows"


@pytest.mark.parametrize("rule", POST_RULES)
def test_fuzz_post_bodies(matrix, rule):
    case = next(c for c in CASES if c.rule == rule and c.method == "POST")

    @FUZZ
    @given(body=json_bodies, form=form_bodies, as_json=st.booleans(), path=path_values)
    def run(body, form, as_json, path):
        matrix.restore()
        world = matrix.world
        client = world.client("owner")
        url = _url(matrix.app, case, world)
        if "<" in rule and "<int:step>" not in rule:
            # Also a made-up value in the URL's own variables.
            url = url.rsplit("/", 1)[0] + "/" + path if url.count("/") > 2 else url
        before = matrix.snapshot()
        if as_json:
            response = client.post(url, json=body, headers={"Accept": "application/json"})
        else:
            response = client.post(url, data=form)
        COUNT["http"] += 1
        _check_answer(matrix, before, response, f"POST {rule}")

    run()


@pytest.mark.parametrize("event", EVENTS)
def test_fuzz_socket_payloads(matrix, event):
    payloads = json_values | st.binary(max_size=2000) | st.builds(
        lambda head, tail: bytes([head % 3, tail % 3]) + os.urandom(tail % 50),
        st.integers(0, 255), st.integers(0, 255))

    @FUZZ
    @given(payload=payloads)
    def run(payload):
        matrix.restore()
        world = matrix.world
        sock = socketio.test_client(matrix.app, flask_test_client=world.client("owner"))
        try:
            before = matrix.snapshot(ignore=("live_sockets",))
            ack = sock.emit(event, payload, callback=True)
            COUNT["socket"] += 1
            assert ack is not None
            if isinstance(ack, dict) and "error" in ack:
                assert ack["error"] and ack.get("retry") is not True, ack  # not a crash
                changes = diff(before, matrix.snapshot(ignore=("live_sockets",)))
                changes.pop("boundary_docs", None)  # the couple's empty document row, made lazily
                assert changes == {}, (event, payload, changes)
        finally:
            if sock.is_connected():
                sock.disconnect()

    run()


def test_fuzz_run_size():
    """Printed with -s: the number of fuzzed requests and socket events in this run."""
    print(f"\nfuzz run: {len(POST_RULES)} POST rules x {EXAMPLES} examples, {len(EVENTS)} socket "
          f"events x {EXAMPLES}; executed so far in this process: {COUNT}")
