"""A person's whole client state: what a page starts from and what `reset` reloads.

Each capability (couple/capabilities.py) contributes its collections, in the tuple's order;
events patch the same collections (realtime.py).
Sequence numbers are read *before* the collections: anything that commits in between is in the
collections and is replayed once more on top, and replaying a "set" patch is idempotent.
"""
from . import events
from .accounts.models import User
from .capabilities import CAPABILITIES


def state_for(user: User) -> dict:
    seqs = {
        "user": events.last_seq(events.user_stream(user.id)),
        "couple": events.last_seq(events.couple_stream(user.couple_id)) if user.couple_id else None,
    }
    data = {}
    for capability in CAPABILITIES:
        data.update(capability.state_collections(user))
    return {"seqs": seqs, "data": data}
