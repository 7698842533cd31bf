"""Issue 10 item 4, case by case: each input that made a 500 is a clear 4xx that changes nothing,
on SQLite and on PostgreSQL (where NUL and 32-bit ids failed first). The fuzzers
(test_security_fuzz.py, test_fuzz_frames.py) cover the same classes at random."""
import pytest

from tests.conftest import login
from tests.support.security_helpers import diff, snapshot

DEEP = "[" * 60000 + "]" * 60000


def _world(app, make_couple, login_as):
    riley, _sam = make_couple()
    return login_as(riley)


def _refused(client, path, body, *, raw=False, expect=(400,)):
    before = snapshot()
    if raw:
        response = client.post(path, data=body.encode("utf-8", "surrogatepass"),
                               content_type="application/json",
                               headers={"Accept": "application/json"})
    else:
        response = client.post(path, data=body)
    assert response.status_code in expect, (path, response.status_code,
                                            response.get_data(as_text=True)[:200])
    if response.is_json:
        assert response.get_json()["error"]
    assert diff(before, snapshot()) == {}
    return response


JSON_ROUTES = ["/guide/steps/1/state", "/guide/steps/1/reflection", "/guide/steps/1/share",
               "/commitments", "/pair/invite", "/pair/accept", "/pair/decline"]


@pytest.fixture(params=["sqlite", "postgres"])
def world(request, app_factory):
    from couple.extensions import db

    if request.param == "sqlite":
        app = app_factory(RATELIMIT_ENABLED=False)
    else:
        app = app_factory(RATELIMIT_ENABLED=False,
                          SQLALCHEMY_DATABASE_URI=request.getfixturevalue("postgres_url"))
    with app.app_context():
        from couple.accounts.operations import sign_up
        from couple.pairing.operations import accept_invite, create_invite

        riley = sign_up("riley@example.com", "Riley", "correct horse battery staple")
        sam = sign_up("sam@example.com", "Sam", "correct horse battery staple")
        invite, _t, _c = create_invite(riley, "rebuilding")
        accept_invite(invite, sam)
        db.session.expire_all()
        client = app.test_client()
        login(client, riley)
        yield app, client


@pytest.mark.parametrize("path", JSON_ROUTES)
def test_json_nested_60000_deep_is_a_400(world, path):
    _app, client = world
    _refused(client, path, DEEP, raw=True)
    _refused(client, path, '{"a":' * 40000 + "1" + "}" * 40000, raw=True)


@pytest.mark.parametrize("value", ["[Infinity]", "[1e400]", "[NaN]", "[-Infinity]"])
def test_non_finite_weekdays_are_a_400(world, value):
    _app, client = world
    _refused(client, "/commitments", '{"wording": "Call when late", "schedule": "weekdays", '
             f'"weekdays": {value}, "op_id": "opinput1234"}}', raw=True)


def test_a_lone_surrogate_in_a_reflection_is_a_400(world):
    _app, client = world
    _refused(client, "/guide/steps/1/reflection", '{"text": "a\\ud800b"}', raw=True)


@pytest.mark.parametrize("text", ["a\x00b", "\x00"])
def test_nul_in_text_email_or_form_is_a_400(world, text):
    _app, client = world
    _refused(client, "/guide/steps/1/reflection", '{"text": "a\\u0000b"}', raw=True)
    _refused(client, "/guide/steps/1/reflection", {"text": text})
    anonymous = world[0].test_client()
    _refused(anonymous, "/login", {"email": "riley@example.com" + text, "password": "x" * 10})


@pytest.mark.parametrize("ident", [2**31, 2**63, 2**64, 10**30])
def test_ids_past_what_a_column_holds_are_a_404(world, ident):
    _app, client = world
    for path in (f"/commitments/{ident}/pause", f"/commitments/{ident}/days/2026-01-01/mark"):
        _refused(client, path, {"status": "kept"}, expect=(404,))
    assert client.get(f"/commitments/{ident}").status_code == 404
    assert client.get(f"/commitments/trend/{ident}").status_code == 404


def test_cut_off_and_odd_json_is_a_400(world):
    _app, client = world
    for body in ['{"state": "work', "{'state': 'working'}", "[1,]", "", "{"]:
        _refused(client, "/guide/steps/1/state", body, raw=True)


@pytest.mark.parametrize("marked", [False, True], ids=["first-mark", "correction"])
def test_hostile_marks_are_refused_and_change_nothing(world, marked):
    """A mark is written with its own statements (an INSERT ... ON CONFLICT for a first mark,
    a version-guarded UPDATE for a correction): every hostile field is refused before either
    runs, on SQLite and PostgreSQL, and a plain mark still works afterwards."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from couple.accounts.models import User
    from couple.commitments.operations import create_commitment, mark_follow_through
    from couple.extensions import db

    _app, client = world
    riley = db.session.scalar(select(User).where(User.email == "riley@example.com"))
    cid = create_commitment(riley, wording="Call when I am late", schedule="daily",
                            tz="UTC")["id"]
    today = datetime.now(UTC).date().isoformat()
    if marked:
        mark_follow_through(riley, cid, today, "kept")
    url = f"/commitments/{cid}/days/{today}/mark"
    for body in ['{"status": "missed", "note": "a\\u0000b"}',
                 '{"status": "missed", "note": "a\\ud800b"}',
                 '{"status": "missed\\u0000"}', '{"status": ["missed"]}',
                 '{"status": "missed", "version": 1e400}',
                 '{"status": "missed", "version": NaN}',
                 '{"status": "missed", "note": "' + "x" * 5000 + '"}',
                 '{"status": "missed", "note": {"$ne": 1}}']:
        _refused(client, url, body, raw=True)
    for day in ("2026-02-30", "99999-01-01", "0001-01-01", "today"):
        _refused(client, f"/commitments/{cid}/days/{day}/mark", '{"status": "missed"}',
                 raw=True, expect=(400, 404))
    ok = client.post(url, json={"status": "missed", "version": 1 if marked else 0},
                     headers={"Accept": "application/json"})
    assert ok.status_code == 200, ok.get_data(as_text=True)
    assert ok.get_json()["result"]["version"] == (2 if marked else 1)


@pytest.mark.parametrize("version", ["18446744073709551616", "true", '"abc"', "-1", "[1]", "{}",
                                     "1.5"])
def test_an_unreadable_version_is_refused_not_read_as_absent(world, version):
    """The version a change was based on guards against a stale copy: one that cannot be read
    (too large, a bool, a word, negative, a list) is a 400 that changes nothing, not a change
    applied without its guard. Marks, rewordings and reflections alike."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from couple.accounts.models import User
    from couple.commitments.operations import create_commitment, mark_follow_through
    from couple.extensions import db

    _app, client = world
    riley = db.session.scalar(select(User).where(User.email == "riley@example.com"))
    cid = create_commitment(riley, wording="Call when I am late", schedule="daily",
                            tz="UTC")["id"]
    today = datetime.now(UTC).date().isoformat()
    mark_follow_through(riley, cid, today, "kept")
    for path, body in (
            (f"/commitments/{cid}/days/{today}/mark", '{"status": "missed", "version": %s}'),
            (f"/commitments/{cid}/reword", '{"wording": "Call before I am late", "version": %s}'),
            ("/guide/steps/1/reflection", '{"text": "What I noticed", "version": %s}')):
        response = _refused(client, path, body % version, raw=True)
        if version != "18446744073709551616":  # (that one the JSON reader refuses first)
            assert "version" in response.get_data(as_text=True), response.get_data(as_text=True)
    # Absent, null or empty: no guard asked for, the change applies.
    ok = client.post(f"/commitments/{cid}/days/{today}/mark",
                     json={"status": "missed", "version": None},
                     headers={"Accept": "application/json"})
    assert ok.status_code == 200, ok.get_data(as_text=True)
