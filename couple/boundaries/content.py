"""What a boundary is, read out of the couple's Yjs document, and its content hash.

The document (one per couple) holds a Y.Array "boundaries" of Y.Map items with the keys
`id` (str), `category` (one of GROUPS), `text` (Y.Text), `created_by` (user id) and `order`
(a number: the position inside its group). Moving a boundary sets `category`/`order` on the
same Y.Map, so a partner typing in it at that moment loses nothing (a delete + re-insert would
throw their keystrokes away with the old Y.Text).

The hash is the one static/src/boundaries/model.js computes: both sides must agree on it
byte for byte, so keep the two in step.
"""
import hashlib
import re
import unicodedata

GROUPS = ("communication", "behaviour", "privacy", "expectations", "other")
GROUP_LABELS = {
    "communication": "Communication",
    "behaviour": "Behaviour",
    "privacy": "Privacy",
    "expectations": "Expectations",
    "other": "Other",
}
BOUNDARY_ID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
MAX_TEXT = 2000
MAX_BOUNDARIES = 300
HASH_VERSION = "v1"


# Only ASCII whitespace is trimmed: Python's str.strip and JavaScript's trim disagree on
# others (U+001C..U+001F, U+0085, U+FEFF), and the hash must be the same on both sides.
ASCII_SPACE = " \t\n\r\f\v"


def canonical_text(text: str) -> str:
    """The wording as agreed: line ends unified, Unicode NFC, outer ASCII whitespace ignored."""
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n")).strip(ASCII_SPACE)


def content_hash(text: str, category: str) -> str:
    """SHA-256 over the canonical wording and the group: any change dismisses approvals."""
    payload = f"{HASH_VERSION}\n{category}\n{canonical_text(text)}"
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _number(value) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def read_boundaries(doc) -> list[dict]:
    """The boundaries in a pycrdt Doc, in display order (group, order, id).

    Defensive: the document is written by browsers, so an item that does not have the
    expected shape is skipped rather than trusted (the server also refuses such updates).
    """
    from pycrdt import Array, Map, Text

    out = []
    seen = set()
    with doc.transaction():
        if "boundaries" not in doc.keys():
            return []
        array = doc.get("boundaries", type=Array)
        for item in array:
            if not isinstance(item, Map):
                continue
            bid = item.get("id")
            text = item.get("text")
            category = item.get("category")
            if not isinstance(bid, str) or bid in seen or not isinstance(text, Text):
                continue
            seen.add(bid)
            category = category if category in GROUPS else "other"
            created_by = item.get("created_by")
            wording = str(text)
            out.append({
                "id": bid,
                "category": category,
                "text": wording,
                "order": _number(item.get("order")),
                "created_by": int(created_by) if isinstance(created_by, (int, float)) else None,
                "hash": content_hash(wording, category),
            })
    out.sort(key=lambda b: (GROUPS.index(b["category"]), b["order"], b["id"]))
    return out


def agreement(boundary: dict, approvals: dict, member_ids: list[int]) -> dict:
    """Who accepted the *current* wording: computed from hashes, never stored.

    `approvals` maps user id -> that person's latest approval item (or is missing them).
    Returns {"state": "proposed" | "accepted_by_one" | "agreed", "by": [user ids],
    "stale": [user ids whose approval was for an earlier wording]}.
    """
    by, stale = [], []
    for uid in member_ids:
        approval = approvals.get(uid)
        if approval is None:
            continue
        (by if approval["hash"] == boundary["hash"] else stale).append(uid)
    if len(member_ids) == 2 and len(by) == 2:
        state = "agreed"
    elif by:
        state = "accepted_by_one"
    else:
        state = "proposed"
    return {"state": state, "by": by, "stale": stale}
