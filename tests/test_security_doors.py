"""Abuse of the doors (security.md D.19-D.22): rate limits, no account enumeration, CSRF on every
state-changing request (login included), and no GET changes anything."""
import re
import statistics
import time

import pytest

from tests.authz import ROLES
from tests.conftest import PASSWORD, login
from tests.security_helpers import diff
from tests.test_security_authz import CASES, _url, matrix  # noqa: F401  (the shared world)

POST_RULES = sorted({c.rule for c in CASES if c.method == "POST"})
GET_CASES = [c for c in CASES if c.method == "GET" and c.note != "no such step"]


def _first_case(rule, method):
    return next(c for c in CASES if c.rule == rule and c.method == method)


@pytest.mark.parametrize("rule", POST_RULES)
@pytest.mark.parametrize("role", ["anonymous", "owner"])
def test_every_post_without_a_csrf_token_is_refused_and_changes_nothing(matrix, rule, role):
    matrix.restore()
    case = _first_case(rule, "POST")
    client = matrix.world.client(role)
    body = case.body(matrix.world) or {}
    before = matrix.snapshot()
    for kwargs in ({"data": body}, {"json": body, "headers": {"Accept": "application/json"}}):
        response = client.post(_url(matrix.app, case, matrix.world), csrf=False, **kwargs)
        assert response.status_code == 400, (rule, response.status_code)
        assert "expired" in response.get_data(as_text=True)
    # A token from another session does not do either.
    other = matrix.world.client("stranger").csrf_token()
    response = client.post(_url(matrix.app, case, matrix.world), csrf=False,
                           headers={"X-CSRFToken": other}, data=body)
    assert response.status_code == 400
    assert diff(before, matrix.snapshot()) == {}


@pytest.mark.parametrize("case", GET_CASES, ids=[c.rule for c in GET_CASES])
def test_no_get_changes_anything(matrix, case):
    matrix.restore()
    for role in ROLES:
        before = matrix.snapshot()
        response = matrix.world.client(role).get(_url(matrix.app, case, matrix.world))
        response.close()
        assert response.status_code < 500
        assert diff(before, matrix.snapshot()) == {}, f"GET {case.rule} as {role} changed rows"


# ---- rate limits (a separate app: the matrix turns them off) -------------------------------

def _wrong_login(client, email, ip="10.0.0.1"):
    return client.post("/login", data={"email": email, "password": "wrong password!"},
                       environ_base={"REMOTE_ADDR": ip})


def _assert_429(response):
    assert response.status_code == 429
    # How long to wait comes from the limit that was hit (couple/ratelimited.py).
    assert re.search(r"Too many tries\. Please wait (a minute|up to [\w ]+) and try again\.",
                     response.get_data(as_text=True))


def test_login_is_limited_per_ip(app):
    client = app.test_client()
    for n in range(10):
        assert _wrong_login(client, f"nobody{n}@example.com").status_code == 400
    _assert_429(_wrong_login(client, "nobody-else@example.com"))
    # Another address is not blocked by this one.
    assert _wrong_login(client, "nobody@example.com", ip="10.0.0.2").status_code == 400


def test_login_is_limited_per_account_across_ips(app, make_user):
    user = make_user()
    client = app.test_client()
    for n in range(10):
        assert _wrong_login(client, user.email, ip=f"10.1.0.{n}").status_code == 400
    # Even the right password from a fresh address waits now: the account is being guessed.
    response = client.post("/login", data={"email": user.email, "password": PASSWORD},
                           environ_base={"REMOTE_ADDR": "10.1.1.1"})
    _assert_429(response)


def test_signup_is_limited_per_ip(app):
    client = app.test_client()
    for n in range(10):
        client.post("/signup", data={"display_name": "x", "email": f"s{n}@example.com",
                                     "password": "short"})
    _assert_429(client.post("/signup", data={"display_name": "x", "email": "z@example.com",
                                             "password": PASSWORD}))


def test_invite_code_redemption_is_limited_per_account_and_per_ip(app, make_user, login_as):
    guesser = login_as(make_user())
    for _ in range(10):
        assert guesser.post("/pair/code", data={"code": "ABCDE-FGHJK"}).status_code == 303
    _assert_429(guesser.post("/pair/code", data={"code": "ABCDE-FGHJK"}))
    # Per account: the same person from another address is still limited.
    _assert_429(guesser.post("/pair/code", data={"code": "ABCDE-FGHJK"},
                             environ_base={"REMOTE_ADDR": "10.9.9.9"}))
    # Per IP: another account behind the first address is limited too.
    other = login_as(make_user())
    _assert_429(other.post("/pair/code", data={"code": "ABCDE-FGHJK"}))


def test_invite_link_and_accept_are_limited(app, make_user, login_as):
    guesser = login_as(make_user())
    for n in range(30):
        assert guesser.get(f"/pair/join/{'t' * 40}{n:03d}").status_code == 404
    _assert_429(guesser.get("/pair/join/" + "u" * 43))
    for _ in range(20):
        assert guesser.post("/pair/accept", json={"token": "v" * 43}).status_code == 404
    response = guesser.post("/pair/accept", json={"token": "v" * 43})
    assert response.status_code == 429 and "Too many tries" in response.get_json()["error"]


# ---- enumeration -------------------------------------------------------------------------------

_TOKEN = re.compile(r'(name="csrf-token" content=|name="csrf_token" type="hidden" value=)"[^"]+"')


def _normalised(response) -> str:
    return _TOKEN.sub("TOKEN", response.get_data(as_text=True))


def test_unknown_email_and_wrong_password_look_the_same(app_factory, make_user):
    app = app_factory(RATELIMIT_ENABLED=False)
    with app.app_context():
        from couple.accounts.operations import sign_up

        user = sign_up("known@example.com", "Known", PASSWORD)
        client = app.test_client()
        known = client.post("/login", data={"email": user.email, "password": "wrong password"})
        unknown = client.post("/login", data={"email": "unknown@example.com",
                                              "password": "wrong password"})
        assert known.status_code == unknown.status_code == 400
        assert _normalised(known) == _normalised(unknown).replace("unknown@", "known@")
        # Signup tells a taken address, but only to someone who can also just log in; the
        # login form never does. Timing: both paths verify one argon2 hash. Measured, not
        # asserted (a shared CI machine's timing is noise):
        timings = {"known": [], "unknown": []}
        for _ in range(5):
            for label, email in (("known", user.email), ("unknown", "nobody@example.com")):
                start = time.perf_counter()
                client.post("/login", data={"email": email, "password": "wrong password"})
                timings[label].append(time.perf_counter() - start)
        medians = {k: round(statistics.median(v) * 1000, 1) for k, v in timings.items()}
        print(f"\nlogin timing medians (ms): {medians}")


def test_the_login_form_is_protected_by_csrf_too(app, make_user):
    user = make_user()
    client = app.test_client()
    response = client.post("/login", csrf=False, data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/home").status_code == 302
    login(client, user)  # and with the token it works
