"""Your data (security.md G.32-33, safety.md 7): export everything of yours; delete your account
and nothing of you is left in any table, events included."""
import json

from couple.accounts.models import LoginSession, User
from couple.events import Event, LiveSocket
from couple.extensions import db
from couple.guides import operations as guides
from couple.guides.models import Reflection
from tests.conftest import PASSWORD, events_named
from tests.support.security_helpers import (
    client_with_cookies,
    cookies_of,
    diff,
    new_canary,
    search_database,
    snapshot,
)


def _write(user, step, text, share=False):
    guides.save_reflection(user, step, text, None)
    if share:
        guides.share_reflection(user, step, True)


def test_export_has_all_of_mine_and_none_of_my_partners_private_notes(make_couple, login_as):
    riley, sam = make_couple()
    mine, shared, theirs, their_shared = (new_canary(x) for x in ("MINE", "SHR", "THEIRS", "TSH"))
    _write(riley, 1, mine)
    _write(riley, 2, shared, share=True)
    _write(sam, 1, theirs)
    _write(sam, 2, their_shared, share=True)
    guides.set_step_state(riley, 3, "working")

    response = login_as(riley).get("/account/export")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "couple-export.json" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data(as_text=True)
    data = json.loads(body)
    assert data["account"]["email"] == riley.email
    texts = {r["text"] for r in data["guides"]["reflections"]}
    assert texts == {mine, shared}
    assert {(p["step"], p["state"]) for p in data["guides"]["progress"]} == {(3, "working")}
    assert data["couples"][0]["your_role"] == "rebuilding"
    # Never the partner's words, private or shared: a shared note is still theirs.
    assert theirs not in body and their_shared not in body
    # Never a secret: password hash, session or invitation token hashes.
    assert riley.password_hash not in body and "token_hash" not in body and "code_hash" not in body


def test_export_needs_login(client):
    response = client.get("/account/export")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_delete_needs_the_password_and_changes_nothing_without_it(make_couple, login_as):
    riley, _sam = make_couple()
    c = login_as(riley)
    before = snapshot()
    response = c.post("/account/delete", data={"password": "not my password", "confirm": "y"})
    assert response.status_code == 400
    assert "That is not your password." in response.get_data(as_text=True)
    response = c.post("/account/delete", data={"password": PASSWORD})  # no confirm box
    assert response.status_code == 400
    assert diff(before, snapshot()) == {}


def _commitment_with_mark(owner, partner, wording, note, ack_note):
    from couple.commitments import operations as commitments
    from couple.commitments.schedule import local_today

    item = commitments.create_commitment(owner, wording=wording, schedule="daily")
    today = local_today("UTC").isoformat()
    commitments.mark_follow_through(owner, item["id"], today, "kept", note)
    commitments.acknowledge_mark(partner, item["id"], today, ack_note)
    return item


def _boundary(app, client, user_id, text):
    from tests.boundaries.boundaries_helpers import Editor

    sock = app.extensions["socketio"].test_client(app, flask_test_client=client)
    editor = Editor(sock, user_id)
    editor.sync()
    bid, ack = editor.add(text)
    assert ack.get("ok"), ack
    sock.disconnect()
    return bid


def test_export_includes_my_commitments_marks_and_boundaries(make_couple, login_as, app):
    riley, sam = make_couple()
    wording, note, ack_note = new_canary("WORD"), new_canary("NOTE"), new_canary("ACK")
    _commitment_with_mark(riley, sam, wording, note, ack_note)
    theirs = new_canary("THEIRWORD")
    from couple.commitments import operations as commitments

    commitments.create_commitment(sam, wording=theirs, schedule="daily")
    riley_client = login_as(riley)
    boundary = new_canary("BOUND")
    _boundary(app, riley_client, riley.id, boundary)
    body = riley_client.get("/account/export").get_data(as_text=True)
    assert wording in body and note in body and boundary in body
    assert theirs not in body


def test_delete_account_leaves_nothing_of_them_anywhere(app, make_user, make_couple, login_as,
                                                        socket_for):
    name, email_local = new_canary("NAME")[:40], new_canary("mail")
    riley = make_user(name=name, email=f"{email_local}@example.com")
    sam_text = new_canary("SAMNOTE")
    riley, sam = make_couple(rebuilding=riley)
    riley_id, sam_id = riley.id, sam.id
    private, shared = new_canary("PRIV"), new_canary("SHARED")
    _write(riley, 1, private)
    _write(riley, 2, shared, share=True)
    # Edits with op ids: their stored results hold copies of the text.
    guides.save_reflection(riley, 2, shared + " edited", None, op_id="op-edit-0001")
    _write(sam, 1, sam_text, share=True)
    guides.set_step_state(riley, 1, "working")
    from couple.pairing.operations import create_invite

    wording, note, sam_ack = new_canary("WORD"), new_canary("NOTE"), new_canary("SAMACK")
    _commitment_with_mark(riley, sam, wording, note, sam_ack)
    sam_wording = new_canary("SAMWORD")
    from couple.commitments import operations as commitments

    commitments.create_commitment(sam, wording=sam_wording, schedule="daily")
    riley_client, riley_other_device = login_as(riley), login_as(riley, remember=True)
    sam_client = login_as(sam)
    boundary = new_canary("BOUND")
    _boundary(app, riley_client, riley.id, boundary)
    riley_sockets = [socket_for(riley_client), socket_for(riley_other_device)]
    sam_socket = socket_for(sam_client)
    assert all(s.is_connected() for s in riley_sockets + [sam_socket])
    sam_socket.get_received()
    riley_words = (private, shared, name, email_local, wording, note, boundary)
    for canary in riley_words:  # the canaries are really there before
        assert search_database(canary), canary

    cookie_jar = cookies_of(riley_other_device)
    response = riley_client.post("/account/delete", data={"password": PASSWORD, "confirm": "y"})
    assert response.status_code == 303

    # Nothing of Riley in any column of any table, event payloads included.
    assert search_database(*riley_words) == []
    db.session.expire_all()
    assert db.session.get(User, riley_id) is None
    for model in (LoginSession, LiveSocket, Reflection):
        assert db.session.query(model).filter_by(user_id=riley_id).count() == 0
    assert db.session.query(Event).filter_by(actor_id=riley_id).count() == 0
    # Every socket of theirs was cut at once; the partner's stays, out of the couple room.
    assert not any(s.is_connected() for s in riley_sockets)
    assert sam_socket.is_connected()
    assert any(e["type"] == "pair.unlinked" for e in events_named(sam_socket.get_received()))
    # Sam keeps Sam's own words and is unlinked.
    sam = db.session.get(User, sam_id)
    assert sam.couple_id is None
    assert search_database(sam_text) and search_database(sam_wording)
    # The cookie of another device (remember-me included) signs nobody in.
    assert any(name == "remember_token" for name, _v, _d in cookie_jar)
    assert client_with_cookies(app, cookie_jar).get("/home").status_code == 302
    assert riley_other_device.get("/account").status_code == 302
    # Sam can link again, with someone else.
    create_invite(sam, "supporting")


def test_delete_unlinked_account(make_user, login_as):
    lee = make_user()
    lee_id, lee_email = lee.id, lee.email
    c = login_as(lee)
    response = c.post("/account/delete", data={"password": PASSWORD, "confirm": "y"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, lee_id) is None
    assert search_database(lee_email) == []
