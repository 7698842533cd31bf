"""The shared document over the socket: sync, live updates, refusals, caps, restart, compaction."""
from pycrdt import Map, Text, create_update_message

from couple.boundaries import store
from couple.boundaries.content import MAX_TEXT
from couple.boundaries.models import BoundarySnapshot, BoundaryUpdate
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


def _stored(couple_id):
    db.session.rollback()
    return content_of(store.load_doc(couple_id))


def test_an_edit_is_stored_then_reaches_the_partner_only(make_couple, login_as, socket_for):
    rebuilding, supporting, a, b = _pair(make_couple, login_as, socket_for)
    bid, ack = a.add("We tell each other when plans change.", "communication")
    assert ack == {"ok": True}
    assert b.receive() == []
    assert b.texts() == {bid: "We tell each other when plans change."}
    assert a.sock.get_received() == []  # the sender is skipped
    assert _stored(rebuilding.couple_id)[0][3] == "We tell each other when plans change."


def test_both_typing_in_one_boundary_lose_nothing(make_couple, login_as, socket_for):
    rebuilding, supporting, a, b = _pair(make_couple, login_as, socket_for)
    bid, _ = a.add("ab", "privacy")
    b.receive()
    # Both type at the same place before seeing each other's keystroke.
    assert a.type_into(bid, 1, "XXX") == {"ok": True}
    assert b.type_into(bid, 1, "yy") == {"ok": True}
    a.receive()
    b.receive()
    assert a.texts() == b.texts()
    text = a.texts()[bid]
    assert sorted(text) == sorted("abXXXyy")
    assert _stored(rebuilding.couple_id)[0][3] == text


def test_a_moved_boundary_keeps_concurrent_typing(make_couple, login_as, socket_for):
    rebuilding, supporting, a, b = _pair(make_couple, login_as, socket_for)
    bid, _ = a.add("No phones at dinner.", "behaviour", 1.0)
    b.receive()
    assert a.move(bid, "expectations", 0.5) == {"ok": True}
    assert b.type_into(bid, 0, "Please: ") == {"ok": True}
    a.receive()
    b.receive()
    stored = _stored(rebuilding.couple_id)
    assert stored == [(bid, "expectations", 0.5, "Please: No phones at dinner.")]
    assert content_of(a.doc) == content_of(b.doc) == stored


def test_offline_edits_merge_on_reconnect(make_couple, login_as, socket_for):
    rebuilding, supporting, a, b = _pair(make_couple, login_as, socket_for)
    bid, _ = a.add("base", "other")
    b.receive()
    # b goes offline: its edits stay local, then it reconnects and syncs.
    b.sock.disconnect()
    with b.doc.transaction():
        b.item(bid)["text"].insert(4, " offline")
    a.type_into(bid, 0, "online ")
    b.sock.connect()
    b.sync()
    a.receive()
    assert a.texts() == b.texts() == {bid: "online base offline"}
    assert _stored(rebuilding.couple_id)[0][3] == "online base offline"


def test_foreign_couple_can_neither_read_nor_write(make_couple, make_user, login_as, socket_for):
    rebuilding, supporting, a, b = _pair(make_couple, login_as, socket_for)
    bid, _ = a.add("Ours alone.", "privacy")
    b.receive()
    other_r, other_s = make_couple(make_user(name="Olive"), make_user(name="Otto"))
    stranger = Editor(socket_for(login_as(other_r)), other_r.id)
    # Sync gives the stranger their own (empty) document, never ours.
    stranger.sync()
    assert stranger.texts() == {}
    # Their writes land in their own document; ours is untouched and nobody of ours hears.
    stranger.add("Theirs.", "other")
    assert a.sock.get_received() == [] and b.sock.get_received() == []
    assert [t for *_, t in _stored(rebuilding.couple_id)] == ["Ours alone."]
    # An unlinked person gets an error ack and changes nothing.
    loner = make_user(name="Lone")
    lone = Editor(socket_for(login_as(loner)), loner.id)
    ack = lone.send(bytes([0, 0, 1, 0]))
    assert ack["status"] == 404
    # Accepting or removing another couple's boundary id: 404, no event, no change.
    for event in ("b:accept", "b:unaccept", "b:remove", "b:keep", "b:settled"):
        answer = stranger.sock.emit(event, {"id": bid, "hash": "0" * 64}, callback=True)
        assert answer["status"] == 404, (event, answer)
    assert a.sock.get_received() == [] and b.sock.get_received() == []


def test_malformed_and_oversized_updates_are_refused(app, make_couple, login_as, socket_for):
    rebuilding, supporting, a, b = _pair(make_couple, login_as, socket_for)
    bid, _ = a.add("keep me", "other")
    b.receive()
    before = _stored(rebuilding.couple_id)
    rows = db.session.query(BoundaryUpdate).count()
    bad = [
        b"",
        b"\x00",
        b"\x07\x00\x01\x00",
        bytes([0, 2, 5, 1, 2]),                       # length says 5, 2 bytes follow
        create_update_message(b"\x01\x02garbage-not-yjs"),
        create_update_message(b"\x05" * 70_000),       # over the update cap
        "text, not bytes",
        {"a": 1},
    ]
    for message in bad:
        ack = a.send(message)
        assert "error" in ack and ack.get("ok") is None, (message[:10], ack)
    assert b.sock.get_received() == []
    assert db.session.query(BoundaryUpdate).count() == rows
    assert _stored(rebuilding.couple_id) == before
    # The connection still works.
    assert a.type_into(bid, 0, "still ") == {"ok": True}


def test_updates_out_of_shape_are_refused_and_change_nothing(make_couple, login_as, socket_for):
    rebuilding, supporting, a, b = _pair(make_couple, login_as, socket_for)
    bid, _ = a.add("do not delete me alone", "other")
    b.receive()
    before = _stored(rebuilding.couple_id)

    def refused(editor, fn, why):
        fresh = Editor(editor.sock, editor.user_id)
        fresh.doc.apply_update(editor.doc.get_update())
        ack = fresh.edit(lambda: fn(fresh))
        assert ack.get("code") == "refused", (why, ack)
        assert _stored(rebuilding.couple_id) == before, why

    refused(b, lambda e: e.array.pop(0), "delete a boundary alone")
    refused(b, lambda e: e.item(bid).__setitem__("text", Text("swap")), "replace text")
    refused(b, lambda e: e.item(bid).__setitem__("id", "x" * 10), "change id")
    refused(b, lambda e: e.item(bid).__setitem__("category", "nonsense"), "bad group")
    refused(b, lambda e: e.item(bid).__setitem__("owner", 1), "extra key")
    refused(b, lambda e: e.array.append(Map({"id": new_id(), "category": "other",
                                             "text": Text("x"), "created_by": rebuilding.id,
                                             "order": 1})), "in the partner's name")
    refused(b, lambda e: e.array.append(Map({"id": bid, "category": "other", "text": Text("x"),
                                             "created_by": supporting.id, "order": 1})),
            "duplicate id")
    refused(b, lambda e: e.item(bid)["text"].insert(0, "x" * (MAX_TEXT + 1)), "too long")
    refused(b, lambda e: e.doc.get("elsewhere", type=Text).insert(0, "hi"), "another root")
    assert a.sock.get_received() == []
    # The refused updates never reached the log, so a fresh sync shows the old content.
    c = Editor(b.sock, supporting.id)
    c.sync()
    assert content_of(c.doc) == before


def test_doc_size_cap_refuses_growth_but_keeps_what_is_there(app, make_couple, login_as,
                                                               socket_for):
    import secrets

    def words(n):  # text that does not compress (snapshots are stored compressed)
        return secrets.token_urlsafe(n)[:n]

    rebuilding, supporting, a, b = _pair(make_couple, login_as, socket_for)
    bid, _ = a.add(words(1500), "other")
    app.config["BOUNDARIES_MAX_DOC"] = 3000
    try:
        ok, _ = a.add(words(1000), "other")
        assert _ == {"ok": True}
        before = _stored(rebuilding.couple_id)
        _bid, ack = a.add(words(1500), "other")
        assert ack["code"] == "doc_full" and ack["status"] == 400
        assert _stored(rebuilding.couple_id) == before
    finally:
        del app.config["BOUNDARIES_MAX_DOC"]


def test_a_new_replica_rebuilds_everything_from_the_log(app, make_couple, login_as, socket_for):
    """What a restarted process does: its replica cache is empty (see also the real-server
    restart test in test_boundaries_server.py)."""
    rebuilding, supporting, a, b = _pair(make_couple, login_as, socket_for)
    bid, _ = a.add("before restart", "communication")
    app.extensions.pop(store._CACHE_KEY)
    a.type_into(bid, 0, "after: ")
    app.extensions.pop(store._CACHE_KEY)
    c = Editor(b.sock, supporting.id)
    c.sync()
    assert c.texts() == {bid: "after: before restart"}


def test_compaction_folds_exactly_the_rows_it_read(app, make_couple, login_as, socket_for):
    rebuilding, supporting, a, b = _pair(make_couple, login_as, socket_for)
    bid, _ = a.add("", "communication")
    for i in range(30):
        a.type_into(bid, i, "a")
    couple_id = rebuilding.couple_id
    before = _stored(couple_id)
    result = store.compact(couple_id)
    assert result["folded"] == 31
    db.session.rollback()
    assert db.session.query(BoundaryUpdate).count() == 0
    assert db.session.query(BoundarySnapshot).count() == 1
    assert _stored(couple_id) == before
    # The replica of this process still answers a sync correctly, and writes continue.
    a.type_into(bid, 0, "b")
    c = Editor(b.sock, supporting.id)
    c.sync()
    assert c.texts()[bid] == "b" + "a" * 30
    # A second compaction folds the snapshot and the new row into one.
    assert store.compact(couple_id)["folded"] == 1
    db.session.rollback()
    assert db.session.query(BoundarySnapshot).count() == 1
    assert _stored(couple_id)[0][3] == "b" + "a" * 30


def test_an_update_missing_its_dependency_is_refused_until_the_handshake(make_couple, login_as,
                                                                        socket_for):
    """An update whose predecessor never arrived (its send failed) would sit invisible in the
    replica: it is refused as "missing", and the editor's next handshake sends both."""
    rebuilding, supporting, a, b = _pair(make_couple, login_as, socket_for)
    bid, _ = a.add("base", "other")
    b.receive()
    before_first = a.doc.get_state()
    with a.doc.transaction():
        a.item(bid)["text"].insert(4, " one")
    first = a.doc.get_update(before_first)  # never sent: lost on the way
    before_second = a.doc.get_state()
    with a.doc.transaction():
        a.item(bid)["text"].insert(8, " two")
    second = a.doc.get_update(before_second)
    assert first and second
    ack = a.send(create_update_message(second))
    assert ack.get("code") == "missing", ack
    assert b.sock.get_received() == []
    assert _stored(rebuilding.couple_id)[0][3] == "base"
    a.sync()  # the handshake the browser runs after a failed send
    b.receive()
    assert b.texts() == {bid: "base one two"}
    assert _stored(rebuilding.couple_id)[0][3] == "base one two"
