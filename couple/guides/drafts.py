"""Drafts: what a person was typing when they left by the quick exit, kept for them alone.

A quick exit must leave at once, and must not throw away a half-written reflection. The page
sends its unsent fields with the exit request (static/src/quickexit.js); they are stored here,
on the server, for that person only: never in the browser (a shared device's storage is
readable by whoever uses it next), never in an event, never in the partner's state or export.
After signing in again the page that had the field shows the text back, marked as not saved.

A field names its draft with `data-draft="<key>"`; the key is a label on the person's own row,
nothing is looked up by it, so it needs only a shape: `reflection:<guide>:<step>`,
`commitment:new`, `commitment:<id>:wording`, `mark:<id>:<day>`, `ack:<id>:<day>`.
"""
import re
import unicodedata
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models_base import UTCDateTime, utcnow

KEY = re.compile(r"^[a-z]{2,12}(?::[A-Za-z0-9_-]{1,20}){1,3}$")
MAX_TEXT = 10_000
MAX_DRAFTS = 20  # per person: a page has a handful of text fields; this only caps abuse


class Draft(db.Model):
    """One unsent field of one person, kept by a quick exit."""

    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def clean_text(value) -> str | None:
    """The text as it can be stored, or None when it is not text a person typed.

    NUL and other control characters (but newlines and tabs) go, lone surrogates go (they
    cannot be stored as UTF-8), over-long text is cut to MAX_TEXT characters: a draft is a
    rescue, so it keeps what it can rather than refusing everything.
    """
    if not isinstance(value, str):
        return None
    value = value.encode("utf-8", "replace").decode("utf-8") if _has_surrogates(value) else value
    value = "".join(c for c in value if c in "\n\t" or unicodedata.category(c) != "Cc")
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n"))[:MAX_TEXT]
    return value if value.strip() else None


def _has_surrogates(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def keep_drafts(user, fields) -> int:
    """Store the unsent fields a quick exit sent; returns how many were kept. Bad entries are
    skipped (the exit itself must never fail). Does not commit."""
    if not isinstance(fields, dict):
        return 0
    kept = 0
    existing = {d.key: d for d in db.session.scalars(select(Draft).where(Draft.user_id == user.id))}
    for key, value in list(fields.items())[: MAX_DRAFTS * 2]:
        text = clean_text(value)
        if not isinstance(key, str) or not KEY.match(key) or text is None:
            continue
        row = existing.get(key)
        if row is None:
            if len(existing) >= MAX_DRAFTS:
                continue
            row = existing[key] = Draft(user_id=user.id, key=key, text=text)
            db.session.add(row)
        else:
            row.text = text
            row.updated_at = utcnow()
        kept += 1
    return kept


def drafts_for(user) -> dict[str, str]:
    """This person's kept drafts, {key: text}; only ever rendered into their own pages."""
    if user is None or not getattr(user, "is_authenticated", False):
        return {}
    return dict(db.session.execute(
        select(Draft.key, Draft.text).where(Draft.user_id == user.id)).all())


def forget_draft(user, key: str) -> bool:
    """Forget one kept draft in the caller's transaction (an operation that saved its text
    calls this inside its events.change, so both commit together)."""
    if not isinstance(key, str) or not KEY.match(key):
        return False
    return bool(db.session.execute(
        delete(Draft).where(Draft.user_id == user.id, Draft.key == key)).rowcount)


def discard_draft(user, key: str) -> bool:
    """Forget one kept draft (thrown away by its writer: the page's own discard). Commits."""
    gone = forget_draft(user, key)
    db.session.commit()
    return gone


def export_drafts(user) -> list[dict]:
    return [{"field": d.key, "text": d.text, "updated_at": d.updated_at}
            for d in db.session.scalars(
                select(Draft).where(Draft.user_id == user.id).order_by(Draft.key))]
