"""Apply a partner's Yjs update to the replica only if it keeps the document's shape.

The editor may add boundaries, edit their text, and move them (set `category` / `order`);
it may not delete a boundary (removal takes both partners and is done by the server), change
an item's `id`, `text` or `created_by`, add one in someone else's name, write under another
person's Yjs client id, or leave anything the server cannot judge.

The document is judged as it stands *after* the update, not only by the events pycrdt fires:
- the update is read whole first (protocol.decode_update): content kinds the editor never
  makes (embeds, formatting, binary, JSON, sub-documents, other shared types) are refused, as
  are items placed explicitly anywhere but the `boundaries` array, a new boundary's keys or a
  boundary's text (hidden keys on the array or attributes on a Y.Text);
- structs and deletions that yrs cannot integrate yet ("pending": a gap in any client's run,
  an origin the server has not got, a deletion of clocks that do not exist) are refused: they
  would sit unseen in every replica and take effect later, against someone else's typing. An
  honest tab never sends one: it syncs (step 1 / step 2) before it sends anything else;
- an edit that would split a UTF-16 surrogate pair is refused: Yjs counts UTF-16 units and
  replaces the halves with U+FFFD, yrs counts otherwise (and has panicked on it), so the tabs,
  the replica and the agreement hash would each see another text;
- a new boundary is checked with its whole subtree (children of a new item raise no events).

pycrdt cannot roll an update back, so on a refusal the caller throws the replica away and the
next use rebuilds it from the log, where the refused update never went.
"""
from pycrdt import ArrayEvent, Map, MapEvent, Text, TextEvent, merge_updates

from ..errors import InvalidInput
from . import protocol as p
from .content import BOUNDARY_ID, GROUPS, MAX_BOUNDARIES, MAX_TEXT
from .protocol import decode_update, read_state_vector
from .store import boundaries_array

MISSING = "That change depends on one the server has not got yet."
UNREADABLE = "That change could not be read."
PLAIN = "A boundary holds plain text only."
SHAPE = "That change does not fit the boundaries list."
SPLIT = "That change splits a character in two."
NOT_YOURS = "That change is written in someone else's name."
MOVABLE = {"category", "order"}
ITEM_KEYS = {"id", "category", "text", "created_by", "order"}
# A boundary over MAX_TEXT is kept (shown "over the limit, please trim"): two partners' offline
# typing can merge past it and nothing honest may be lost. Far past it is not typing.
HARD_TEXT = 8 * MAX_TEXT
ALLOWED_KINDS = {p.CONTENT_GC, p.CONTENT_DELETED, p.CONTENT_STRING, p.CONTENT_ANY,
                 p.CONTENT_TYPE}


def utf16_len(text: str) -> int:
    return p.utf16_length(text)


class DocIndex:
    """What the guard needs to know about items pycrdt does not expose: the shared types by id
    (a parent named by id must be a boundary's text) and which UTF-16 units start a surrogate
    pair. Built from every update the replica applies."""

    def __init__(self):
        self.types: dict[tuple[int, int], int] = {}
        self.highs: dict[int, set[int]] = {}

    def add(self, update) -> None:
        for s in update.structs:
            if s.kind == p.CONTENT_TYPE:
                self.types[(s.client, s.clock)] = s.type_ref
            elif s.kind == p.CONTENT_STRING:
                self._note_pairs(s, self.highs)

    @staticmethod
    def _note_pairs(s, highs: dict) -> None:
        if not any(ord(ch) > 0xFFFF for ch in s.text):
            return
        at = s.clock
        found = highs.setdefault(s.client, set())
        for ch in s.text:
            if ord(ch) > 0xFFFF:
                found.add(at)
                at += 2
            else:
                at += 1

    def is_high(self, client: int, clock: int, extra: dict) -> bool:
        return clock in self.highs.get(client, ()) or clock in extra.get(client, ())


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value \
        and abs(value) < 1e15


def _check_text(text, problems: list, new: bool = False) -> None:
    for chunk, attrs in text.diff():
        if not isinstance(chunk, str) or attrs:
            problems.append(PLAIN)
            return
    if utf16_len(str(text)) > (MAX_TEXT if new else HARD_TEXT):
        problems.append(f"Keep a boundary under {MAX_TEXT:,} characters.")


def _check_new_item(item, user_id: int, problems: list) -> None:
    """A new boundary, with its whole subtree."""
    if not isinstance(item, Map):
        problems.append("A boundary must be a map.")
        return
    keys = set(item.keys())
    created_by = item.get("created_by")
    if keys != ITEM_KEYS:
        problems.append("A new boundary has the wrong fields.")
    elif not isinstance(item.get("id"), str) or not BOUNDARY_ID.match(item.get("id")):
        problems.append("A new boundary has a bad id.")
    elif item.get("category") not in GROUPS:
        problems.append("A new boundary has an unknown group.")
    elif not isinstance(item.get("text"), Text):
        problems.append("A new boundary's text is missing.")
    elif not _is_number(created_by) or created_by != user_id:
        # Exactly the sender's id (JavaScript has one number type: 7 and 7.0 are the same;
        # 7.5 is nobody, and must not pass as 7).
        problems.append("A new boundary must be created in your own name.")
    elif not _is_number(item.get("order")):
        problems.append("A new boundary has a bad position.")
    else:
        _check_text(item.get("text"), problems, new=True)


def _check(events, problems: list, seen: dict) -> None:
    for event in events:
        path = list(event.path)
        if isinstance(event, ArrayEvent) and path == []:
            for part in event.delta:
                if "delete" in part:
                    problems.append("Removing a boundary takes both of you: propose it instead.")
                for item in part.get("insert", ()):
                    seen.setdefault("inserted", []).append(item)
        elif isinstance(event, MapEvent) and len(path) == 1:
            for key, change in event.keys.items():
                action = change.get("action")
                value = change.get("newValue")
                if key not in MOVABLE or action not in ("add", "update"):
                    problems.append("Only a boundary's text, group and position can change.")
                elif key == "category" and value not in GROUPS:
                    problems.append("That group does not exist.")
                elif key == "order" and not _is_number(value):
                    problems.append("That position is not a number.")
        elif isinstance(event, TextEvent) and len(path) == 2 and path[1] == "text":
            inserted = 0
            for part in event.delta:
                if "insert" in part and not isinstance(part["insert"], str):
                    problems.append(PLAIN)
                elif "insert" in part:
                    inserted += utf16_len(part["insert"])
                if part.get("attributes"):
                    problems.append(PLAIN)
            if inserted > MAX_TEXT:
                # No tab can type that much into one boundary: its own copy stops at MAX_TEXT.
                problems.append(f"Keep a boundary under {MAX_TEXT:,} characters.")
            seen.setdefault("texts", []).append(event.target)
        else:
            problems.append(SHAPE)


def _read_first(update: bytes, doc, index: DocIndex, owners, user_id: int):
    """Judge what can be judged before applying: returns (problems, decoded, before, claims)."""
    try:
        dec = decode_update(update)
    except InvalidInput:
        return [UNREADABLE], None, None, []
    before = read_state_vector(doc.get_state())
    runs = dec.runs()
    claims = []
    for client, (start, end) in runs.items():
        if start > before.get(client, 0):
            # It continues an update we never got (its send failed): the editor's next
            # handshake sends both in one piece. Applied now, it would wait unseen ("pending").
            return [MISSING], dec, before, []
        if end > before.get(client, 0):
            owner = owners(client)
            if owner is not None and owner != user_id:
                return [NOT_YOURS], dec, before, []
            claims.append(client)  # (the caller stores only the ones not stored yet)
    new_types: dict[tuple[int, int], int] = {}
    new_highs: dict[int, set[int]] = {}
    fresh = []
    for s in dec.structs:
        if s.clock + s.length <= before.get(s.client, 0):
            continue  # the server has it already (a step 2 carries history): yrs skips it
        fresh.append(s)
        if s.kind not in ALLOWED_KINDS:
            return [PLAIN if s.kind in (p.CONTENT_EMBED, p.CONTENT_FORMAT, p.CONTENT_BINARY,
                                        p.CONTENT_JSON) else SHAPE], dec, before, []
        if s.kind == p.CONTENT_TYPE:
            if s.type_ref not in (p.TYPE_MAP, p.TYPE_TEXT):
                return [SHAPE], dec, before, []
            new_types[(s.client, s.clock)] = s.type_ref
        elif s.kind == p.CONTENT_STRING:
            offset = before.get(s.client, 0) - s.clock
            if offset > 0 and 0xDC00 <= ord(_unit_at(s.text, offset)) <= 0xDFFF:
                return [SPLIT], dec, before, []
            DocIndex._note_pairs(s, new_highs)
    for s in fresh:
        if s.parent is not None:
            kind, ref = s.parent
            if kind == "root":
                if ref != "boundaries" or s.sub is not None:
                    return [SHAPE], dec, before, []
            elif s.sub is not None:
                # A key set on a map: only the keys of a boundary created in this update.
                if new_types.get(ref) != p.TYPE_MAP or s.sub not in ITEM_KEYS:
                    return [SHAPE], dec, before, []
            else:
                # Content placed in a type by id: only a boundary's text holds any.
                if new_types.get(ref, index.types.get(ref)) != p.TYPE_TEXT:
                    return [SHAPE], dec, before, []
        if s.origin is not None and index.is_high(*s.origin, new_highs):
            return [SPLIT], dec, before, []
        if s.right is not None and index.is_high(s.right[0], s.right[1] - 1, new_highs):
            return [SPLIT], dec, before, []
    for client, clock, length in dec.deletes:
        if index.is_high(client, clock - 1, new_highs) or \
                index.is_high(client, clock + length - 1, new_highs):
            return [SPLIT], dec, before, []
    return [], dec, before, claims


def _unit_at(text: str, offset: int) -> str:
    """The UTF-16 unit at `offset` of `text`, as a one-character str (a half for a pair)."""
    units = text.encode("utf-16-le")
    if offset * 2 + 2 > len(units):
        return "\0"
    return chr(int.from_bytes(units[offset * 2:offset * 2 + 2], "little"))


def apply_checked(doc, update: bytes, user_id: int, index: DocIndex | None = None,
                  owners=None):
    """Apply `update` to `doc`.

    Returns (problems, new, claims, applied): the problems found (empty: the update is fine),
    what the document gained (a Yjs update holding only what the server did not have: this is
    what is stored and relayed, so a step 2 that repeats history adds nothing), the Yjs client
    ids the sender uses for the first time (to be recorded as theirs), and whether `doc` was
    touched (a refusal after applying means the caller must rebuild it; one judged from the
    update alone leaves it as it was, so a stream of refused updates costs no rebuilds).
    """
    index = index if index is not None else DocIndex()
    owners = owners if owners is not None else (lambda client: None)
    problems, dec, before, claims = _read_first(update, doc, index, owners, user_id)
    if problems:
        return problems, b"", [], False  # judged unread: the replica is as it was
    seen: dict = {}
    captured: list[bytes] = []
    array = boundaries_array(doc)
    subscription = array.observe_deep(lambda events: _check(events, problems, seen))
    doc_sub = doc.observe(lambda event: captured.append(event.update))
    try:
        doc.apply_update(update)
    except Exception:  # noqa: BLE001  (pycrdt raises ValueError/RuntimeError on a bad update)
        problems.append(UNREADABLE)
    except BaseException as exc:  # a panic in yrs (pyo3's PanicException) must not kill us
        if type(exc).__name__ != "PanicException":
            raise
        problems.append(UNREADABLE)
    finally:
        array.unobserve(subscription)
        doc.unobserve(doc_sub)
    if problems:
        return problems, b"", [], True
    after = read_state_vector(doc.get_state())
    for client, (_start, end) in dec.runs().items():
        if after.get(client, 0) < end:
            return [MISSING], b"", [], True
    for client, clock, length in dec.deletes:
        if clock + length > after.get(client, 0):
            # A deletion of clocks that do not exist yet would wait, unseen, and delete what
            # someone types later.
            return [MISSING], b"", [], True
    if set(doc.keys()) != {"boundaries"}:
        return [SHAPE], b"", [], True
    for item in seen.get("inserted", ()):
        _check_new_item(item, user_id, problems)
    for text in seen.get("texts", ()):
        _check_text(text, problems)
    if not problems and seen.get("inserted"):
        if len(array) > 2 * MAX_BOUNDARIES:
            # The page stops adding at MAX_BOUNDARIES; offline copies merging past it are kept.
            problems.append(f"A list holds at most {MAX_BOUNDARIES} boundaries.")
        else:
            ids = [item.get("id") for item in array if isinstance(item, Map)]
            if len(ids) != len(set(ids)):
                problems.append("Two boundaries cannot share an id.")
    if problems:
        return problems, b"", [], True
    index.add(dec)
    parts = [u for u in captured if u != b"\x00\x00"]
    if not parts:
        return [], b"", [], True
    if len(parts) > 1:
        return [], merge_updates(*parts), claims, True
    return [], parts[0], claims, True


__all__ = ["apply_checked", "DocIndex", "MISSING", "NOT_YOURS", "HARD_TEXT"]
