"""Boundaries operations: the one door socket handlers, views and other capabilities use.

Three modules along the seams of the work:
- `sync`: the Yjs document (an editor's update, a sync step, presence, the document read
  whole), every use under the replica lock (`store.locked`);
- `agreement`: accept a wording, withdraw it, propose or withdraw a removal, keep a settled
  wording, each one `events.change`;
- `reading`: the client state's approvals and removals, the page's overview, a history.
"""
from .agreement import (
    HASH_LENGTH,
    approve_boundary,
    propose_removal,
    record_wording,
    withdraw_approval,
    withdraw_removal,
)
from .reading import (
    approval_key,
    history,
    overview,
    state_collections,
    state_collections_for_couple,
)
from .sync import (
    EMPTY_UPDATE,
    answer_step1,
    compact_every,
    current_boundaries,
    document_update,
    max_doc,
    max_message,
    max_update,
    receive_message,
    receive_update,
    relay_awareness,
    room_of,
)

__all__ = [
    "HASH_LENGTH", "approve_boundary", "propose_removal", "record_wording", "withdraw_approval",
    "withdraw_removal", "approval_key", "history", "overview", "state_collections",
    "state_collections_for_couple", "EMPTY_UPDATE", "answer_step1", "compact_every",
    "current_boundaries", "document_update", "max_doc", "max_message", "max_update",
    "receive_message", "receive_update", "relay_awareness", "room_of",
]
