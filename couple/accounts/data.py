"""Your data: the export of everything that is yours, and its erasure when you delete your account.

Each capability (couple/capabilities.py) writes its own part: `export_for(user)` returns its
top-level sections of the export, `erase_for(user)` removes what the cascades would leave. This
module only puts them together, and is the accounts capability's own part (the account, its
login sessions, the quick exit's drafts; the event log and the user row itself on erasure).

    export_for(user) -> dict
        Everything of this person's in the capability, JSON-serialisable once `jsonable` turned
        dates into ISO strings. Private items included; never the partner's private items.

    erase_for(user) -> None
        Called inside the deletion transaction, after the couple has been unlinked and before
        the user row is deleted (rows with ON DELETE CASCADE go by themselves afterwards). Delete
        or scrub what this person wrote that would otherwise survive in shared rows: items of
        ended couples authored by them, text copies kept in history or approval rows, binary
        logs. Must not commit; must not touch the former partner's own items.
"""
from datetime import date, datetime

from sqlalchemy import delete, select, update

from ..capabilities import CAPABILITIES
from ..events import Event, couple_stream, user_stream
from ..extensions import db
from .models import LoginSession, User


def export_for(user: User) -> dict:
    """Everything of this person's, as one JSON-serialisable document."""
    out = {"format": "couple-export/1"}
    for capability in CAPABILITIES:
        out.update(capability.export_for(user))
    return jsonable(out)


def erase_for(user: User) -> None:
    """Remove this person from every table, in the caller's transaction (see module doc).

    The couple must already be unlinked. Capabilities erase in the reverse of their order, so
    accounts (the first) goes last: see `account_erase`.
    """
    for capability in reversed(CAPABILITIES):
        capability.erase_for(user)


def jsonable(value):
    """Dates to ISO strings, recursively; everything else as it is."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return value


def plain_rows(model, *where) -> list[dict]:
    """The rows of `model` matching `where`, in primary-key order, as {column: value}; binary
    columns (CRDT updates) are left out: their text is exported by the readable rows."""
    table = model.__table__
    columns = [c for c in table.columns if not _binary(c)]
    rows = db.session.execute(
        select(*columns).where(*where).order_by(*table.primary_key.columns)).mappings()
    return [dict(row) for row in rows]


def _binary(column) -> bool:
    try:
        return column.type.python_type is bytes
    except NotImplementedError:
        return False


def account_export(user: User) -> dict:
    """The accounts capability's part: the account, its sessions, the quick exit's drafts."""
    from ..guides.drafts import export_drafts

    sessions = db.session.scalars(
        select(LoginSession).where(LoginSession.user_id == user.id).order_by(LoginSession.id)
    )
    return {
        "account": {
            "email": user.email,
            "display_name": user.display_name,
            "created_at": user.created_at,
        },
        # Devices you are signed in on; the secret part of a session is never exported.
        "sessions": [
            {"created_at": s.created_at, "expires_at": s.expires_at, "remember": s.remember,
             "device": s.device, "last_used_on": s.last_used_on}
            for s in sessions
        ],
        # What a quick exit kept of what you were typing, not saved anywhere else yet.
        "drafts": export_drafts(user),
    }


def account_erase(user: User) -> None:
    """The accounts capability's part, after every other capability's:
    - the event log of their own stream and of every couple they were in: those couples have
      ended, nobody replays them any more, and the payloads hold copies of what they wrote
      (shared reflection text, boundary and commitment text);
    - their id as the actor of events left in other streams (the former partner's own stream);
    - the user row. Rows that CASCADE with it: login sessions, live sockets, invites they sent,
      guide progress, reflections, drafts, commitments, applied op ids (whose results hold
      copies of their text).
    """
    from ..pairing.data import former_couples

    streams = [user_stream(user.id)] + [couple_stream(c.id) for c in former_couples(user)]
    db.session.execute(delete(Event).where(Event.stream.in_(streams)))
    db.session.execute(
        update(Event).where(Event.actor_id == user.id).values(actor_id=None),
        execution_options={"synchronize_session": False},
    )
    # A Core DELETE, so the database's ON DELETE rules (CASCADE / SET NULL) do the rest.
    db.session.execute(delete(User).where(User.id == user.id))
