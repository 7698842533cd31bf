"""A person's whole client state: what a page starts from and what `reset` reloads.

Each capability contributes collections; events patch the same collections (realtime.py).
Sequence numbers are read *before* the collections: anything that commits in between is in the
collections and is replayed once more on top, and replaying a "set" patch is idempotent.
"""
from . import events
from .accounts.models import User


def _couple_info(user: User) -> dict:
    couple = user.couple
    if couple is None:
        return {}
    partner = couple.partner_of(user)
    return {
        "info": {
            "id": couple.id,
            "active": True,
            "me": {"id": user.id, "name": user.display_name, "role": couple.role_of(user)},
            "partner": (
                {"id": partner.id, "name": partner.display_name, "role": couple.role_of(partner)}
                if partner is not None else None
            ),
        }
    }


def providers():
    """The capabilities' state functions, each `fn(user) -> {collection: {key: item}}`."""
    from .boundaries.operations import state_collections as boundaries
    from .commitments.state import state_collections as commitments
    from .conversations.operations import state_collections as conversations
    from .guides.operations import state_collections as guides

    return [guides, commitments, boundaries, conversations]


def state_for(user: User) -> dict:
    seqs = {
        "user": events.last_seq(events.user_stream(user.id)),
        "couple": events.last_seq(events.couple_stream(user.couple_id)) if user.couple_id else None,
    }
    data = {
        "couple": _couple_info(user),
        "pairing": {"status": {"linked": user.couple_id is not None, "couple_id": user.couple_id}},
    }
    for provide in providers():
        data.update(provide(user))
    return {"seqs": seqs, "data": data}
