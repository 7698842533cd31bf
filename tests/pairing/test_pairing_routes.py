"""Pairing through the pages, as two people would do it."""
import re

from sqlalchemy import func, select

from couple.accounts.models import User
from couple.extensions import db
from couple.pairing.models import Couple, Invite
from tests.conftest import events_named


def _invite(client, role="rebuilding"):
    r = client.post("/pair/invite", data={"role": role})
    assert r.status_code == 303
    page = client.get("/pair").get_data(as_text=True)
    token = re.search(r"/pair/join/([A-Za-z0-9_-]+)", page).group(1)
    code = re.search(r'id="invite-code">([A-Z0-9-]+)<', page).group(1)
    return page, token, code


def test_invite_page_shows_link_and_code_until_used(make_user, login_as):
    c = login_as(make_user(name="Riley"))
    page, token, code = _invite(c, "supporting")
    assert "supporting healing" in page and len(code) == 11  # 10 characters and a dash
    assert token in c.get("/pair").get_data(as_text=True)  # a reload shows it again


def test_accept_by_link(make_user, login_as):
    riley, sam = make_user(name="Riley"), make_user(name="Sam")
    rc, sc = login_as(riley), login_as(sam)
    _, token, _ = _invite(rc, "rebuilding")
    join = sc.get(f"/pair/join/{token}").get_data(as_text=True)
    assert "Riley invites you" in join and "supporting healing" in join
    r = sc.post("/pair/accept", data={"token": token})
    assert r.status_code == 303 and r.headers["Location"].endswith("/home")
    home = sc.get("/home").get_data(as_text=True)
    assert "Riley" in home and "rebuilding trust" in home
    assert "Sam" in rc.get("/home").get_data(as_text=True)


def test_accept_by_typed_code(make_user, login_as):
    riley, sam = make_user(name="Riley"), make_user(name="Sam")
    rc, sc = login_as(riley), login_as(sam)
    _, _, code = _invite(rc, "rebuilding")
    confirm = sc.post("/pair/code", data={"code": code.lower().replace("-", " ")})
    assert confirm.status_code == 200 and "Riley invites you" in confirm.get_data(as_text=True)
    assert sc.post("/pair/accept", data={"code": code}).status_code == 303
    db.session.expire_all()
    assert db.session.get(User, sam.id).couple_id is not None


def test_a_wrong_code_says_so_and_links_nobody(make_user, login_as):
    sc = login_as(make_user())
    r = sc.post("/pair/code", data={"code": "ABCDE-FGHJK"}, follow_redirects=True)
    assert "not valid any more" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Couple)) == 0


def test_inviter_page_learns_of_acceptance_live(make_user, login_as, socket_for):
    riley, sam = make_user(), make_user()
    rc = login_as(riley)
    _, token, _ = _invite(rc)
    sock = socket_for(rc)
    sock.get_received()
    login_as(sam).post("/pair/accept", json={"token": token})
    got = events_named(sock.get_received())
    assert got and got[0]["type"] == "pair.linked" and got[0]["data"]["reload"] is True


def test_decline(make_user, login_as):
    riley, sam = make_user(), make_user()
    rc, sc = login_as(riley), login_as(sam)
    _, token, _ = _invite(rc)
    assert sc.post("/pair/decline", data={"token": token}).status_code == 303
    assert sc.get(f"/pair/join/{token}").status_code == 404
    assert db.session.scalar(select(Invite.declined_at)) is not None


def test_own_invitation_and_already_linked_are_explained(make_couple, make_user, login_as):
    riley = make_user()
    rc = login_as(riley)
    _, token, _ = _invite(rc)
    assert "your own invitation" in rc.get(f"/pair/join/{token}").get_data(as_text=True)
    a, _ = make_couple()
    assert "already linked" in login_as(a).get(f"/pair/join/{token}").get_data(as_text=True)
    r = login_as(a).post("/pair/accept", json={"token": token})
    assert r.status_code == 400 and "already linked" in r.json["error"]


def test_join_link_for_someone_signed_out_comes_back_after_login(make_user, login_as, client):
    rc = login_as(make_user())
    _, token, _ = _invite(rc)
    r = client.get(f"/pair/join/{token}")
    assert r.status_code == 302 and "next=" in r.headers["Location"]


def test_unlink_needs_a_confirmation_and_explains_what_stays(make_couple, login_as):
    riley, sam = make_couple()
    c = login_as(riley)
    page = c.get("/pair/unlink").get_data(as_text=True)
    assert "What they have already seen stays with them" in page
    r = c.post("/pair/unlink", json={})
    assert r.status_code == 400 and db.session.get(User, riley.id).couple_id is not None
    assert c.post("/pair/unlink", data={"confirm": "yes"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(User, sam.id).couple_id is None
    assert "not linked with a partner yet" in login_as(sam).get("/home").get_data(as_text=True)


def test_healthz_and_state_api(make_couple, login_as, client):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/api/state").status_code in (302, 401)
    riley, _ = make_couple()
    state = login_as(riley).get("/api/state").json
    assert state["data"]["couple"]["info"]["partner"]["name"] == "Sam"
    assert state["seqs"]["couple"] == 0 and state["seqs"]["user"] == 1
