"""Fuzzing (security.md E, "bad input everywhere gets a clear 4xx and changes nothing"): every
POST rule with hypothesis-made form and JSON bodies, and every socket event with made-up
payloads, as the owner (the role allowed the most). No input makes a 500; an answer of 400 or
more says what is wrong and changes no row.

The strategies carry the classes that made 500s (issue 10): JSON nested ~60,000 deep, NaN,
Infinity and 1e400, lone surrogates, NUL in text and emails, integers past 2^63 and 2^31 (in
bodies and in `<int:...>` URL parts), cut-off JSON. The same fuzzing runs on PostgreSQL
(`test_fuzz_post_bodies_on_postgres`), where NUL and 32-bit ids broke first; raw Socket.IO
frames are fuzzed against real servers in tests/security/test_fuzz_frames.py.

Size: COUPLE_FUZZ_EXAMPLES examples per rule and per event on SQLite (default 25),
COUPLE_FUZZ_PG_EXAMPLES bodies on PostgreSQL (default 2200); the run's total is printed by
test_fuzz_run_size, which asserts (with the frame fuzzer) at least 10,000 inputs.
"""
import json
import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from couple.extensions import socketio
from tests.security.matrix import CASES, EVENT_CASES, SOCKET_CHANGE_RULES, case_url
from tests.support.security_helpers import diff

EXAMPLES = int(os.environ.get("COUPLE_FUZZ_EXAMPLES", "25"))
POST_RULES = sorted({c.rule for c in CASES if c.method == "POST"})
EVENTS = sorted({c.event for c in EVENT_CASES if c.event not in ("connect", "disconnect")})
FIELDS = ["text", "state", "shared", "version", "op_id", "role", "token", "code", "confirm",
          "wording", "schedule", "start", "end", "weekdays", "tz", "step", "status", "note",
          "day", "id", "hash", "email", "password", "display_name", "current_password",
          "new_password", "remember", "user_id", "couple_id", "owner_id", "private",
          # conversations (issue 14)
          "kind", "title", "until", "opener_id", "conversation_id",
          "enabled", "time"]

scalars = (st.none() | st.booleans() | st.integers(min_value=-2**63, max_value=2**63)
           | st.floats(allow_nan=True) | st.text(max_size=300)
           | st.sampled_from(["", "0", "-1", "yes", "true", "daily", "kept", "working",
                              "rebuilding", "2026-02-30", "9999-99-99", "<script>x</script>",
                              "25:00", "07:30", "on",
                              "question", "feeling", "not_ready", "counsellor", "answer",
                              "2026-12-31T19:00", "9999-12-31T23:59", "Europe/London",
                              "\x00", "a" * 5000, "a\ud800b", "x@example.com\x00"])
           | st.sampled_from([2**63, 2**64, -2**63 - 1, 2**31, 10**40, float("inf"),
                              float("nan"), 1e308]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                           max_leaves=10)
json_bodies = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=12), json_values,
                              max_size=6) | json_values


def _deep(n: int, kind: str) -> str:
    return ("[" * n + "]" * n) if kind == "[" else ('{"a":' * n + "1" + "}" * n)


# Raw JSON request bodies a browser's JSON.stringify would never write.
nasty_json_text = st.one_of(
    st.builds(_deep, st.sampled_from([33, 500, 5000, 40000]), st.sampled_from(["[", "{"])),
    st.builds(lambda field, raw: '{"' + field + '":' + raw + ', "op_id": "opfuzz12345"}',
              st.sampled_from(FIELDS),
              st.sampled_from(["Infinity", "-Infinity", "NaN", "1e400", "[1e400]", "[Infinity]",
                               '"a\\ud800b"', '"\\udfff"', '["\\ud800"]', '"a\\u0000b"',
                               '"x@example.com\\u0000"', "9" * 5000, "9" * 40,
                               str(2**63), str(2**31), str(-2**63 - 1), "[" + str(2**64) + "]"])),
    st.builds(lambda body, cut: json.dumps(body)[:cut], json_bodies, st.integers(0, 40)),
    st.sampled_from(["", "{", "[", '{"text": "unterminated', "{'a': 1}", "[1,]", "\x00",
                     '{"weekdays": [Infinity], "wording": "x", "schedule": "weekdays"}',
                     '{"weekdays": [1e400], "wording": "x", "schedule": "weekdays"}',
                     '{"text": "a\\ud800b"}', '{"email": "a\\u0000@example.com"}']),
)
form_bodies = st.dictionaries(st.sampled_from(FIELDS),
                              st.text(max_size=200) | st.sampled_from(
                                  ["a\x00b", "\x00", "x@example.com\x00", "9" * 30,
                                   str(2**63), "inf", "1e400", "NaN"]), max_size=6)
path_values = st.one_of(st.integers(min_value=-5, max_value=2**40).map(str),
                        st.sampled_from([str(2**31), str(2**31 - 1), str(2**63), str(2**64),
                                         "9" * 30, "%00", "a%00b", "0"]),
                        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1,
                                max_size=20))

FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
COUNT = {"http": 0, "socket": 0, "postgres": 0}
# Inputs per rule / event that reached the app in this process (test_fuzz_run_size checks them).
BY_TARGET: dict[str, int] = {}
# Floors (test_fuzz_run_size), the size on 2026-12-01: every POST rule and every socket event is
# fuzzed (fewer means a rule or event dropped out of the authz cases this reads), and a run
# never fuzzes with fewer examples than these, whatever COUPLE_FUZZ_* says.
FLOOR_POST_RULES = 24
FLOOR_EVENTS = 7
FLOOR_SOCKET_CHANGES = 3  # progress, mark, acknowledge (2026-12-04)
FLOOR_PG_RULES = 22
FLOOR_EXAMPLES = 25
FLOOR_PG_EXAMPLES = 2200


def _fuzzed_url(url: str, rule: str, path: str) -> str:
    """The rule's URL with a made-up value in its last variable (ids past 2^31 and 2^63 too)."""
    if "<" in rule and "<int:step>" not in rule and url.count("/") > 2:
        return url.rsplit("/", 1)[0] + "/" + path
    if "<int:" in rule:
        # The first integer part of the URL (the id) replaced, what follows kept.
        parts = url.split("/")
        for i, part in enumerate(parts):
            if part.isdigit():
                parts[i] = path
                break
        return "/".join(parts)
    return url


def _post(client, url, kind, body, form, raw, token=None):
    # With a token: the page's one CSRF token for every request, as the page's fetch does
    # (CsrfClient would load a page for a fresh one before each POST).
    extra = {"csrf": False, "headers": {"X-CSRFToken": token}} if token else {"headers": {}}
    if kind == "json":
        extra["headers"]["Accept"] = "application/json"
        return client.post(url, json=body, **extra)
    if kind == "raw":
        extra["headers"]["Accept"] = "application/json"
        return client.post(url, data=raw.encode("utf-8", "surrogatepass"),
                           content_type="application/json", **extra)
    return client.post(url, data=form, **extra)


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
    @given(body=json_bodies, form=form_bodies, kind=st.sampled_from(["json", "form", "raw"]),
           raw=nasty_json_text, path=path_values)
    def run(body, form, kind, raw, path):
        matrix.restore()
        world = matrix.world
        client = world.client("owner")
        url = _fuzzed_url(case_url(matrix.app, case, world), rule, path)
        before = matrix.snapshot()
        response = _post(client, url, kind, body, form, raw)
        COUNT["http"] += 1
        BY_TARGET[f"POST {rule}"] = BY_TARGET.get(f"POST {rule}", 0) + 1
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
            BY_TARGET[f"event {event}"] = BY_TARGET.get(f"event {event}", 0) + 1
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


@pytest.mark.parametrize("rule", sorted(SOCKET_CHANGE_RULES))
def test_fuzz_changes_over_the_socket(matrix, rule):
    """`change` {path, body} for the routes served over the socket (couple/socket_changes.py):
    the route's own path (or a made-up id in it, or junk) and a hostile body. An answer is a
    result or an error that says why (never a crash's retry), and a refusal changes no row."""
    case = next(c for c in CASES if c.rule == rule and c.method == "POST")

    @FUZZ
    @given(body=json_bodies, path=path_values, where=st.sampled_from(["own", "made-up", "junk"]),
           junk=json_values)
    def run(body, path, where, junk):
        matrix.restore()
        world = matrix.world
        url = case_url(matrix.app, case, world)
        if where == "made-up":
            url = _fuzzed_url(url, rule, path)
        sock = socketio.test_client(matrix.app, flask_test_client=world.client("owner"))
        try:
            before = matrix.snapshot(ignore=("live_sockets",))
            message = {"path": url if where != "junk" else junk, "body": body}
            ack = sock.emit("change", message, callback=True)
            COUNT["socket"] += 1
            BY_TARGET[f"change {rule}"] = BY_TARGET.get(f"change {rule}", 0) + 1
            assert isinstance(ack, dict), ack
            assert ack.get("retry") is not True, (message, ack)  # not a crash
            if "error" in ack or ack.get("http"):
                assert ack.get("http") or ack["error"], ack
                changes = diff(before, matrix.snapshot(ignore=("live_sockets",)))
                assert changes == {}, (message, changes)
            else:
                assert ack.get("ok") is True and "result" in ack, ack
        finally:
            if sock.is_connected():
                sock.disconnect()

    run()


# ---- the same on PostgreSQL -------------------------------------------------------------------

PG_EXAMPLES = int(os.environ.get("COUPLE_FUZZ_PG_EXAMPLES", "2200"))
# Rules that end the session or the couple would leave the rest of the run nothing to reach.
PG_RULES = [r for r in POST_RULES if r not in ("/logout", "/pair/unlink")]


class PostgresWorld:
    """build_world on a PostgreSQL database, and a one-round-trip digest of every row."""

    def __init__(self, app):
        from sqlalchemy import inspect, text

        from couple.extensions import db
        from tests.support import authz
        from tests.support.security_helpers import build_world

        self.app = app
        with app.app_context():
            db.create_all()
            self.world = build_world(app, authz.seeders())
            tables = [t for t in inspect(db.engine).get_table_names() if t != "live_sockets"]
        parts = " UNION ALL ".join(
            f"""SELECT '{t}:' || md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), ''))
                FROM "{t}" r""" for t in sorted(tables))
        self.digest_sql = text(f"SELECT string_agg(d, ',') FROM ({parts}) AS x(d)")

    def digest(self) -> str:
        from couple.extensions import db

        with self.app.app_context():
            with db.engine.connect() as conn:
                return conn.execute(self.digest_sql).scalar_one()


@pytest.mark.postgres
def test_fuzz_post_bodies_on_postgres(app_factory, postgres_url):
    """Every POST rule (but logout and unlink), on PostgreSQL, as the owner: no 500, a refusal
    says why and changes no row. NUL, 32-bit ids and psycopg's DataError live here."""
    app = app_factory(SQLALCHEMY_DATABASE_URI=postgres_url, RATELIMIT_ENABLED=False)
    pg = PostgresWorld(app)
    world = pg.world
    cases = {rule: next(c for c in CASES if c.rule == rule and c.method == "POST")
             for rule in PG_RULES}
    urls = {rule: case_url(app, case, world) for rule, case in cases.items()}
    started = time.monotonic()

    @settings(max_examples=PG_EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(rule=st.sampled_from(PG_RULES), body=json_bodies, form=form_bodies,
           kind=st.sampled_from(["json", "form", "raw"]), raw=nasty_json_text, path=path_values)
    def run(rule, body, form, kind, raw, path):
        url = _fuzzed_url(urls[rule], rule, path)
        before = known.pop("digest", None) or pg.digest()
        response = _post(client, url, kind, body, form, raw, token=token)
        COUNT["postgres"] += 1
        status = response.status_code
        text = response.get_data(as_text=True)
        assert status < 500, (rule, kind, status, text[:300])
        if status >= 400:
            assert text.strip(), rule
            if response.is_json:
                assert response.get_json().get("error"), rule
            after = pg.digest()
            assert after == before, f"POST {rule}: a refused request changed rows"
            known["digest"] = after  # the next example starts from the same rows

    client = world.client("owner")
    token, known = client.csrf_token(), {}

    with app.app_context():
        run()
    print(f"\nPostgreSQL body fuzz: {COUNT['postgres']} requests over {len(PG_RULES)} rules "
          f"in {time.monotonic() - started:.1f} s")
    assert COUNT["postgres"] >= PG_EXAMPLES * 0.9


def test_fuzz_run_size(request):
    """The run reaches its floors: every POST rule and socket event fuzzed, each with at least
    FLOOR_EXAMPLES inputs that reached the app, FLOOR_PG_EXAMPLES bodies on PostgreSQL, and
    (with tests/security/test_fuzz_frames.py in the same run) at least 10,000 inputs in all. Only
    what this session selected is required (a `-k` run of one rule passes); printed with -s."""
    from tests.security import test_fuzz_frames
    from tests.support.security_helpers import selected_params

    total = sum(COUNT.values()) + sum(test_fuzz_frames.COUNT.values())
    print(f"\nfuzz run: {len(POST_RULES)} POST rules x {EXAMPLES} examples, {len(EVENTS)} socket "
          f"events x {EXAMPLES}, {PG_EXAMPLES} PostgreSQL bodies; executed in this process: "
          f"{COUNT}, raw frames {test_fuzz_frames.COUNT}; total {total}")
    assert len(POST_RULES) >= FLOOR_POST_RULES, f"{len(POST_RULES)} POST rules fuzzed"
    assert len(EVENTS) >= FLOOR_EVENTS, f"{len(EVENTS)} socket events fuzzed"
    assert len(SOCKET_CHANGE_RULES) >= FLOOR_SOCKET_CHANGES, sorted(SOCKET_CHANGE_RULES)
    assert len(PG_RULES) >= FLOOR_PG_RULES, f"{len(PG_RULES)} POST rules fuzzed on PostgreSQL"
    assert EXAMPLES >= FLOOR_EXAMPLES, f"COUPLE_FUZZ_EXAMPLES={EXAMPLES} is under the floor"
    assert PG_EXAMPLES >= FLOOR_PG_EXAMPLES, (
        f"COUPLE_FUZZ_PG_EXAMPLES={PG_EXAMPLES} is under the floor")
    targets = [f"POST {rule}" for rule in selected_params(request, test_fuzz_post_bodies, "rule")]
    targets += [f"event {event}"
                for event in selected_params(request, test_fuzz_socket_payloads, "event")]
    targets += [f"change {rule}"
                for rule in selected_params(request, test_fuzz_changes_over_the_socket, "rule")]
    short = {what: BY_TARGET.get(what, 0) for what in targets
             if BY_TARGET.get(what, 0) < FLOOR_EXAMPLES}
    assert not short, f"fuzzed with fewer than {FLOOR_EXAMPLES} inputs: {short}"
    if COUNT["postgres"]:  # the PostgreSQL fuzz ran here (it is skipped without PostgreSQL)
        assert COUNT["postgres"] >= FLOOR_PG_EXAMPLES * 0.9, COUNT["postgres"]
    if test_fuzz_frames.COUNT and COUNT["postgres"]:
        assert total >= 10_000, total
