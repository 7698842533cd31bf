"""Guide operations: set a step's state, write a reflection, share or unshare it."""
import unicodedata

from sqlalchemy import bindparam, select, text

from .. import events
from ..accounts.models import User
from ..errors import Conflict, InvalidInput, NotFound
from ..extensions import db
from ..models_base import upsert_insert, utcnow
from ..pairing.models import Couple, Invite
from . import drafts
from .content import GUIDES
from .models import STEP_STATES, GuideProgress, Reflection

MAX_REFLECTION = 10_000


def guide_of(user: User) -> str | None:
    """The guide this person works on: their role now, else in their last couple or invite."""
    if user.role:
        return user.role
    last = db.session.scalar(
        select(Couple)
        .where((Couple.rebuilding_id == user.id) | (Couple.supporting_id == user.id))
        .order_by(Couple.id.desc())
    )
    if last is not None:
        return last.role_of(user)
    invite = db.session.scalar(
        select(Invite).where(Invite.inviter_id == user.id).order_by(Invite.id.desc())
    )
    return invite.inviter_role if invite is not None else None


def _step_or_404(user: User, step: int) -> tuple[str, int]:
    guide = guide_of(user)
    if guide is None or GUIDES[guide].step(step) is None:
        raise NotFound("There is no such step in your guide.")
    return guide, step


def progress_key(user_id: int, guide: str, step: int) -> str:
    return f"{user_id}:{guide}:{step}"


def progress_item(row: GuideProgress) -> dict:
    return {"user_id": row.user_id, "guide": row.guide, "step": row.step, "state": row.state}


def own_reflection_item(row: Reflection, couple_id: int | None) -> dict:
    return {
        "guide": row.guide,
        "step": row.step,
        "text": row.text,
        "shared": row.shared_with(couple_id),
        "version": row.version,
    }


def shared_reflection_item(row: Reflection) -> dict:
    return {"user_id": row.user_id, "guide": row.guide, "step": row.step, "text": row.text}


def _progress_stream(user: User) -> str:
    # Linked: the partner sees it. Not linked: only this person's own tabs.
    if user.couple_id is not None:
        return events.couple_stream(user.couple_id)
    return events.user_stream(user.id)


def set_step_state(user: User, step: int, state: str, op_id: str | None = None) -> dict:
    """Set where this person is on one step of their guide."""
    if state not in STEP_STATES:
        raise InvalidInput("Choose not started, working on it, or practising.", "state")
    guide, step = _step_or_404(user, step)
    user_id = user.id
    item = {"user_id": user_id, "guide": guide, "step": step, "state": state}
    # The realtime hot path (bench/realtime.py), so it costs the fewest round trips: one
    # upsert instead of select + insert/update, and no up-front "already applied?" query; a
    # retried op id is refused by applied_ops' unique key instead (events.change.applied).
    stream = _progress_stream(user)
    with events.change(user, op_id, look_first=False) as change:
        seq = _upsert_progress(user_id, guide, step, state, stream)
        change.record(stream, "guide.progress",
                      {"set": {"progress": {progress_key(user_id, guide, step): item}}},
                      seq=seq)
        return change.applied(item)


_UPSERT: dict = {}
_UPSERT_AND_SEQ: dict = {}


def _upsert_progress(user_id: int, guide: str, step: int, state: str, stream: str) -> int:
    """Insert or update one progress row, and take the stream's next seq (its lock): one
    statement on PostgreSQL (a data-modifying WITH), where each round trip is most of a
    change's CPU; the upsert and then the seq on SQLite. Returns the seq."""
    conn = db.session.connection()
    dialect = conn.dialect.name
    values = {"user_id": user_id, "guide": guide, "step": step, "state": state,
              "updated_at": utcnow()}
    if dialect == "postgresql":
        table, ident = events.stream_owner(stream)
        return conn.execute(_upsert_and_seq_statement(table), {**values, "ident": ident}
                            ).scalar_one()
    stmt = _UPSERT.get(dialect)
    if stmt is None:
        # Built once per dialect and run with parameters: building and hashing a statement
        # per change costs more CPU than its round trip.
        table = GuideProgress.__table__
        insert = upsert_insert(dialect, table)
        stmt = _UPSERT[dialect] = insert.on_conflict_do_update(
            index_elements=[table.c.user_id, table.c.guide, table.c.step],
            set_={"state": insert.excluded.state, "updated_at": insert.excluded.updated_at})
    conn.execute(stmt, values)
    return events.next_seq(stream)


def _upsert_and_seq_statement(owner):
    """PostgreSQL: the upsert, then the owner's next seq, in one statement (built once per
    owner table). A typed text: SQLAlchemy does not cache a compiled insert(...).cte()."""
    stmt = _UPSERT_AND_SEQ.get(owner)
    if stmt is None:
        progress, seqs = GuideProgress.__table__, owner.__table__
        stmt = _UPSERT_AND_SEQ[owner] = text(
            f"WITH progress AS (INSERT INTO {progress.name} "
            "(user_id, guide, step, state, updated_at) "
            "VALUES (:user_id, :guide, :step, :state, :updated_at) "
            "ON CONFLICT (user_id, guide, step) "
            "DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at) "
            f"UPDATE {seqs.name} SET last_seq = last_seq + 1 WHERE id = :ident "
            "RETURNING last_seq"
        ).bindparams(bindparam("updated_at", type_=progress.c.updated_at.type))
    return stmt


def _reflection(user: User, guide: str, step: int) -> Reflection | None:
    return db.session.scalar(
        select(Reflection).where(
            Reflection.user_id == user.id, Reflection.guide == guide, Reflection.step == step
        )
    )


def _record_reflection(change, user: User, row: Reflection, was_shared: bool) -> dict:
    """Events for a changed reflection: always to the writer's own tabs; to the couple only
    when it is (or just stopped being) shared. A private reflection never enters the couple room.
    """
    couple_id = user.couple_id
    own = own_reflection_item(row, couple_id)
    key = f"{row.guide}:{row.step}"
    change.record(events.user_stream(user.id), "guide.reflection",
                  {"set": {"reflections": {key: own}}})
    shared_key = progress_key(user.id, row.guide, row.step)
    if row.shared_with(couple_id):
        change.record(events.couple_stream(couple_id), "guide.reflection_shared",
                      {"set": {"shared_reflections": {shared_key: shared_reflection_item(row)}}})
    elif was_shared:
        _take_back_shared_copies(couple_id, shared_key)
        change.record(events.couple_stream(couple_id), "guide.reflection_unshared",
                      {"del": {"shared_reflections": [shared_key]}})
    return own


def _take_back_shared_copies(couple_id: int, shared_key: str) -> None:
    """Unsharing takes the text out of the couple's event log too: a partner's tab that was
    offline and replays the log later must not get a copy of what is private again. Each
    earlier "shared" event keeps its seq (no gap) and becomes the same removal patch."""
    rows = db.session.scalars(
        select(events.Event).where(events.Event.stream == events.couple_stream(couple_id),
                                   events.Event.type == "guide.reflection_shared")
    )
    for row in rows:
        if shared_key in (row.data or {}).get("set", {}).get("shared_reflections", {}):
            row.data = {"del": {"shared_reflections": [shared_key]}}


def save_reflection(user: User, step: int, text: str, base_version: int | None,
                    op_id: str | None = None) -> dict:
    """Save this person's reflection on a step; a save based on an old copy is refused (409)."""
    guide, step = _step_or_404(user, step)
    if not isinstance(text, str):
        raise InvalidInput("A reflection is text.", "text")
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n"))
    if len(text) > MAX_REFLECTION:
        raise InvalidInput(f"Keep a reflection under {MAX_REFLECTION:,} characters.", "text")
    # Locked on the writer's own stream: two retries of one save run one after the other, so
    # the second finds the first's op id (rather than a unique-key error on a new row).
    with events.change(user, op_id, lock=events.user_stream(user.id)) as change:
        # What the quick exit kept for this field is in the saved reflection now: forgotten
        # in the same transaction, so a reload right after never offers it again.
        drafts.forget_draft(user, f"reflection:{guide}:{step}")
        if change.repeated:
            return change.result
        row = _reflection(user, guide, step)
        current_version = row.version if row is not None else 0
        if base_version is not None and base_version != current_version:
            raise Conflict(
                "You changed this reflection somewhere else meanwhile. Here is the saved copy.",
                "text",
                current=own_reflection_item(row, user.couple_id) if row else None,
            )
        if row is None:
            row = Reflection(user_id=user.id, guide=guide, step=step, text=text, version=1)
            db.session.add(row)
        elif row.text == text:
            return own_reflection_item(row, user.couple_id)
        else:
            row.text = text
            row.version += 1
        row.updated_at = utcnow()
        db.session.flush()
        was_shared = row.shared_with(user.couple_id)
        return change.applied(_record_reflection(change, user, row, was_shared))


def share_reflection(user: User, step: int, shared: bool, op_id: str | None = None) -> dict:
    """Share one reflection with the current partner, or take it back."""
    guide, step = _step_or_404(user, step)
    if shared and user.couple_id is None:
        raise InvalidInput("Link with your partner first: there is nobody to share with yet.")
    with events.change(user, op_id, lock=events.user_stream(user.id)) as change:
        if change.repeated:
            return change.result
        row = _reflection(user, guide, step)  # read under the lock
        if row is None or not row.text.strip():
            raise InvalidInput("Write something first; an empty reflection cannot be shared.",
                               "text")
        was_shared = row.shared_with(user.couple_id)
        if was_shared == shared:
            return own_reflection_item(row, user.couple_id)
        row.shared_couple_id = user.couple_id if shared else None
        row.version += 1
        row.updated_at = utcnow()
        db.session.flush()
        return change.applied(_record_reflection(change, user, row, was_shared))


def state_collections(user: User) -> dict:
    """This person's view of guide progress and reflections (see couple/state.py)."""
    out = {"progress": {}, "reflections": {}, "shared_reflections": {}}
    couple = user.couple
    people = [user] + ([couple.partner_of(user)] if couple and couple.partner_of(user) else [])
    for person in people:
        guide = guide_of(person)
        if guide is None:
            continue
        for row in db.session.scalars(
            select(GuideProgress).where(GuideProgress.user_id == person.id,
                                        GuideProgress.guide == guide)
        ):
            out["progress"][progress_key(person.id, guide, row.step)] = progress_item(row)
    mine = guide_of(user)
    if mine:
        for row in db.session.scalars(
            select(Reflection).where(Reflection.user_id == user.id, Reflection.guide == mine)
        ):
            out["reflections"][f"{row.guide}:{row.step}"] = own_reflection_item(row, user.couple_id)
    if couple is not None:
        for row in db.session.scalars(
            select(Reflection).where(Reflection.shared_couple_id == couple.id)
        ):
            if row.user_id in couple.member_ids():
                out["shared_reflections"][progress_key(row.user_id, row.guide, row.step)] = (
                    shared_reflection_item(row)
                )
    return out
