"""Helpers for the boundaries tests: a pycrdt editor speaking the real wire protocol.

`Editor` plays the part of a browser tab over a Flask-SocketIO test client: it sends sync
step 1, applies what comes back, makes edits with pycrdt (the same Yjs V1 updates the
browser's Yjs makes) and sends them as y-protocols update messages.
"""
import secrets

from pycrdt import Array, Doc, Map, Text, create_sync_message, create_update_message

from couple.boundaries.protocol import parse

GROUPS = ("communication", "behaviour", "privacy", "expectations", "other")


def new_id() -> str:
    return secrets.token_hex(8)


class Editor:
    def __init__(self, sock, user_id: int):
        self.sock = sock
        self.user_id = user_id
        self.doc = Doc()
        self.array = self.doc.get("boundaries", type=Array)

    # ---- protocol
    def send(self, message: bytes):
        return self.sock.emit("b:y", message, callback=True)

    def sync(self):
        """Step 1 -> (step 2 + server step 1) -> our step 2, as the browser does on connect."""
        ack = self.send(create_sync_message(self.doc))
        assert ack.get("ok"), ack
        replies = ack["replies"]
        kind, update = parse(replies[0])
        assert kind == "update"
        self.doc.apply_update(update)
        kind, server_state = parse(replies[1])
        assert kind == "step1"
        missing = self.doc.get_update(server_state)
        if missing != b"\x00\x00":
            answer = self.send(bytes([0, 1]) + _varbytes(missing))
            assert answer.get("ok"), answer
        return ack

    def edit(self, fn):
        """Run fn() in a transaction and send the resulting update; returns the ack."""
        before = self.doc.get_state()
        with self.doc.transaction():
            fn()
        update = self.doc.get_update(before)
        return self.send(create_update_message(update))

    def receive(self):
        """Apply every "b:y" update the server pushed to us; returns the other packets."""
        others = []
        for packet in self.sock.get_received():
            if packet["name"] == "b:y":
                kind, update = parse(packet["args"][0])
                self.doc.apply_update(update)
            else:
                others.append(packet)
        return others

    # ---- edits
    def add(self, text: str, category: str = "communication", order: float = 1.0, bid=None):
        bid = bid or new_id()
        ack = self.edit(lambda: self.array.append(Map({
            "id": bid, "category": category, "text": Text(text),
            "created_by": self.user_id, "order": order,
        })))
        return bid, ack

    def item(self, bid):
        for item in self.array:
            if item.get("id") == bid:
                return item
        raise KeyError(bid)

    def _offset(self, bid, index: int) -> int:
        # pycrdt's Text indexes are UTF-8 byte offsets (Yjs counts UTF-16 units): convert from
        # a character index, or the update would split a character and never integrate.
        return len(str(self.item(bid)["text"])[:index].encode("utf-8"))

    def type_into(self, bid, index: int, text: str):
        return self.edit(lambda: self.item(bid)["text"].insert(self._offset(bid, index), text))

    def delete_text(self, bid, start: int, stop: int):
        return self.edit(lambda: self.item(bid)["text"].__delitem__(
            slice(self._offset(bid, start), self._offset(bid, stop))))

    def move(self, bid, category: str, order: float):
        def fn():
            item = self.item(bid)
            item["category"] = category
            item["order"] = order
        return self.edit(fn)

    def texts(self) -> dict:
        return {item.get("id"): str(item.get("text")) for item in self.array}


def _varbytes(data: bytes) -> bytes:
    from pycrdt import write_message

    return write_message(data)


def content_of(doc) -> list:
    """A comparable summary of a document: (id, category, order, text) per boundary."""
    from couple.boundaries.content import read_boundaries

    return [(b["id"], b["category"], b["order"], b["text"]) for b in read_boundaries(doc)]


class RemoteEditor(Editor):
    """The same editor over a real socket to a running server (python-socketio client)."""

    def __init__(self, base_url: str, session, user_id: int):
        import threading

        import socketio as sio_client

        from tests.support.servers import cookie_header

        self.lock = threading.RLock()
        self.client = sio_client.Client(reconnection=False)
        # python-engineio's client handles each message in a thread of its own, so a binary
        # event's header and its attachment could be put together by two threads at once (CI
        # saw a str where bytes were due, then an attachment read as a packet): handle them in
        # order, in the thread that reads the socket, as a browser does.
        eio, trigger = self.client.eio, self.client.eio._trigger_event
        eio._trigger_event = lambda event, *args, **kwargs: trigger(
            event, *args, **{**kwargs, "run_async": False})
        self.inbox: list[bytes] = []
        self.client.on("b:y", lambda data: self.inbox.append(bytes(data)))
        self.client.connect(base_url, transports=["websocket"],
                            headers={"Cookie": cookie_header(session)},
                            wait_timeout=10)
        super().__init__(sock=None, user_id=user_id)

    def send(self, message: bytes):
        return self.client.call("b:y", message, timeout=20)

    def receive(self):
        with self.lock:
            while self.inbox:
                kind, update = parse(self.inbox.pop(0))
                self.doc.apply_update(update)
        return []

    def close(self):
        if self.client.connected:
            self.client.disconnect()
        # A connection the server dropped (kill -9, restart) is forgotten by engineio's client
        # without being closed; its ResourceWarning would fail a later test (issue 10).
        for name in ("ws", "http"):
            thing = getattr(self.client.eio, name, None)
            if thing is not None:
                try:
                    thing.close()
                    if name == "ws":
                        thing.shutdown()  # close() does nothing once the server cut it
                except Exception:  # noqa: BLE001
                    pass
