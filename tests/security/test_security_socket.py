"""The socket (security.md B.8-B.11, A.7): origin and login checked on a real server; logout,
password change, unlink and account deletion cut the affected sockets at once, and what a cut
or unlinked socket sends afterwards is refused; oversized messages are refused and the server
stays up."""

import pytest
import requests
import socketio as sio

from couple.events import LiveSocket
from couple.extensions import db
from tests.conftest import PASSWORD, events_named
from tests.support.servers import cookie_header, link_couple, signup, start_server

# ---- on a real server (the Flask-SocketIO test client skips the origin check) ---------------

@pytest.fixture
def server(tmp_path):
    s = start_server(tmp_path, env={"COUPLE_MAX_SOCKET_MESSAGE": "4096"})
    s.opened = []  # requests sessions and socket clients, closed whatever happens
    yield s
    for thing in s.opened:
        if isinstance(thing, sio.Client):
            if thing.connected:
                thing.disconnect()
            if getattr(thing.eio, "ws", None) is not None:
                thing.eio.ws.close()
                thing.eio.ws.shutdown()  # close() does nothing once the server cut it
            if getattr(thing.eio, "http", None) is not None:
                thing.eio.http.close()
        else:
            thing.close()
    s.stop()


def _signup(server, name):
    session = signup(server.url, name, f"{name.lower()}@example.com")
    server.opened.append(session)
    return session


def _handshake(server, **headers):
    return requests.get(server.url + "/socket.io/", params={"EIO": "4", "transport": "polling"},
                        headers=headers, timeout=5)


def _client(server):
    client = sio.Client(reconnection=False, request_timeout=5)
    server.opened.append(client)
    return client


@pytest.mark.server
def test_real_server_refuses_foreign_origin_and_anonymous_sockets(server):
    person = _signup(server, "Riley")
    cookies = cookie_header(person)
    # B.8: a page on another site cannot open a socket with the person's cookies.
    assert _handshake(server, Origin="https://evil.example", Cookie=cookies).status_code == 400
    assert _handshake(server, Origin="null", Cookie=cookies).status_code == 400
    assert _handshake(server, Origin=server.url, Cookie=cookies).status_code == 200
    foreign = _client(server)
    with pytest.raises(sio.exceptions.ConnectionError):
        foreign.connect(server.url, headers={"Origin": "https://evil.example", "Cookie": cookies},
                        transports=["polling"], wait_timeout=5)
    # B.9: no session, no socket (same origin, so only the login check stands in the way).
    anonymous = _client(server)
    with pytest.raises(sio.exceptions.ConnectionError):
        anonymous.connect(server.url, transports=["websocket"], wait_timeout=5)
    signed_in = _client(server)
    signed_in.connect(server.url, headers={"Cookie": cookies},
                      transports=["websocket"], wait_timeout=5)
    assert signed_in.connected
    signed_in.disconnect()


@pytest.mark.server
def test_real_server_refuses_an_oversized_message_and_stays_up(server):
    person = _signup(server, "Riley")
    # websocket-client sends the same-origin Origin header by itself.
    headers = {"Cookie": cookie_header(person)}
    big = _client(server)
    big.connect(server.url, headers=headers, transports=["websocket"], wait_timeout=5)
    # Over COUPLE_MAX_SOCKET_MESSAGE (4096 here): engineio drops the connection.
    raw = big.eio.ws  # engineio forgets it when the server drops the connection
    with pytest.raises(sio.exceptions.TimeoutError):
        big.call("sync", {"pad": "x" * 20_000}, timeout=3)
    # websocket-client's close() does nothing once the server has cut the connection, and
    # engineio has forgotten it: shutdown() closes the socket, else it is found unclosed in
    # whatever test runs when the collector gets to it (a flake seen twice in six runs).
    raw.close()
    raw.shutdown()
    # The server is still up and a normal socket still works.
    assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
    ok = _client(server)
    ok.connect(server.url, headers=headers, transports=["websocket"], wait_timeout=5)
    answer = ok.call("sync", {}, timeout=5)
    assert "user" in answer
    ok.disconnect()


@pytest.mark.server
def test_real_server_unlink_cuts_the_partner_out_of_the_room_at_once(server):
    riley = _signup(server, "Riley")
    sam = _signup(server, "Sam")
    couple_id = link_couple(server.url, riley, sam)
    seen = []
    sam_socket = _client(server)
    sam_socket.on("ev", lambda data: seen.append(data))
    sam_socket.connect(server.url, headers={"Cookie": cookie_header(sam)},
                       transports=["websocket"], wait_timeout=5)
    from tests.support.servers import post_json

    assert post_json(riley, server.url, "/pair/unlink", {"confirm": "yes"}).status_code == 200
    # After the unlink, Riley's shared progress never reaches Sam's open socket.
    post_json(riley, server.url, "/guide/steps/1/state", {"state": "working"})
    sam_socket.sleep(1)
    sam_socket.disconnect()
    assert all(e.get("type") != "guide.progress" for e in seen), seen
    answer_types = {e.get("type") for e in seen}
    assert "pair.unlinked" in answer_types
    assert couple_id


# ---- with the Socket.IO test client --------------------------------------------------------

def _live(user_id):
    db.session.expire_all()
    return db.session.query(LiveSocket).filter_by(user_id=user_id).count()


def test_logout_cuts_that_browsers_sockets_and_a_cut_socket_is_refused(make_user, login_as,
                                                                       socket_for):
    user = make_user()
    here, there = login_as(user), login_as(user)
    here_socket, there_socket = socket_for(here), socket_for(there)
    assert here.post("/logout").status_code == 303
    assert not here_socket.is_connected()
    assert there_socket.is_connected()
    # The cut socket's session is gone: reconnecting with the same cookies is refused.
    assert not socket_for(here).is_connected()


def test_password_change_cuts_every_other_session_and_its_sockets(make_user, login_as,
                                                                  socket_for):
    user = make_user()
    user_id = user.id
    mine, other1, other2 = login_as(user), login_as(user), login_as(user, remember=True)
    keep = socket_for(mine)
    cut = [socket_for(other1), socket_for(other1), socket_for(other2)]
    response = mine.post("/account/password", data={"current_password": PASSWORD,
                                                    "new_password": "a new and long passphrase"})
    assert response.status_code == 303
    assert keep.is_connected()
    assert not any(s.is_connected() for s in cut)
    assert _live(user_id) == 1
    for c in (other1, other2):
        assert c.get("/home").status_code == 302
        assert not socket_for(c).is_connected()


def test_unlink_refuses_what_the_former_partners_socket_sends_next(make_couple, login_as,
                                                                   socket_for, app):
    riley, sam = make_couple()
    riley_client, sam_client = login_as(riley), login_as(sam)
    riley_socket, sam_socket = socket_for(riley_client), socket_for(sam_client)
    from tests.boundaries.boundaries_helpers import Editor

    editor = Editor(sam_socket, sam.id)
    editor.sync()
    assert sam_client.post("/pair/unlink", json={"confirm": "yes"}).status_code == 200
    riley_socket.get_received()
    # Sam's tab still has the old document open: its edit is refused, Riley hears nothing.
    _bid, ack = editor.add("after the unlink")
    assert "error" in ack, ack
    assert events_named(riley_socket.get_received(), "b:y") == []
    ack = sam_socket.emit("b:accept", {"id": "b0a1b2c3d4e5f607", "hash": "0" * 64},
                          callback=True)
    assert "error" in ack


def test_deletion_cuts_every_socket_of_the_account(make_user, login_as, socket_for):
    user = make_user()
    user_id = user.id
    a, b = login_as(user), login_as(user)
    sockets = [socket_for(a), socket_for(b), socket_for(b)]
    assert a.post("/account/delete", data={"password": PASSWORD, "confirm": "y"}).status_code == 303
    assert not any(s.is_connected() for s in sockets)
    assert _live(user_id) == 0


def test_boundaries_update_over_the_cap_is_refused_and_changes_nothing(app_factory, make_couple,
                                                                        login_as, socket_for):
    from tests.boundaries.boundaries_helpers import Editor
    from tests.support.security_helpers import diff, snapshot

    riley, _sam = make_couple()
    client = login_as(riley)
    editor = Editor(socket_for(client), riley.id)
    editor.sync()
    before = snapshot()
    _bid, ack = editor.add("x" * (70 * 1024))
    assert ack.get("code") == "too_big" or "error" in ack, ack
    assert diff(before, snapshot()) == {}
    # A fresh tab (the refused change never happened as far as the server knows).
    fresh = Editor(editor.sock, riley.id)
    fresh.sync()
    _bid, ack = fresh.add("a normal boundary")
    assert ack.get("ok"), ack
