"""A browser's WebSocket is opened without permessage-deflate, on both deployments.

Every browser offers the extension and simple-websocket would accept it: a zlib compressor per
socket, kept from its first frame for the socket's life, and a decompressor for the browser's
compressed frames, ~100 KiB per idle socket for frames of a few hundred bytes
(bench/socket_memory.py). The server declines it (couple/web.py `socket_io_middleware`), and a
client that compresses anyway is cut without a traceback.
"""
import base64
import os
import socket
import zlib

import pytest

from tests.support.raw_socketio import BROWSER_EXTENSIONS
from tests.support.servers import cookie_header, signup

pytestmark = [pytest.mark.server]


def _handshake(base_url: str, cookie: str) -> tuple[socket.socket, bytes, bytes]:
    """A WebSocket handshake as Chromium sends it; returns the socket, the answer's head and
    whatever followed it."""
    host, port = base_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Origin: {base_url}\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Extensions: {BROWSER_EXTENSIONS}\r\nCookie: {cookie}\r\n\r\n"
    ).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    return sock, head, rest


def _frame(payload: bytes, *, compressed: bool) -> bytes:
    """One masked client text frame; `compressed`: deflated, RSV1 set, as Chromium sends one
    once the extension is agreed."""
    first = 0x81
    if compressed:
        c = zlib.compressobj(wbits=-15)
        payload = (c.compress(payload) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]
        first |= 0x40
    mask = os.urandom(4)
    return (bytes([first, 0x80 | len(payload)]) + mask
            + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def _read_frame(sock: socket.socket, buffered: bytes) -> tuple[int, bytes, bytes]:
    """(first byte, payload, what is left) of the server's next frame (short frames only)."""
    data = buffered
    while len(data) < 2 or len(data) < 2 + (data[1] & 0x7F):
        chunk = sock.recv(65536)
        assert chunk, "closed"
        data += chunk
    length = data[1] & 0x7F
    assert length < 126, "a long frame: not expected here"
    return data[0], data[2:2 + length], data[2 + length:]


def _closed(sock: socket.socket) -> bool:
    """The server closed the connection (a close frame and/or EOF) within a few seconds."""
    sock.settimeout(5)
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return True
            if chunk[0] & 0x0F == 0x8:  # a close frame
                return True
    except TimeoutError:
        return False
    except OSError:
        return True


def test_a_browser_handshake_gets_no_compression(deployment):
    riley = deployment.keep(signup(deployment.first, "Riley", "riley@example.com"))
    sock, head, rest = _handshake(deployment.last, cookie_header(riley))
    try:
        lines = head.decode("latin-1").split("\r\n")
        assert lines[0].startswith("HTTP/1.1 101"), head
        assert not [h for h in lines if h.lower().startswith("sec-websocket-extensions")], head
        # The open packet and the connect's answer come uncompressed (RSV1 clear).
        first, payload, rest = _read_frame(sock, rest)
        assert first == 0x81 and payload.startswith(b"0{"), (first, payload)
        sock.sendall(_frame(b"40", compressed=False))
        first, payload, rest = _read_frame(sock, rest)
        assert first == 0x81 and payload.startswith(b"40{"), (first, payload)
    finally:
        sock.close()
    deployment.assert_clean_logs()


def test_a_client_that_compresses_without_agreement_is_cut(deployment):
    """A hostile client sends deflated frames (RSV1) that were never agreed: a protocol error;
    the connection is closed, nothing is dispatched and the log holds no traceback."""
    riley = deployment.keep(signup(deployment.first, "Riley", "riley@example.com"))
    sock, head, rest = _handshake(deployment.last, cookie_header(riley))
    try:
        assert head.startswith(b"HTTP/1.1 101"), head
        first, payload, rest = _read_frame(sock, rest)
        assert payload.startswith(b"0{"), payload
        sock.sendall(_frame(b"40", compressed=True))
        assert _closed(sock)
    finally:
        sock.close()
    # The server goes on serving: a browser-like client connects and syncs.
    tab = deployment.raw(riley)
    assert tab.extensions is None
    assert tab.connect().startswith("40{")
    assert tab.emit("sync", {"user": 0}, ack=1)
    answer = tab.ack(1)
    assert answer and "user" in answer[0], answer
    deployment.assert_clean_logs()
