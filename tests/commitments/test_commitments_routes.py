"""Every commitments route: for the owner, the partner, another couple, someone unlinked and
nobody. A foreign object id is a 404 and changes nothing."""
import pytest

from couple.commitments.schedule import local_today
from tests.commitments.commitments_helpers import day, fresh_state, make_commitment, rows, user


def _routes(app):
    return sorted({r.rule for r in app.url_map.iter_rules()
                   if r.endpoint.startswith("commitments.")})


@pytest.fixture
def two_couples(make_couple, login_as):
    riley, sam = make_couple()
    eve, mallory = make_couple()
    item = make_commitment(riley, "Answer when you call", days_back=3)
    from couple.commitments import operations as ops
    ops.mark_follow_through(user(riley), item["id"], day(item, 1), "kept")
    return riley, sam, eve, item


def _requests(item, person_id):
    cid, d = item["id"], day(item, 1)
    return [
        ("GET", f"/commitments/{cid}", None),
        ("GET", f"/commitments/trend/{person_id}", None),
        ("POST", f"/commitments/{cid}/reword", {"wording": "taken over"}),
        ("POST", f"/commitments/{cid}/pause", {}),
        ("POST", f"/commitments/{cid}/resume", {}),
        ("POST", f"/commitments/{cid}/end", {}),
        ("POST", f"/commitments/{cid}/days/{d}/mark", {"status": "missed"}),
        ("POST", f"/commitments/{cid}/days/{d}/acknowledge", {"note": "hi"}),
        ("POST", f"/commitments/{cid}/reminder", {"enabled": "on", "time": "07:30"}),
    ]


def test_every_route_is_covered(app):
    """The coverage gate: a new route needs a foreign-user case below."""
    assert _routes(app) == sorted([
        "/commitments", "/commitments/<int:commitment_id>",
        "/commitments/<int:commitment_id>/days/<day>/acknowledge",
        "/commitments/<int:commitment_id>/days/<day>/mark",
        "/commitments/<int:commitment_id>/end", "/commitments/<int:commitment_id>/pause",
        "/commitments/<int:commitment_id>/reminder",
        "/commitments/<int:commitment_id>/resume", "/commitments/<int:commitment_id>/reword",
        "/commitments/trend/<int:person_id>",
    ])


@pytest.mark.parametrize("as_json", [True, False])
def test_another_couple_gets_404_and_changes_nothing(two_couples, login_as, as_json):
    riley, sam, eve, item = two_couples
    client = login_as(eve)
    before = rows()
    for method, url, body in _requests(item, riley.id):
        if method == "GET":
            r = client.get(url, headers={"Accept": "application/json"} if as_json else {})
        elif as_json:
            r = client.post(url, json={**body, "op_id": "foreign-op-1"})
        else:
            r = client.post(url, data=body)
        assert r.status_code == 404, (url, r.status_code)
        assert "Answer when you call" not in r.get_data(as_text=True)
    assert rows() == before
    # The list page shows only Eve's own couple.
    page = client.get("/commitments")
    assert page.status_code == 200 and "Answer when you call" not in page.get_data(as_text=True)


def test_unlinked_and_anonymous(two_couples, make_user, login_as, app):
    riley, sam, eve, item = two_couples
    loner = login_as(make_user())
    before = rows()
    r = loner.get("/commitments")
    assert r.status_code == 200 and "Link with your partner first" in r.get_data(as_text=True)
    for method, url, body in _requests(item, riley.id):
        r = loner.open(url, method=method, json=body if method == "POST" else None)
        assert r.status_code == 404, url
    r = loner.post("/commitments", json={"wording": "x", "schedule": "daily", "tz": "UTC"})
    assert r.status_code == 404
    anon = app.test_client()
    for method, url, body in _requests(item, riley.id) + [("GET", "/commitments", None)]:
        r = anon.open(url, method=method, data=body)
        assert r.status_code in (302, 400), url  # to the login page (or CSRF refused)
    assert rows() == before


def test_the_partner_cannot_mark_reword_or_stop(two_couples, login_as):
    riley, sam, eve, item = two_couples
    client = login_as(sam)
    before = rows()
    for method, url, body in _requests(item, riley.id):
        if method == "POST" and not url.endswith("acknowledge"):
            r = client.post(url, json=body)
            assert r.status_code == 403, url
            assert "Only the person who made" in r.get_json()["error"]
    assert rows() == before
    r = client.post(f"/commitments/{item['id']}/days/{day(item, 1)}/acknowledge",
                    json={"note": "<img src=x onerror=alert(1)>"})
    assert r.status_code == 200 and r.get_json()["result"]["ack"]["by"] == sam.id
    page = client.get(f"/commitments/{item['id']}?day={day(item, 1)}").get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_forms_and_json_for_the_owner(two_couples, login_as):
    riley, sam, eve, item = two_couples
    client = login_as(riley)
    r = client.post("/commitments", data={"wording": "Put the phone away at dinner",
                                          "schedule": "weekdays", "weekdays": ["0", "3"],
                                          "tz": "America/New_York", "start": "",
                                          "owner_id": str(eve.id), "couple_id": "999"})
    assert r.status_code == 303
    made = [c for c in fresh_state(riley)["data"]["commitments"].values()
            if c["wording"] == "Put the phone away at dinner"][0]
    assert made["owner_id"] == riley.id and made["weekdays"] == [0, 3], "extra fields are ignored"
    assert made["tz"] == "America/New_York"
    page = client.get(r.headers["Location"])
    assert page.status_code == 200 and "Put the phone away at dinner" in page.get_data(as_text=True)
    cid = item["id"]
    today = local_today(item["tz"]).isoformat()
    r = client.post(f"/commitments/{cid}/days/{today}/mark",
                    json={"status": "missed", "note": "I forgot", "version": 0,
                          "op_id": "mark-json-01"})
    assert r.status_code == 200 and r.get_json()["result"]["status"] == "missed"
    # A second tab that saw the day unmarked gets a 409 with the saved copy.
    r = client.post(f"/commitments/{cid}/days/{today}/mark", json={"status": "kept", "version": 0})
    assert r.status_code == 409 and r.get_json()["current"]["status"] == "missed"
    r = client.post(f"/commitments/{cid}/reword",
                    data={"wording": "Answer when you call, or text back", "version": "1"})
    assert r.status_code == 303
    r = client.post(f"/commitments/{cid}/reword", json={"wording": "stale", "version": 1})
    assert r.status_code == 409
    assert r.get_json()["current"]["wording"] == "Answer when you call, or text back"
    for verb, status in (("pause", "paused"), ("resume", "active"), ("end", "ended")):
        r = client.post(f"/commitments/{cid}/{verb}", json={})
        assert r.status_code == 200 and r.get_json()["result"]["status"] == status
    r = client.post(f"/commitments/{cid}/days/{today}/mark", json={"status": "maybe"})
    assert r.status_code == 400 and r.get_json()["field"] == "status"
    trend = client.get(f"/commitments/trend/{sam.id}?weeks=26").get_json()
    assert len(trend["weeks"]) == 26


def test_pages_render_for_both_with_neutral_titles(two_couples, login_as):
    riley, sam, eve, item = two_couples
    for u in (riley, sam):
        client = login_as(u)
        for url in ("/commitments", f"/commitments/{item['id']}",
                    f"/commitments/{item['id']}?day={day(item, 1)}&month=2001-13",
                    f"/commitments/{item['id']}?month=2020-01"):
            page = client.get(url)
            text = page.get_data(as_text=True)
            assert page.status_code == 200, url
            assert "<title>couple</title>" in text, "no content in the page title"
            assert 'id="initial-state"' in text and "dist/commitments.js" in text
            assert page.headers["Cache-Control"] == "no-store"


def test_retry_of_the_same_request_applies_once(two_couples, login_as):
    riley, sam, eve, item = two_couples
    client = login_as(riley)
    body = {"wording": "Say goodnight", "schedule": "daily", "tz": "UTC", "op_id": "retry-create-1"}
    first = client.post("/commitments", json=body).get_json()
    second = client.post("/commitments", json=body).get_json()
    assert first == second
    assert sum(c["wording"] == "Say goodnight"
               for c in fresh_state(riley)["data"]["commitments"].values()) == 1
