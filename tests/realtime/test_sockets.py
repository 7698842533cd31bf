"""The socket: authenticated by the login session, rooms from the server, sync and resync."""
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from couple import events
from couple.accounts.models import User
from couple.events import Event, LiveSocket
from couple.extensions import db
from couple.guides import operations as guides
from couple.models_base import utcnow
from tests.conftest import events_named


def test_connect_without_login_is_refused(client, socket_for):
    sock = socket_for(client)
    assert not sock.is_connected()


def test_connect_joins_only_the_server_chosen_rooms(make_couple, login_as, socket_for, app):
    from couple.extensions import socketio

    riley, sam = make_couple()
    sock = socket_for(login_as(riley))
    assert sock.is_connected()
    sid = db.session.scalar(select(LiveSocket.sid).where(LiveSocket.user_id == riley.id))
    rooms = set(socketio.server.rooms(sid))
    assert rooms == {sid, f"user:{riley.id}", f"couple:{riley.couple_id}"}


def test_a_socket_event_uses_the_session_copied_at_connect(make_couple, login_as, socket_for,
                                                           monkeypatch):
    """The cookie is opened for the connect (who is this?), not again for each event: every
    event gets the session Flask-SocketIO copied at connect (couple/sockets.py
    SocketEventSessions), and is still signed in by it."""
    from flask.sessions import SecureCookieSessionInterface

    opened = []
    original = SecureCookieSessionInterface.open_session

    def counting(self, app, request):
        opened.append(request.path)
        return original(self, app, request)

    monkeypatch.setattr(SecureCookieSessionInterface, "open_session", counting)
    riley, _sam = make_couple()
    client = login_as(riley)
    opened.clear()
    sock = socket_for(client)
    assert sock.is_connected() and len(opened) == 1, opened  # the connect
    for _ in range(3):
        answer = sock.emit("sync", {"couple_id": riley.couple_id}, callback=True)
        assert answer["couple"]["reset"] and "error" not in answer, answer
    assert len(opened) == 1, opened
    assert client.get("/home").status_code == 200 and len(opened) == 2  # a page: its cookie


def test_a_client_cannot_name_a_room(make_couple, make_user, login_as, socket_for):
    a, b = make_couple()
    c, d = make_couple(make_user(), make_user())
    sock = socket_for(login_as(c))
    sock.get_received()
    # There is no join handler at all; an unknown event changes nothing.
    sock.emit("join", {"room": f"couple:{a.couple_id}"})
    sock.emit("join_room", f"couple:{a.couple_id}")
    guides.set_step_state(db.session.get(User, a.id), 1, "working")
    assert events_named(sock.get_received()) == []


def test_sync_replays_what_was_missed(make_couple, login_as, socket_for):
    riley, sam = make_couple()
    sock = socket_for(login_as(sam))
    couple_id = riley.couple_id
    since = events.last_seq(events.couple_stream(couple_id))
    for step, state in [(1, "working"), (2, "working"), (1, "practising")]:
        guides.set_step_state(db.session.get(User, riley.id), step, state)
    answer = sock.emit("sync", {"user": 1, "couple": since, "couple_id": couple_id}, callback=True)
    got = answer["couple"]["events"]
    assert [e["seq"] for e in got] == [since + 1, since + 2, since + 3]
    assert got[-1]["data"]["set"]["progress"][f"{riley.id}:rebuilding:1"]["state"] == "practising"
    assert answer["user"] == {"last": 1, "events": []}


def _replay_overlapping_a_commit(app, riley_id, couple_id):
    """events.replay with a partner's change committed (by another thread, its own transaction)
    between its read of the stream's last seq and its read of the events: what two processes
    on PostgreSQL do when a tab resyncs while the other partner writes."""
    import threading

    from couple.events import replay

    stream = events.couple_stream(couple_id)
    since = events.last_seq(stream)
    guides.set_step_state(db.session.get(User, riley_id), 1, "working")
    db.session.commit()
    real_last_seq = events.last_seq

    def last_seq_then_a_commit(name):
        value = real_last_seq(name)

        def write():
            with app.app_context():
                guides.set_step_state(db.session.get(User, riley_id), 2, "working")
                db.session.remove()

        writer = threading.Thread(target=write)
        writer.start()
        writer.join(60)
        assert not writer.is_alive()
        return value

    events.last_seq = last_seq_then_a_commit
    try:
        answer = replay(stream, since, 1000)
    finally:
        events.last_seq = real_last_seq
    return since, answer


def _check_overlapping_replay(since, answer, stream_last):
    # The exact answer for what was committed when it looked: no reset (a reset makes every
    # page reload its whole state), and the next sync gives the rest.
    assert "reset" not in answer, answer
    assert answer["last"] == since + 1
    assert [e["seq"] for e in answer["events"]] == [since + 1]
    assert stream_last == since + 2


def test_a_sync_overlapping_a_commit_replays_instead_of_resetting(app, make_couple):
    riley, _sam = make_couple()
    since, answer = _replay_overlapping_a_commit(app, riley.id, riley.couple_id)
    db.session.expire_all()
    _check_overlapping_replay(since, answer, events.last_seq(events.couple_stream(riley.couple_id)))


@pytest.mark.postgres
def test_a_sync_overlapping_a_commit_replays_on_postgres(app_factory, postgres_url):
    """The kill -9 test's intermittent miss on PostgreSQL + Redis (two processes): a tab that
    resynced while writes went on got a reset, from the replay's own read of the events."""
    from couple.accounts.operations import sign_up
    from couple.pairing.operations import accept_invite, create_invite

    app = app_factory(SQLALCHEMY_DATABASE_URI=postgres_url)
    with app.app_context():
        riley = sign_up("replay-riley@example.com", "Riley", "correct horse battery staple")
        sam = sign_up("replay-sam@example.com", "Sam", "correct horse battery staple")
        invite, _t, _c = create_invite(riley, "rebuilding")
        accept_invite(invite, sam)
        db.session.expire_all()
        riley = db.session.get(User, riley.id)
        since, answer = _replay_overlapping_a_commit(app, riley.id, riley.couple_id)
        db.session.rollback()
        _check_overlapping_replay(since, answer,
                                  events.last_seq(events.couple_stream(riley.couple_id)))


def test_sync_answers_reset_when_events_were_pruned(make_couple, login_as, socket_for):
    riley, sam = make_couple()
    sock = socket_for(login_as(sam))
    for step in (1, 2, 3):
        guides.set_step_state(db.session.get(User, riley.id), step, "working")
    db.session.execute(update(Event).values(created_at=utcnow() - timedelta(days=40)))
    db.session.commit()
    events.prune(utcnow() - timedelta(days=30))
    answer = sock.emit("sync", {"user": 0, "couple": 0, "couple_id": riley.couple_id},
                       callback=True)
    assert answer["couple"]["reset"] is True and answer["couple"]["last"] == 3
    assert answer["user"]["reset"] is True


def test_sync_from_the_future_or_a_foreign_couple_resets(make_couple, make_user, login_as,
                                                         socket_for):
    riley, sam = make_couple()
    other, _ = make_couple(make_user(), make_user())
    sock = socket_for(login_as(sam))
    answer = sock.emit("sync", {"user": 99, "couple": 99, "couple_id": riley.couple_id},
                       callback=True)
    assert answer["user"]["reset"] and answer["couple"]["reset"]
    answer = sock.emit("sync", {"user": 0, "couple": 0, "couple_id": other.couple_id},
                       callback=True)
    assert answer["couple"]["reset"] and answer["couple"]["events"] == []


def test_sync_with_garbage_is_a_clear_reset_not_a_crash(make_couple, login_as, socket_for):
    riley, _ = make_couple()
    sock = socket_for(login_as(riley))
    for junk in [None, "x", 5, [], {"user": "drop table", "couple": {"a": 1}}, {"user": -1}]:
        answer = sock.emit("sync", junk, callback=True)
        assert answer["user"]["reset"] is True
    assert sock.is_connected()


def test_a_missed_live_event_is_recovered_by_the_next_sync(make_couple, login_as, socket_for):
    """Socket.IO is at-most-once: a tab that was disconnected gets every event on sync."""
    riley, sam = make_couple()
    sam_client = login_as(sam)
    sock = socket_for(sam_client)
    sock.get_received()
    last = events.last_seq(events.couple_stream(riley.couple_id))
    sock.disconnect()
    guides.set_step_state(db.session.get(User, riley.id), 5, "working")
    guides.set_step_state(db.session.get(User, riley.id), 6, "practising")
    again = socket_for(sam_client)
    answer = again.emit("sync", {"user": 1, "couple": last, "couple_id": riley.couple_id},
                        callback=True)
    assert [e["type"] for e in answer["couple"]["events"]] == ["guide.progress", "guide.progress"]


def test_logout_closes_that_browsers_sockets_only(make_user, login_as, socket_for):
    riley = make_user()
    phone, laptop = login_as(riley), login_as(riley)
    phone_sock, laptop_sock = socket_for(phone), socket_for(laptop)
    assert phone_sock.is_connected() and laptop_sock.is_connected()
    assert phone.post("/logout").status_code == 303
    assert not phone_sock.is_connected()
    assert laptop_sock.is_connected()
    # The phone's old cookie signs nobody in any more.
    assert phone.get("/home").status_code == 302


def test_unlink_takes_both_out_of_the_couple_room(make_couple, login_as, socket_for, app):
    from couple.extensions import socketio

    riley, sam = make_couple()
    couple_id = riley.couple_id
    riley_sock, sam_sock = socket_for(login_as(riley)), socket_for(login_as(sam))
    sam_sock.get_received()
    riley_client = login_as(riley)
    assert riley_client.post("/pair/unlink", data={"confirm": "yes"}).status_code == 303
    got = events_named(sam_sock.get_received())
    assert any(e["type"] == "pair.unlinked" and e["stream"] == "couple" for e in got)
    assert socketio.server.manager.rooms["/"].get(f"couple:{couple_id}") in (None, {})
    riley_sock.get_received()  # the unlink's own events, already checked on Sam's side
    # Nothing sent to the old couple's room reaches anyone now.
    socketio.emit("ev", {"probe": True}, to=f"couple:{couple_id}")
    assert events_named(sam_sock.get_received()) == []
    assert events_named(riley_sock.get_received()) == []


def test_private_reflection_canary_never_reaches_the_partner(make_couple, login_as, socket_for):
    riley, sam = make_couple()
    canary = "CANARY-7f3a-private-words"
    sam_client = login_as(sam)
    sam_sock = socket_for(sam_client)
    riley_client = login_as(riley)
    r = riley_client.post("/guide/steps/2/reflection",
                          json={"text": canary, "op_id": "op-canary-1"})
    assert r.status_code == 200 and r.json["result"]["shared"] is False
    riley_client.post("/guide/steps/2/state", json={"state": "working"})
    packets = str(sam_sock.get_received())
    sync = str(sam_sock.emit("sync", {"user": 0, "couple": 0, "couple_id": sam.couple_id},
                             callback=True))
    pages = "".join(sam_client.get(p).get_data(as_text=True)
                    for p in ["/home", "/api/state", "/guide", "/guide/rebuilding", "/pair"])
    for seen in (packets, sync, pages):
        assert canary not in seen
    assert canary in riley_client.get("/guide").get_data(as_text=True)


def test_a_connect_racing_a_logout_is_refused_on_postgres(app_factory, postgres_url):
    """A logout commits while a socket of that session is connecting: on PostgreSQL the
    connect's key-share lock on its session row makes it wait for the logout and then refuse,
    instead of joining its rooms with a session that has ended (couple/sockets.py on_connect)."""
    import threading
    import time

    import psycopg

    from couple.accounts.models import LoginSession
    from couple.accounts.operations import sign_up
    from couple.extensions import socketio
    from tests.conftest import login

    app = app_factory(SQLALCHEMY_DATABASE_URI=postgres_url)
    with app.app_context():
        user = sign_up("race@example.com", "Race", "correct horse battery staple")
        user_id = user.id
    client = app.test_client()
    login(client, user)
    with app.app_context():
        session_id = db.session.scalar(
            select(LoginSession.id).where(LoginSession.user_id == user_id))
    logout = psycopg.connect(postgres_url.replace("postgresql+psycopg://", "postgresql://", 1))
    outcome = {}
    try:
        # The logout's DELETE has run, its COMMIT has not: the row is locked, still visible.
        logout.execute("DELETE FROM login_sessions WHERE id = %s", (session_id,))

        def connect():
            sock = socketio.test_client(app, flask_test_client=client)
            outcome["connected"] = sock.is_connected()
            if sock.is_connected():
                sock.disconnect()

        worker = threading.Thread(target=connect)
        worker.start()
        time.sleep(1.0)  # the connect is now waiting for the session row's lock
        assert worker.is_alive(), "the connect did not wait for the logout"
        logout.commit()
        worker.join(30)
    finally:
        logout.close()
    assert outcome == {"connected": False}
    with app.app_context():
        assert db.session.scalar(
            select(LiveSocket.sid).where(LiveSocket.user_id == user_id)) is None
