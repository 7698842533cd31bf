"""A Socket.IO client written by hand, as a modified browser or a script speaks it: Engine.IO v4
over one websocket (websocket-client), packets typed as text (`40`, `42["sync",{}]`, ...).

Its handshake offers permessage-deflate exactly as Chromium does, and the server declines it
(couple/web.py `socket_io_middleware`): websocket-client cannot read a compressed frame, so a
server that accepted would fail every test that uses this client.

It does only what a test tells it: it answers pings (or the server would drop it before the
test is over), and otherwise ignores the server, DISCONNECT packets (`41`) included. Every
frame it receives is kept in `frames`, with the time it arrived.
"""
import json
import time

import websocket

# What Chromium sends in every WebSocket handshake.
BROWSER_EXTENSIONS = "permessage-deflate; client_max_window_bits"


class RawSocket:
    def __init__(self, base_url: str, cookie: str | None = None, *, timeout: float = 10):
        url = base_url.replace("http://", "ws://", 1) + "/socket.io/?EIO=4&transport=websocket"
        headers = [f"Sec-WebSocket-Extensions: {BROWSER_EXTENSIONS}"]
        headers += [f"Cookie: {cookie}"] if cookie else []
        self.frames: list[tuple[float, object]] = []
        self.closed = False
        self.ws = websocket.create_connection(url, header=headers, origin=base_url,
                                              timeout=timeout)
        # The extensions the server accepted (None: the frames are sent as they are).
        self.extensions = (self.ws.getheaders() or {}).get("sec-websocket-extensions")
        try:
            opening = self.ws.recv()
            assert isinstance(opening, str) and opening.startswith("0{"), opening
        except BaseException:
            self.ws.close()
            raise

    # ---- sending ----------------------------------------------------------------------------
    def send(self, frame) -> bool:
        """Send one frame (str: text, bytes: binary); False once the server has closed us."""
        if self.closed:
            return False
        try:
            if isinstance(frame, (bytes, bytearray)):
                self.ws.send_binary(bytes(frame))
            else:
                # A lone surrogate goes out as the bytes a careless encoder writes: a text
                # frame that is not valid UTF-8.
                self.ws.send(frame.encode("utf-8", "surrogatepass"), websocket.ABNF.OPCODE_TEXT)
            return True
        except (websocket.WebSocketException, OSError):
            self.closed = True
            return False

    def emit(self, name, *args, ack: int | None = None) -> bool:
        return self.send("42" + ("" if ack is None else str(ack))
                         + json.dumps([name, *args], separators=(",", ":")))

    # ---- receiving --------------------------------------------------------------------------
    def read(self, timeout: float):
        """The next frame within `timeout` seconds, else None (also None once closed)."""
        if self.closed:
            return None
        self.ws.settimeout(max(timeout, 0.01))
        try:
            opcode, data = self.ws.recv_data(control_frame=True)
        except websocket.WebSocketTimeoutException:
            return None
        except (websocket.WebSocketException, OSError):
            self.closed = True
            return None
        if opcode == websocket.ABNF.OPCODE_CLOSE or not self.ws.connected:
            self.closed = True
            return None
        if opcode == websocket.ABNF.OPCODE_TEXT:
            frame = data.decode("utf-8", "replace")
        elif opcode == websocket.ABNF.OPCODE_BINARY:
            frame = bytes(data)
        else:  # a websocket-level ping or pong
            return None
        self.frames.append((time.monotonic(), frame))
        if frame == "2":  # Engine.IO ping: answer it, like any client, so we stay connected
            self.send("3")
        return frame

    def wait_for(self, predicate, timeout: float = 10):
        """Read until a frame satisfies `predicate`; returns it, or None at the deadline."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frame = self.read(deadline - time.monotonic())
            if frame is not None and predicate(frame):
                return frame
            if self.closed:
                return None
        return None

    def pump(self, seconds: float) -> None:
        """Keep reading (and ignoring) for `seconds`, or until closed."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.closed:
            self.read(deadline - time.monotonic())

    def connect(self, timeout: float = 10):
        """`40`: the CONNECT packet; returns the server's answer (`40{...}` or `44{...}`)."""
        self.send("40")
        return self.wait_for(lambda f: isinstance(f, str) and f[:2] in ("40", "44"), timeout)

    def ack(self, ack_id: int, timeout: float = 10):
        """The data of the ACK packet with this id (`43<id>[...]`), or None."""
        prefix = f"43{ack_id}["
        frame = self.wait_for(lambda f: isinstance(f, str) and f.startswith(prefix), timeout)
        return None if frame is None else json.loads(frame[len(prefix) - 1:])

    def events(self, name: str = "ev", since: float = 0.0) -> list:
        """Arguments of every EVENT named `name` received after the monotonic time `since`."""
        out = []
        for at, frame in self.frames:
            if at < since or not isinstance(frame, str) or not frame.startswith("42"):
                continue
            body = frame[2:].lstrip("0123456789")
            try:
                data = json.loads(body)
            except ValueError:
                continue
            if isinstance(data, list) and data and data[0] == name:
                out.append(data[1] if len(data) > 1 else None)
        return out

    def got_disconnect(self) -> bool:
        return self.closed or any(f == "41" or (isinstance(f, str) and f.startswith("41"))
                                  for _, f in self.frames)

    def close(self) -> None:
        try:
            if self.ws.connected:
                self.ws.send_close()  # and leave: no waiting for the server's answer
        except Exception:  # noqa: BLE001
            pass
        finally:
            # websocket-client's close() does nothing once the server has closed the
            # connection: shutdown() is what closes the socket itself.
            self.ws.shutdown()
            self.closed = True
