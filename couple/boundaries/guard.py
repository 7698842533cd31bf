"""Apply a partner's Yjs update to the replica only if it keeps the document's shape.

The editor may add boundaries, edit their text, and move them (set `category` / `order`);
it may not delete a boundary (removal takes both partners and is done by the server), change
an item's `id`, `text` or `created_by`, add one in someone else's name, or grow past the caps.
pycrdt cannot roll an update back, so on a refusal the caller throws the replica away and the
next use rebuilds it from the log, where the refused update never went.
"""
from pycrdt import ArrayEvent, Map, MapEvent, Text, TextEvent

from .content import BOUNDARY_ID, GROUPS, MAX_BOUNDARIES, MAX_TEXT
from ..errors import InvalidInput
from .protocol import first_struct_run, read_state_vector
from .store import boundaries_array

MISSING = "That change depends on one the server has not got yet."
MOVABLE = {"category", "order"}
ITEM_KEYS = {"id", "category", "text", "created_by", "order"}


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value \
        and abs(value) < 1e15


def _check_new_item(item, user_id: int, problems: list) -> None:
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
    elif not isinstance(item.get("text"), Text) or len(str(item.get("text"))) > MAX_TEXT:
        problems.append("A new boundary's text is missing or too long.")
    elif not _is_number(created_by) or int(created_by) != user_id:
        problems.append("A new boundary must be created in your own name.")
    elif not _is_number(item.get("order")):
        problems.append("A new boundary has a bad position.")


def _check(events, user_id: int, problems: list, seen: dict) -> None:
    for event in events:
        path = list(event.path)
        if isinstance(event, ArrayEvent) and path == []:
            for part in event.delta:
                if "delete" in part:
                    problems.append("Removing a boundary takes both of you: propose it instead.")
                for item in part.get("insert", ()):
                    seen["inserted"] = True
                    _check_new_item(item, user_id, problems)
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
            for part in event.delta:
                if "insert" in part and not isinstance(part["insert"], str):
                    problems.append("A boundary holds plain text only.")
                if part.get("attributes"):
                    problems.append("A boundary holds plain text only.")
            if len(str(event.target)) > MAX_TEXT:
                problems.append(f"Keep a boundary under {MAX_TEXT:,} characters.")
        else:
            problems.append("That change does not fit the boundaries list.")


def apply_checked(doc, update: bytes, user_id: int) -> list[str]:
    """Apply `update` to `doc`; return the problems found (empty: the update is fine)."""
    problems: list[str] = []
    seen: dict = {}
    try:
        run = first_struct_run(update)
    except InvalidInput:
        return ["That change could not be read."]
    if run is not None and run[2] > 0:
        client, clock, _count = run
        if clock > read_state_vector(doc.get_state()).get(client, 0):
            # It continues an update we never got (its send failed): refuse it, and the
            # editor's next handshake sends both in one piece. Applied now, it would sit
            # invisible in the replica as a "pending" struct.
            return [MISSING]
    array = boundaries_array(doc)
    subscription = array.observe_deep(lambda events: _check(events, user_id, problems, seen))
    try:
        doc.apply_update(update)
    except Exception:  # noqa: BLE001  (pycrdt raises ValueError/RuntimeError on a bad update)
        problems.append("That change could not be read.")
    finally:
        array.unobserve(subscription)
    if not problems:
        if set(doc.keys()) != {"boundaries"}:
            problems.append("That change does not fit the boundaries list.")
        elif not seen:
            pass
        elif len(array) > MAX_BOUNDARIES:
            problems.append(f"A list holds at most {MAX_BOUNDARIES} boundaries.")
        else:
            ids = [item.get("id") for item in array if isinstance(item, Map)]
            if len(ids) != len(set(ids)):
                problems.append("Two boundaries cannot share an id.")
    return problems


__all__ = ["apply_checked", "MISSING"]
