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
