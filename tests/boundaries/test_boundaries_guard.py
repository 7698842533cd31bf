"""The guard's own doors, in process: a panic in yrs, unreadable updates, what gets stored.

The real-Yjs attacks are in test_boundaries_hostile.py (over real sockets); these pin the
pieces that a socket cannot reach directly.
"""
import random

import pytest
from pycrdt import Array, Doc, Map, Text

from couple.boundaries import guard, store
from couple.boundaries import protocol as p
from couple.boundaries.content import MAX_TEXT
from couple.boundaries.models import BoundaryClient, BoundaryUpdate
from couple.errors import InvalidInput
from couple.extensions import db
from tests.boundaries.boundaries_helpers import Editor, content_of, new_id


def _pair(make_couple, login_as, socket_for):
    rebuilding, supporting = make_couple()
    a = Editor(socket_for(login_as(rebuilding)), rebuilding.id)
    b = Editor(socket_for(login_as(supporting)), supporting.id)
    a.sync()
    b.sync()
    a.sock.get_received()
    b.sock.get_received()
    return rebuilding, supporting, a, b


def _real_panic():
    """A genuine pyo3 PanicException out of yrs (removing more than a text holds)."""
    doc = Doc()
    text = doc.get("t", type=Text)
    text += "a😀b"
    del text[0:100]


def test_a_panic_in_yrs_is_refused_and_the_process_keeps_serving(make_couple, login_as,
                                                                 socket_for, monkeypatch):
    with pytest.raises(BaseException) as caught:
        _real_panic()
    assert type(caught.value).__name__ == "PanicException"
    assert not isinstance(caught.value, Exception)  # what `except Exception` would miss

    rebuilding, supporting, a, b = _pair(make_couple, login_as, socket_for)
    bid, ack = a.add("We keep our phones our own.")
    assert ack == {"ok": True}
    b.receive()
    rows = db.session.query(BoundaryUpdate).count()
    real_check = guard._check

    def panicking(events, problems, seen):
        _real_panic()  # inside yrs's observe callback, during apply_update, as in the issue

    monkeypatch.setattr(guard, "_check", panicking)
    ack = b.type_into(bid, 0, "x")
    assert ack.get("code") == "refused" and "could not be read" in ack["error"], ack
    assert db.session.query(BoundaryUpdate).count() == rows
    monkeypatch.setattr(guard, "_check", real_check)
    # The replica was rebuilt from the log: the partner's next edit goes through.
    b.doc = Doc()
    b.array = b.doc.get("boundaries", type=Array)
    b.sync()
    assert b.type_into(bid, 0, "still ") == {"ok": True}
    db.session.rollback()
    stored = content_of(store.load_doc(rebuilding.couple_id))
    assert stored[0][3] == "still We keep our phones our own."


def test_the_update_reader_never_raises_anything_but_invalid_input():
    rng = random.Random(11)
    doc = Doc()
    doc.get("boundaries", type=Array).append(
        Map({"id": "abcdefgh", "text": Text("a😀b")}))
    good = doc.get_update()
    for _ in range(3000):
        data = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[:rng.randrange(len(data))]
        try:
            p.decode_update(bytes(data))
        except InvalidInput:
            pass
    for junk in (b"", b"\x00", b"\xff" * 20, b"\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f"):
        with pytest.raises(InvalidInput):
            p.decode_update(junk)
        if junk != b"\x00":  # zero entries is readable (and refused by relay_awareness)
            with pytest.raises(InvalidInput):
                p.decode_awareness(junk or b"\x01")


def test_a_lone_surrogate_in_utf8_is_refused():
    # client 5, clock 0, one string item in root "boundaries"... carrying ED A0 80 (U+D800).
    update = bytes([1, 1, 5, 0, 4, 1, 10]) + b"boundaries" + bytes([3, 0xED, 0xA0, 0x80, 0])
    with pytest.raises(InvalidInput):
        p.decode_update(update)
    ok = bytes([1, 1, 5, 0, 4, 1, 10]) + b"boundaries" + bytes([4]) + "😀".encode() + bytes([0])
    assert p.decode_update(ok).structs[0].length == 2  # UTF-16 units, as Yjs counts


def test_a_step2_with_nothing_new_is_not_stored(make_couple, login_as, socket_for):
    rebuilding, supporting, a, b = _pair(make_couple, login_as, socket_for)
    bid, _ = a.add("x" * 500)
    a.delete_text(bid, 0, 400)
    b.sock.get_received()
    rows = db.session.query(BoundaryUpdate).count()
    whole = a.doc.get_update()  # everything, the delete set included: all known to the server
    assert a.send(bytes([0, 1]) + p.write_message(whole)) == {"ok": True}
    assert db.session.query(BoundaryUpdate).count() == rows
    assert b.sock.get_received() == []  # nothing relayed either


def test_a_merge_past_the_limit_is_kept_and_an_oversized_insert_is_not(make_couple, login_as,
                                                                        socket_for):
    rebuilding, supporting, a, b = _pair(make_couple, login_as, socket_for)
    bid, _ = a.add("a" * 1500)
    b.receive()
    # Both type 900 more "at once" (b has not seen a's): the merge is 3,300 characters.
    assert a.type_into(bid, 0, "A" * 900) == {"ok": True}
    assert b.type_into(bid, 1500, "B" * 900) == {"ok": True}
    db.session.rollback()
    text = content_of(store.load_doc(rebuilding.couple_id))[0][3]
    assert len(text) == 3300 and text.count("B") == 900
    # One tab cannot type more than a whole boundary's worth at once.
    a.receive()
    ack = a.type_into(bid, 0, "Z" * (MAX_TEXT + 1))
    assert ack.get("code") == "refused", ack


def test_client_ids_belong_to_whoever_used_them_first(make_couple, login_as, socket_for):
    rebuilding, supporting, a, b = _pair(make_couple, login_as, socket_for)
    bid, _ = a.add("mine")
    b.receive()
    owner = db.session.get(BoundaryClient, (rebuilding.couple_id, a.doc.client_id))
    assert owner is not None and owner.user_id == rebuilding.id
    # b forges an edit under a's client id (the next clock a would use).
    forged = Doc(client_id=a.doc.client_id)
    forged.apply_update(a.doc.get_update())
    arr = forged.get("boundaries", type=Array)
    before = forged.get_state()
    arr[0]["text"].insert(0, "hijack ")
    ack = b.send(p.create_update_message(forged.get_update(before)))
    assert ack.get("code") == "refused" and "someone else" in ack["error"], ack
    assert a.type_into(bid, 0, "still ") == {"ok": True}


def test_doc_index_marks_pair_starts():
    dec = p.decode_update(bytes([1, 1, 5, 0, 4, 1, 10]) + b"boundaries" + bytes([10])
                          + "a😀b😀".encode() + bytes([0]))
    index = guard.DocIndex()
    index.add(dec)
    assert index.highs[5] == {1, 4}
    assert index.is_high(5, 4, {}) and not index.is_high(5, 3, {}) and new_id()


def test_snapshots_are_stored_compressed_and_old_rows_still_read():
    doc = Doc()
    doc.get("boundaries", type=Array).append(Map({"id": "abcdefgh", "text": Text("x" * 3000)}))
    update = doc.get_update()
    packed = store.pack_snapshot(update)
    assert packed.startswith(store.SNAPSHOT_PREFIX) and len(packed) < len(update) // 4
    assert store.unpack_snapshot(packed) == update
    assert store.unpack_snapshot(update) == update  # a row stored before compression
    tiny = b"\x00\x00"
    assert store.pack_snapshot(tiny) == tiny  # compressing would not make it smaller
    # Something that only looks compressed is read as it is.
    fake = store.SNAPSHOT_PREFIX + b"not zlib"
    assert store.unpack_snapshot(fake) == fake
