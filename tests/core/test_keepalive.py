"""The embedded server (`python app.py`, as `make run` starts it) closes an idle kept-alive HTTP
connection after COUPLE_KEEPALIVE seconds, as gunicorn's `keepalive` does in production, and
never an open WebSocket, however quiet. A raw TCP client, so nothing closes it for us."""
import socket
import time

import pytest

from tests.support.raw_socketio import RawSocket
from tests.support.servers import cookie_header, signup, start_server

pytestmark = [pytest.mark.server]
REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n"


def _exchange(sock: socket.socket) -> bytes:
    """Send REQUEST, read one whole answer (head and Content-Length body); returns the head."""
    sock.sendall(REQUEST)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "closed before answering"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(65536)
    return head


def _closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed the connection (recv gives b""), or None."""
    started = time.monotonic()
    sock.settimeout(seconds)
    try:
        while True:
            if sock.recv(4096) == b"":
                return time.monotonic() - started
    except TimeoutError:
        return None


def test_idle_keepalive_connections_close_and_websockets_stay(tmp_path):
    server = start_server(tmp_path, env={"COUPLE_KEEPALIVE": "1"}, name="keepalive")
    try:
        # A request on a kept-alive connection is answered, and the connection stays for the
        # next one while it comes within the keep-alive time.
        with socket.create_connection(("127.0.0.1", server.port)) as kept:
            for _ in range(3):
                head = _exchange(kept)
                assert head.startswith(b"HTTP/1.1 200"), head
                time.sleep(0.3)
            waited = _closed_within(kept, 10)
            assert waited is not None, "an idle kept-alive connection stayed open"
            print(f"\nidle kept-alive connection closed after {waited:.1f} s (COUPLE_KEEPALIVE=1)")
        # A connection that never sends its request line is closed too.
        with socket.create_connection(("127.0.0.1", server.port)) as silent:
            assert _closed_within(silent, 10) is not None
        # A quiet WebSocket stays: three keep-alive times later it still answers.
        session = signup(server.url, "Riley", "riley@example.com")
        tab = RawSocket(server.url, cookie_header(session))
        try:
            assert tab.connect().startswith("40{")
            tab.pump(3.5)
            assert not tab.closed and not tab.got_disconnect()
            assert tab.emit("sync", {"user": 0}, ack=1)
            answer = tab.ack(1)
            assert answer and "user" in answer[0], answer
        finally:
            tab.close()
            session.close()
        assert "Traceback" not in server.log()
    finally:
        server.stop()
