"""Devices (issue 12 item 3): the account page lists this person's signed-in sessions (a rough
browser label, a rough last-use day, no address, no place), marks this device, and ends any one
of them at once: its cookie signs nobody in and its sockets stop receiving, in every process,
even a raw client that ignores the server's DISCONNECT packet. Another person's device id is a
404 that changes nothing.
"""
import json
import re
import time
from datetime import date, timedelta

import pytest
import requests
import websocket
from sqlalchemy import select, update

from couple.accounts import devices
from couple.accounts.models import LoginSession
from couple.events import LiveSocket
from couple.extensions import db
from tests.conftest import PASSWORD, login
from tests.support.security_helpers import diff, snapshot
from tests.support.servers import csrf_from, link_couple, post_json, signup, start_server

PHONE_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Mobile Safari/537.36")
LAPTOP_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.mark.parametrize(("ua", "label"), [
    (PHONE_UA, "Chrome on Android"),
    (LAPTOP_UA, "Firefox on Windows"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari on iPhone"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0", "Edge on Mac"),
    ("Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "CriOS/126.0 Mobile/15E148 Safari/604.1", "Chrome on iPad"),
    ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Safari/537.36", "Chrome on ChromeOS"),
    ("Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36", "Samsung Internet on Android"),
    ("python-requests/2.32", "A browser"),
    ("", "A browser"),
    (None, "A browser"),
    ("<script>alert(1)</script> Firefox/1", "Firefox"),
    ("\x00\ud800" * 10_000 + " Linux", "A browser"),  # only the first 512 characters are read
    ("\x00\ud800 Linux", "A browser on Linux"),
])
def test_device_label_is_a_rough_name_from_a_fixed_vocabulary(ua, label):
    assert devices.device_label(ua) == label


def test_rough_age_never_says_a_time():
    today = date(2026, 12, 1)
    assert devices.rough_age(today, today) == "today"
    assert devices.rough_age(today - timedelta(days=1), today) == "yesterday"
    assert devices.rough_age(today - timedelta(days=5), today) == "this week"
    assert devices.rough_age(today - timedelta(days=20), today) == "this month"
    assert devices.rough_age(today - timedelta(days=200), today) == "over a month ago"
    assert devices.rough_age(None, today) == "a while ago"


def _login_with(app, user, ua, **kwargs):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = ua
    login(client, user, **kwargs)
    return client


def _device_ids(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-device-id="(\d+)"', page)]


def test_account_page_lists_each_device_marks_this_one_and_shows_no_place(app, make_user,
                                                                          make_couple):
    user = make_user()
    phone = _login_with(app, user, PHONE_UA)
    laptop = _login_with(app, user, LAPTOP_UA, remember=True)
    page = laptop.get("/account").get_data(as_text=True)
    assert page.count('class="device"') == 2
    assert "Chrome on Android" in page and "Firefox on Windows" in page
    # This device first, marked; the other one is not.
    first = page.index('class="device"')
    assert page.index("Firefox on Windows") < page.index("Chrome on Android")
    assert page.count("This device") == 1 and page.index("This device") > first
    assert "Last used today" in page and "kept signed in" in page
    # No address, no raw User-Agent anywhere (the test client's address is 127.0.0.1).
    assert "127.0.0.1" not in page and "Gecko/20100101" not in page and "Pixel 8" not in page
    db.session.expire_all()
    stored = db.session.scalars(
        select(LoginSession.device).where(LoginSession.user_id == user.id)).all()
    assert sorted(stored) == ["Chrome on Android", "Firefox on Windows"]
    # The partner's devices are never listed on my page.
    riley, sam = make_couple()
    _login_with(app, sam, PHONE_UA)
    riley_page = _login_with(app, riley, LAPTOP_UA).get("/account").get_data(as_text=True)
    assert riley_page.count('class="device"') == 1
    assert phone.get("/account").status_code == 200


def test_ending_another_device_signs_it_out_and_closes_its_sockets_at_once(app, make_user,
                                                                           socket_for):
    user = make_user()
    user_id = user.id
    phone = _login_with(app, user, PHONE_UA)
    laptop = _login_with(app, user, LAPTOP_UA)
    phone_sockets = [socket_for(phone), socket_for(phone)]
    laptop_socket = socket_for(laptop)
    page = laptop.get("/account").get_data(as_text=True)
    phone_item = page.split("Chrome on Android")[0].rsplit("<li", 1)[-1]
    phone_id = next(i for i in _device_ids(page) if f'data-device-id="{i}"' in phone_item)
    response = laptop.post(f"/account/devices/{phone_id}/end")
    assert response.status_code == 303 and response.headers["Location"].endswith("/account#devices")
    assert "Signed out: Chrome on Android." in laptop.get("/account").get_data(as_text=True)
    assert not any(s.is_connected() for s in phone_sockets)
    assert laptop_socket.is_connected()
    assert phone.get("/home").status_code == 302
    assert not socket_for(phone).is_connected()
    db.session.expire_all()
    assert db.session.query(LiveSocket).filter_by(user_id=user_id).count() == 1
    assert len(_device_ids(laptop.get("/account").get_data(as_text=True))) == 1


def test_ending_this_device_signs_this_browser_out(app, make_user, socket_for):
    user = make_user()
    laptop = _login_with(app, user, LAPTOP_UA)
    sock = socket_for(laptop)
    here = _device_ids(laptop.get("/account").get_data(as_text=True))[0]
    response = laptop.post(f"/account/devices/{here}/end")
    assert response.status_code == 303 and response.headers["Location"].endswith("/login")
    assert not sock.is_connected()
    assert laptop.get("/account").status_code == 302


def test_another_persons_device_is_a_404_that_changes_nothing(app, make_couple, login_as):
    riley, sam = make_couple()
    sam_client = _login_with(app, sam, PHONE_UA)
    riley_client = login_as(riley)
    sam_device = _device_ids(sam_client.get("/account").get_data(as_text=True))[0]
    before = snapshot()
    for path in (f"/account/devices/{sam_device}/end", "/account/devices/0/end",
                 f"/account/devices/{2**31}/end", f"/account/devices/{2**63 + 1}/end",
                 "/account/devices/99999999999999999999999999/end"):
        response = riley_client.post(path)
        assert response.status_code == 404, path
    for path in ("/account/devices/-1/end", "/account/devices/abc/end", "/account/devices/1%00/end",
                 "/account/devices/%ED%A0%80/end"):
        assert riley_client.post(path).status_code in (404, 405), path
    assert diff(before, snapshot()) == {}
    assert sam_client.get("/account").status_code == 200
    # A GET never ends anything.
    assert riley_client.get(f"/account/devices/{sam_device}/end").status_code == 405


def test_ending_a_device_needs_the_csrf_token(app, make_user):
    user = make_user()
    phone, laptop = _login_with(app, user, PHONE_UA), _login_with(app, user, LAPTOP_UA)
    ids = _device_ids(laptop.get("/account").get_data(as_text=True))
    before = snapshot()
    for device_id in ids:
        assert laptop.post(f"/account/devices/{device_id}/end", csrf=False).status_code == 400
    assert diff(before, snapshot()) == {}
    assert phone.get("/account").status_code == 200


def test_last_used_day_moves_at_most_once_a_day(app, make_user, monkeypatch):
    user = make_user()
    client = _login_with(app, user, LAPTOP_UA)
    db.session.execute(update(LoginSession).where(LoginSession.user_id == user.id)
                       .values(last_used_on=date.today() - timedelta(days=9)))
    db.session.commit()
    later = devices.today() + timedelta(days=1)
    monkeypatch.setattr(devices, "today", lambda: later)
    assert client.get("/guide").status_code == 200
    db.session.expire_all()
    assert db.session.scalar(select(LoginSession.last_used_on)
                             .where(LoginSession.user_id == user.id)) == later
    # The same day again: no write at all (the day is in this browser's own cookie).
    before = snapshot()
    assert client.get("/home").status_code == 200
    assert diff(before, snapshot()) == {}


# ---- on a real server: a raw socket of the ended session stops receiving ---------------------

class RawSocket:
    """A Socket.IO client written by hand over a websocket, as a modified browser or a script
    would: it answers pings, and IGNORES the server's DISCONNECT packet ("41") to keep
    listening. Collects every event frame it receives."""

    def __init__(self, base_url: str, cookies: str):
        url = base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self.ws = websocket.create_connection(url, header=[f"Cookie: {cookies}"], timeout=5)
        self.frames: list[str] = []
        try:
            self._handshake()
        except BaseException:
            self.close()
            raise

    def _handshake(self):
        opened = self.ws.recv()
        assert opened.startswith("0"), opened
        self.ws.send("40")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            frame = self.ws.recv()
            if frame.startswith("40"):
                return
            if frame.startswith("44"):
                raise AssertionError(f"refused: {frame}")
        raise AssertionError("no Socket.IO connect answer")

    def pump(self, seconds: float) -> None:
        """Read whatever arrives for `seconds` (the DISCONNECT packet is read and ignored)."""
        deadline = time.monotonic() + seconds
        self.ws.settimeout(0.2)
        while time.monotonic() < deadline:
            try:
                frame = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except (websocket.WebSocketConnectionClosedException, OSError):
                return  # the server closed the transport: nothing more can arrive either
            if frame == "2":
                self.ws.send("3")
            self.frames.append(frame)

    def events_with(self, marker: str) -> list[str]:
        return [f for f in self.frames if f.startswith("42") and marker in f]

    def close(self):
        try:
            self.ws.close()
        finally:
            # close() does nothing once the client saw the connection drop (the server cut
            # it); shutdown() is what closes the socket itself (else a ResourceWarning later).
            self.ws.shutdown()


def _account_device_ids(session, base):
    page = session.get(base + "/account").text
    here = re.search(r'data-device-id="(\d+)">\s*<div class="device-text">\s*'
                     r'<span><strong class="device-label">[^<]*</strong> '
                     r'<span class="badge this-device">', page)
    return _device_ids(page), int(here.group(1))


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _revocation_scenario(base_riley, base_sam, base_phone, email):
    """Riley has a laptop (ends the phone) and a phone (a raw socket that ignores DISCONNECT);
    Sam shares progress before and after. Returns nothing; asserts as it goes."""
    from tests.support.servers import cookie_header
    from tests.support.servers import login as server_login

    opened = []
    try:
        laptop = signup(base_riley, "Riley", email)
        sam = signup(base_sam, "Sam", "sam-" + email)
        opened += [laptop, sam]
        link_couple(base_riley, laptop, sam)
        phone = server_login(base_phone, email)
        opened.append(phone)
        phone_sock = RawSocket(base_phone, cookie_header(phone))
        opened.append(phone_sock)
        laptop_sock = RawSocket(base_riley, cookie_header(laptop))
        opened.append(laptop_sock)

        # Control: before the phone is ended, it receives Sam's change.
        assert post_json(sam, base_sam, "/guide/steps/1/state",
                         {"state": "working", "op_id": "before-end-0001"}).status_code == 200
        _wait_for(lambda: phone_sock.pump(0.2) or phone_sock.events_with("before-end-0001"), 60,
                  "the phone's socket to receive the change made before it was ended")

        ids, here = _account_device_ids(laptop, base_riley)
        (phone_id,) = [i for i in ids if i != here]
        token = csrf_from(laptop.get(base_riley + "/account").text)
        response = laptop.post(f"{base_riley}/account/devices/{phone_id}/end",
                               data={"csrf_token": token}, allow_redirects=False, timeout=10)
        assert response.status_code == 303, response.text[:300]

        # After: Sam's next change reaches the laptop's socket, never the phone's, although the
        # phone's raw client ignored the DISCONNECT and kept its websocket open.
        assert post_json(sam, base_sam, "/guide/steps/2/state",
                         {"state": "practising", "op_id": "after-end-0002"}).status_code == 200
        _wait_for(lambda: laptop_sock.pump(0.2) or laptop_sock.events_with("after-end-0002"), 60,
                  "the laptop's socket to receive the change made after the phone was ended")
        phone_sock.pump(1.5)
        assert phone_sock.events_with("before-end-0001")
        assert not phone_sock.events_with("after-end-0002"), "an ended device still receives"
        # Its cookie signs nobody in, and a new socket with it is refused.
        assert phone.get(base_phone + "/account", allow_redirects=False).status_code == 302
        with pytest.raises(AssertionError, match="refused"):
            opened.append(RawSocket(base_phone, cookie_header(phone)))
    finally:
        for thing in opened:
            thing.close()


@pytest.mark.server
def test_real_server_ending_a_device_stops_even_a_raw_socket_that_ignores_disconnect(tmp_path):
    """`python app.py` as `make run` starts it: gevent, SQLite (a pool of one connection)."""
    server = start_server(tmp_path, env={"COUPLE_RATELIMIT": "0"})
    try:
        started = time.monotonic()
        _revocation_scenario(server.url, server.url, server.url, "riley@example.com")
        print(f"\nembedded default: revocation scenario in {time.monotonic() - started:.1f}s")
        # Ending a device must not wait on the one pooled connection (issue 10's 30 s freeze).
        assert requests.get(server.url + "/healthz", timeout=10).status_code == 200
    finally:
        server.stop()
    assert "Traceback" not in server.log(), server.log()[-3000:]


@pytest.mark.server
@pytest.mark.postgres
@pytest.mark.redis
def test_two_processes_ending_a_device_on_one_stops_its_raw_socket_on_the_other(
        tmp_path, postgres_url, redis_url, unique_channel):
    """PostgreSQL + Redis, two processes: the laptop ends the phone on process 1; the phone's
    socket lives on process 2; Sam writes on process 2."""
    from tests.support.scaleout_helpers import migrate, shared_env

    migrate(postgres_url)
    env = {**shared_env(postgres_url, redis_url, unique_channel), "COUPLE_RATELIMIT": "0"}
    servers = []
    try:
        servers.append(start_server(tmp_path, env=env, name="p1"))
        servers.append(start_server(tmp_path, env=env, name="p2"))
        p1, p2 = servers
        _revocation_scenario(p1.url, p2.url, p2.url, "riley2@example.com")
    finally:
        for s in servers:
            s.stop()
    for s in servers:
        assert "Traceback" not in s.log(), s.log()[-3000:]


def test_device_json_never_leaves_the_account_page(app, make_couple, login_as):
    """The partner's export and state say nothing of the other's devices."""
    riley, sam = make_couple()
    _login_with(app, riley, PHONE_UA)
    sam_client = login_as(sam)
    for path in ("/api/state", "/account/export", "/home"):
        body = sam_client.get(path).get_data(as_text=True)
        assert "Chrome on Android" not in body, path
    laptop = _login_with(app, riley, LAPTOP_UA)
    export = json.loads(laptop.get("/account/export").get_data(as_text=True))
    assert {s["device"] for s in export["sessions"]} == {"Chrome on Android", "Firefox on Windows"}
    assert PASSWORD not in json.dumps(export)
