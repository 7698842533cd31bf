"""Your data: the export of everything that is yours, and its erasure when you delete your account.

A registry, so each capability contributes its own part without this module knowing its tables.
The core parts (account, couples, invites, guides) are written here; any other capability
`couple.<name>` joins by defining, in `couple/<name>/operations.py`:

    def export_for(user) -> dict | list
        Everything of this person's in the capability, JSON-serialisable (datetimes are turned
        into ISO strings). Private items included; never the partner's private items.

    def erase_for(user) -> None
        Called inside the deletion transaction, after the couple has been unlinked and before
        the user row is deleted (rows with ON DELETE CASCADE go by themselves afterwards). Delete
        or scrub what this person wrote that would otherwise survive in shared rows: items of
        ended couples authored by them, text copies kept in history or approval rows, binary
        logs. Must not commit; must not touch the former partner's own items.

A capability missing either function simply contributes nothing to that side.
"""
import importlib
from datetime import date, datetime

from sqlalchemy import delete, or_, select, update

from ..events import Event, couple_stream, user_stream
from ..extensions import db
from .models import LoginSession, User

# Capabilities that may contribute (imported only if present: they are built independently).
CAPABILITIES = ("boundaries", "commitments", "conversations")


def _hook(name: str, attr: str):
    try:
        module = importlib.import_module(f"couple.{name}.operations")
    except ModuleNotFoundError as exc:
        if exc.name in (f"couple.{name}", f"couple.{name}.operations"):
            return None
        raise
    return getattr(module, attr, None)


def hooks(attr: str) -> list[tuple[str, object]]:
    """(capability, function) for every capability that defines `attr`."""
    found = []
    for name in CAPABILITIES:
        fn = _hook(name, attr)
        if callable(fn):
            found.append((name, fn))
    return found


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


def former_couples(user: User):
    """Every couple this person has been in, active or ended."""
    from ..pairing.models import Couple

    return list(db.session.scalars(
        select(Couple).where(or_(Couple.rebuilding_id == user.id, Couple.supporting_id == user.id))
        .order_by(Couple.id)
    ))


def _core_export(user: User) -> dict:
    from ..guides.drafts import export_drafts
    from ..guides.models import GuideProgress, Reflection
    from ..pairing.models import Invite

    sessions = db.session.scalars(
        select(LoginSession).where(LoginSession.user_id == user.id).order_by(LoginSession.id)
    )
    invites = db.session.scalars(
        select(Invite).where(Invite.inviter_id == user.id).order_by(Invite.id)
    )
    progress = db.session.scalars(
        select(GuideProgress).where(GuideProgress.user_id == user.id)
        .order_by(GuideProgress.guide, GuideProgress.step)
    )
    reflections = db.session.scalars(
        select(Reflection).where(Reflection.user_id == user.id)
        .order_by(Reflection.guide, Reflection.step)
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
        "couples": [
            {"id": c.id, "your_role": c.role_of(user), "created_at": c.created_at,
             "ended_at": c.ended_at}
            for c in former_couples(user)
        ],
        "invitations": [
            {"your_role": i.inviter_role, "created_at": i.created_at, "expires_at": i.expires_at,
             "used_at": i.used_at, "declined_at": i.declined_at, "revoked_at": i.revoked_at}
            for i in invites
        ],
        "guides": {
            "progress": [
                {"guide": p.guide, "step": p.step, "state": p.state, "updated_at": p.updated_at}
                for p in progress
            ],
            # Yours, private ones included: `shared_with_couple` names the couple it is shared with.
            "reflections": [
                {"guide": r.guide, "step": r.step, "text": r.text,
                 "shared_with_couple": r.shared_couple_id, "updated_at": r.updated_at}
                for r in reflections
            ],
        },
    }


def _capability_tables(name: str):
    prefix = f"couple.{name}."
    return [mapper.local_table for mapper in db.Model.registry.mappers
            if mapper.class_.__module__.startswith(prefix)]


def _rows_of(user: User, tables) -> dict:
    """Fallback export: every row that names this person through a foreign key, and the rows
    that hang off those (a commitment's marks and changes), unless a row names someone else
    as its author. Binary columns (CRDT updates) are left out: their text is exported by
    the capability's readable rows."""
    users = db.Model.metadata.tables["users"]
    chosen = {t.name: {} for t in tables}
    changed = True
    while changed:
        changed = False
        for table in tables:
            pk = list(table.primary_key.columns)
            for row in db.session.execute(select(table)).mappings():
                key = tuple(row[c.name] for c in pk)
                if key in chosen[table.name]:
                    continue
                person_cols = [fk.parent.name for fk in table.foreign_keys
                               if fk.column.table is users]
                if any(row[c] not in (None, user.id) for c in person_cols):
                    continue
                mine = any(row[c] == user.id for c in person_cols)
                for fk in table.foreign_keys:
                    ref = fk.column.table.name
                    if ref in chosen and chosen[ref] and len(list(fk.column.table.primary_key)) == 1:
                        if (row[fk.parent.name],) in chosen[ref]:
                            mine = True
                if mine:
                    chosen[table.name][key] = {
                        k: v for k, v in row.items() if not isinstance(v, (bytes, memoryview))
                    }
                    changed = True
    return {name: list(rows.values()) for name, rows in chosen.items() if rows}


def _fallback_export(name: str, user: User):
    out = _rows_of(user, _capability_tables(name))
    if name == "boundaries" and user.couple_id is not None:
        from ..boundaries.operations import current_boundaries

        out["written_by_you"] = [b for b in current_boundaries(user.couple)
                                 if b.get("created_by") == user.id]
    return out


def export_for(user: User) -> dict:
    """Everything of this person's, as one JSON-serialisable document."""
    out = {"format": "couple-export/1", **_core_export(user)}
    hooked = dict(hooks("export_for"))
    for name in CAPABILITIES:
        if name in hooked:
            out[name] = hooked[name](user)
        elif _capability_tables(name):
            out[name] = _fallback_export(name, user)
    return jsonable(out)


def _fallback_erase(name: str, user: User) -> None:
    """For a capability without erase_for. Boundaries are written together in one CRDT
    document with no per-author text, so an ended couple's boundaries (document, update log,
    snapshots, approvals, wordings, removal proposals) go when either person deletes their
    account; nobody can open an ended couple's boundaries any more. Commitments need nothing:
    a person's commitments (with their marks and history) and acknowledgements CASCADE."""
    if name != "boundaries":
        return
    couples = [c.id for c in former_couples(user)]
    if not couples:
        return
    for table in reversed(db.Model.metadata.sorted_tables):
        if table in _capability_tables(name) and "couple_id" in table.c:
            db.session.execute(delete(table).where(table.c.couple_id.in_(couples)))


def erase_for(user: User) -> None:
    """Remove this person from every table, in the caller's transaction (see module doc).

    The couple must already be unlinked. What it removes beyond the cascades:
    - the event log of their own stream and of every couple they were in: those couples have
      ended, nobody replays them any more, and the payloads hold copies of what they wrote
      (shared reflection text, boundary and commitment text);
    - their id as the actor of events left in other streams (the former partner's own stream).
    Rows that CASCADE with the user: login sessions, live sockets, invites they sent, guide
    progress, reflections, applied op ids (whose results hold copies of their text).
    """
    hooked = dict(hooks("erase_for"))
    for name in CAPABILITIES:
        if name in hooked:
            hooked[name](user)
        else:
            _fallback_erase(name, user)
    streams = [user_stream(user.id)] + [couple_stream(c.id) for c in former_couples(user)]
    db.session.execute(delete(Event).where(Event.stream.in_(streams)))
    db.session.execute(
        update(Event).where(Event.actor_id == user.id).values(actor_id=None),
        execution_options={"synchronize_session": False},
    )
    # A Core DELETE, so the database's ON DELETE rules (CASCADE / SET NULL) do the rest.
    db.session.execute(delete(User).where(User.id == user.id))
