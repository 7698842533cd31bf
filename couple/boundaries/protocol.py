"""The y-protocols wire format (as y-websocket frames it), parsed defensively.

A message is [type][...]: type 0 = sync (then [subtype][varUint8Array payload]: step 1 carries
a state vector, step 2 and update carry a Yjs V1 update), type 1 = awareness
([varUint8Array update]). Browsers are untrusted: every length is checked against the buffer.
"""
from pycrdt import (
    YMessageType,
    YSyncMessageType,
    create_sync_message,
    create_update_message,
    write_message,
)

from ..errors import InvalidInput


def _read_var_uint(buf: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise InvalidInput("That message could not be read.")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def _read_payload(buf: bytes, pos: int) -> bytes:
    length, pos = _read_var_uint(buf, pos)
    if pos + length != len(buf):
        raise InvalidInput("That message could not be read.")
    return bytes(buf[pos:pos + length])


def parse(message) -> tuple[str, bytes]:
    """("step1", state vector) | ("update", update) | ("awareness", awareness update)."""
    if isinstance(message, (bytearray, memoryview)):
        message = bytes(message)
    if not isinstance(message, bytes) or len(message) < 2:
        raise InvalidInput("That message could not be read.")
    kind, pos = _read_var_uint(message, 0)
    if kind == YMessageType.SYNC:
        sub, pos = _read_var_uint(message, pos)
        payload = _read_payload(message, pos)
        if sub == YSyncMessageType.SYNC_STEP1:
            return "step1", payload
        if sub in (YSyncMessageType.SYNC_STEP2, YSyncMessageType.SYNC_UPDATE):
            return "update", payload
    elif kind == YMessageType.AWARENESS:
        return "awareness", _read_payload(message, pos)
    raise InvalidInput("That message could not be read.")


def read_state_vector(state: bytes) -> dict[int, int]:
    """A Yjs state vector: {client id: next clock}."""
    count, pos = _read_var_uint(state, 0)
    out = {}
    for _ in range(count):
        client, pos = _read_var_uint(state, pos)
        clock, pos = _read_var_uint(state, pos)
        out[client] = clock
    return out


def first_struct_run(update: bytes) -> tuple[int, int, int] | None:
    """(client, first clock, struct count) of a Yjs V1 update's first run of structs.

    Yjs writes one run per client; an editor's own updates hold just its own run. A run that
    starts beyond what the document has from that client cannot be integrated yet.
    """
    clients, pos = _read_var_uint(update, 0)
    if clients == 0:
        return None
    count, pos = _read_var_uint(update, pos)
    client, pos = _read_var_uint(update, pos)
    clock, pos = _read_var_uint(update, pos)
    return client, clock, count


def step2_message(update: bytes) -> bytes:
    return bytes([YMessageType.SYNC, YSyncMessageType.SYNC_STEP2]) + write_message(update)


__all__ = ["parse", "step2_message", "create_sync_message", "create_update_message"]


# ---------------------------------------------------------------- reading a Yjs V1 update
#
# The server reads every update it is sent before pycrdt applies it, to see what pycrdt's
# events cannot show: runs that continue clocks it never got, deletions of clocks that do not
# exist yet (both stay "pending" in yrs, invisible and unjudged), content kinds the editor
# never makes (embeds, formatting, binary, sub-documents), where each explicitly placed item
# goes, and which UTF-16 units are the first half of a surrogate pair.

CONTENT_GC, CONTENT_DELETED, CONTENT_JSON, CONTENT_BINARY, CONTENT_STRING = 0, 1, 2, 3, 4
CONTENT_EMBED, CONTENT_FORMAT, CONTENT_TYPE, CONTENT_ANY, CONTENT_DOC, CONTENT_SKIP = \
    5, 6, 7, 8, 9, 10
TYPE_ARRAY, TYPE_MAP, TYPE_TEXT = 0, 1, 2
MAX_ANY_DEPTH = 16


class Struct:
    """One struct of an update: its id, length in clock units, content kind and placement."""

    __slots__ = ("client", "clock", "length", "kind", "origin", "right", "parent", "sub",
                 "type_ref", "text", "values")

    def __init__(self, client, clock):
        self.client, self.clock = client, clock
        self.length = 0
        self.kind = CONTENT_GC
        self.origin = self.right = None
        self.parent = None  # None (copied from a neighbour), ("root", name) or ("id", (c, k))
        self.sub = None
        self.type_ref = None
        self.text = None
        self.values = None


class Update:
    """A decoded update: its structs in order, and its delete set [(client, clock, length)]."""

    __slots__ = ("structs", "deletes")

    def __init__(self):
        self.structs: list[Struct] = []
        self.deletes: list[tuple[int, int, int]] = []

    def runs(self) -> dict[int, tuple[int, int]]:
        """{client: (first clock, end clock)} of the structs (a run with a gap is refused
        while decoding)."""
        out: dict[int, tuple[int, int]] = {}
        for s in self.structs:
            start, end = out.get(s.client, (s.clock, s.clock))
            out[s.client] = (start, s.clock + s.length)
        return out


class _Reader:
    def __init__(self, buf: bytes):
        self.buf, self.pos = buf, 0

    def fail(self):
        raise InvalidInput("That change could not be read.")

    def uint(self) -> int:
        value, self.pos = _read_var_uint(self.buf, self.pos)
        return value

    def byte(self) -> int:
        if self.pos >= len(self.buf):
            self.fail()
        self.pos += 1
        return self.buf[self.pos - 1]

    def raw(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.buf):
            self.fail()
        self.pos += n
        return self.buf[self.pos - n:self.pos]

    def string(self) -> str:
        data = self.raw(self.uint())
        try:
            # Strict: a lone surrogate cannot be encoded in UTF-8 (lib0 writes U+FFFD for one),
            # so what arrives here as such was crafted: refused.
            return data.decode("utf-8")
        except UnicodeDecodeError:
            self.fail()

    def count(self) -> int:
        n = self.uint()
        if n > len(self.buf) - self.pos:  # every element takes at least one byte
            self.fail()
        return n

    def var_int(self):
        first = self.byte()
        value = first & 0x3F
        negative = first & 0x40
        shift = 6
        more = first & 0x80
        while more:
            if shift > 70:
                self.fail()
            b = self.byte()
            value |= (b & 0x7F) << shift
            shift += 7
            more = b & 0x80
        return -value if negative else value

    def any(self, depth: int = 0):
        if depth > MAX_ANY_DEPTH:
            self.fail()
        tag = self.byte()
        if tag == 127:
            return None
        if tag == 126:
            return None
        if tag == 125:
            return self.var_int()
        if tag == 124:
            import struct as _s
            return _s.unpack(">f", self.raw(4))[0]
        if tag == 123:
            import struct as _s
            return _s.unpack(">d", self.raw(8))[0]
        if tag == 122:
            return int.from_bytes(self.raw(8), "big", signed=True)
        if tag == 121:
            return False
        if tag == 120:
            return True
        if tag == 119:
            return self.string()
        if tag == 118:
            return {self.string(): self.any(depth + 1) for _ in range(self.count())}
        if tag == 117:
            return [self.any(depth + 1) for _ in range(self.count())]
        if tag == 116:
            return self.raw(self.uint())
        self.fail()

    def id(self) -> tuple[int, int]:
        return self.uint(), self.uint()


def utf16_length(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def decode_update(update: bytes) -> Update:
    """Read a Yjs V1 update whole (InvalidInput if it cannot be read, or has trailing bytes)."""
    r = _Reader(bytes(update))
    out = Update()
    seen_clients = set()
    for _ in range(r.count()):
        n = r.count()
        client = r.uint()
        clock = r.uint()
        if client in seen_clients:
            r.fail()
        seen_clients.add(client)
        for _ in range(n):
            s = Struct(client, clock)
            info = r.byte()
            ref = info & 0x1F
            s.kind = ref
            if ref in (CONTENT_GC, CONTENT_SKIP):
                s.length = r.uint()
            else:
                if info & 0x80:
                    s.origin = r.id()
                if info & 0x40:
                    s.right = r.id()
                if not info & 0xC0:
                    if r.uint() == 1:
                        s.parent = ("root", r.string())
                    else:
                        s.parent = ("id", r.id())
                    if info & 0x20:
                        s.sub = r.string()
                if ref == CONTENT_DELETED:
                    s.length = r.uint()
                elif ref == CONTENT_JSON:
                    s.length = r.count()
                    s.values = [r.string() for _ in range(s.length)]
                elif ref == CONTENT_BINARY:
                    r.raw(r.uint())
                    s.length = 1
                elif ref == CONTENT_STRING:
                    s.text = r.string()
                    s.length = utf16_length(s.text)
                elif ref == CONTENT_EMBED:
                    r.string()
                    s.length = 1
                elif ref == CONTENT_FORMAT:
                    r.string()
                    r.string()
                    s.length = 1
                elif ref == CONTENT_TYPE:
                    s.type_ref = r.uint()
                    if s.type_ref in (3, 5):
                        r.string()
                    s.length = 1
                elif ref == CONTENT_ANY:
                    s.length = r.count()
                    s.values = [r.any() for _ in range(s.length)]
                elif ref == CONTENT_DOC:
                    r.string()
                    r.any()
                    s.length = 1
                else:
                    r.fail()
            if s.length <= 0:
                r.fail()
            out.structs.append(s)
            clock += s.length
    for _ in range(r.count()):
        client = r.uint()
        for _ in range(r.count()):
            clock, length = r.uint(), r.uint()
            out.deletes.append((client, clock, length))
    if r.pos != len(r.buf):
        r.fail()
    return out


def decode_awareness(data: bytes) -> list[tuple[int, int, str]]:
    """y-protocols awareness update: [(client id, clock, state JSON text)]."""
    r = _Reader(bytes(data))
    out = []
    for _ in range(r.count()):
        out.append((r.uint(), r.uint(), r.string()))
    if r.pos != len(r.buf):
        r.fail()
    return out
