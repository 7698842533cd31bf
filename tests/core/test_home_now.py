"""Home's "what now?" (issue 12, item 5), through /api/now and the rendered page, for each partner:
their own commitments to mark today, the boundaries that wait for *their* acceptance, their next
guide step. The same function renders the first page and answers the live refresh."""
from couple.accounts.models import User
from couple.boundaries import operations as bops
from couple.boundaries.content import content_hash
from couple.commitments import operations as cops
from couple.extensions import db
from couple.guides import operations as gops
from tests.boundaries.boundaries_helpers import Editor
from tests.commitments.commitments_helpers import day, make_commitment, user


def _now(client):
    r = client.get("/api/now")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    return r.get_json()


def _couple(u):
    db.session.expire_all()
    return db.session.get(User, u.id).couple


def test_due_today_is_each_persons_own_and_leaves_when_marked(make_couple, login_as):
    riley, sam = make_couple()
    mine = make_commitment(riley, "Text when I leave work", days_back=2)
    make_commitment(sam, "A walk for myself")
    r_client, s_client = login_as(riley), login_as(sam)
    r_now, s_now = _now(r_client), _now(s_client)
    assert [c["wording"] for c in r_now["due"]["items"]] == ["Text when I leave work"]
    assert r_now["due"]["earlier"] == 2, "two past days not marked yet, said apart from today"
    assert [c["wording"] for c in s_now["due"]["items"]] == ["A walk for myself"]
    cops.mark_follow_through(user(riley), mine["id"], day(mine), "kept")
    assert _now(r_client)["due"]["items"] == []
    assert _now(r_client)["due"]["earlier"] == 2
    html = r_client.get("/home").get_data(as_text=True)
    words = " ".join(html.replace('<span class="n">', "").replace("</span>", "").split())
    assert "Done for today: you marked everything that was due." in html
    assert "2 earlier days not marked yet" in words


def test_boundaries_wait_for_the_person_who_has_not_accepted(make_couple, login_as, socket_for):
    riley, sam = make_couple()
    editor = Editor(socket_for(login_as(riley)), riley.id)
    editor.sync()
    bid, _ = editor.add("We say when plans change, before they change.", "communication")
    editor.add("", "privacy", order=2.0)  # an empty one being typed is nothing to accept yet
    r_client, s_client = login_as(riley), login_as(sam)
    for client in (r_client, s_client):
        w = _now(client)["waiting"]
        assert w["count"] == 1 and w["items"][0]["text"].startswith("We say when plans change")
        assert w["items"][0]["partner_accepted"] is False
    h = content_hash("We say when plans change, before they change.", "communication")
    bops.approve_boundary(_couple(riley), db.session.get(User, riley.id), bid, h)
    assert _now(r_client)["waiting"]["count"] == 0, "Riley accepted: nothing waits for Riley"
    w = _now(s_client)["waiting"]
    assert w["count"] == 1 and w["items"][0]["partner_accepted"] is True
    html = s_client.get("/home").get_data(as_text=True)
    assert "Waiting for your acceptance" in html and "(Riley accepted)" in html
    bops.approve_boundary(_couple(sam), db.session.get(User, sam.id), bid, h)
    assert _now(s_client)["waiting"]["count"] == 0
    # The partner rewords it: the acceptance is for an old wording, so it waits for both again.
    editor.receive()
    editor.type_into(bid, 0, "Always: ")
    assert _now(r_client)["waiting"]["count"] == 1 and _now(s_client)["waiting"]["count"] == 1


def test_the_next_guide_step(make_couple, login_as):
    riley, sam = make_couple()
    client = login_as(riley)
    n = _now(client)["next"]
    assert (n["number"], n["state"], n["total"]) == (1, "not_started", 10)
    gops.set_step_state(db.session.get(User, riley.id), 1, "practising")
    gops.set_step_state(db.session.get(User, riley.id), 3, "working")
    n = _now(client)["next"]
    assert (n["number"], n["label"]) == (3, "Working on it"), "what is under way comes first"
    for step in range(1, 11):
        gops.set_step_state(db.session.get(User, riley.id), step, "practising")
    assert _now(client)["next"]["number"] is None
    assert _now(login_as(sam))["next"]["total"] == 8


def test_someone_alone_gets_only_their_own(make_user, login_as):
    loner = login_as(make_user())
    now = _now(loner)
    assert now["linked"] is False and now["due"]["items"] == [] and now["waiting"]["count"] == 0
    assert now["next"] is None
    html = loner.get("/home").get_data(as_text=True)
    assert "Waiting for your acceptance" not in html and "Your guide starts" in html


def test_nobody_signed_in_gets_nothing(client):
    r = client.get("/api/now")
    assert r.status_code in (302, 401)
