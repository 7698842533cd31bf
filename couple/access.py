"""Reusable access checks: load something *for this user*, or 404 (never 403, never a hint)."""
from flask_login import current_user
from sqlalchemy import bindparam, select

from .errors import NotFound
from .extensions import db


def couple_of(user):
    """This person's active couple; NotFound when they have none."""
    couple = user.active_couple if user is not None else None
    if couple is None:
        raise NotFound("Link with your partner first.")
    return couple


def current_couple():
    """The signed-in person's active couple; NotFound when they have none."""
    return couple_of(current_user if current_user.is_authenticated else None)


def couple_row(user, model, row_id):
    """The `model` row with this id if it belongs to this person's active couple (its
    `couple_id`), freshly read; NotFound otherwise, whatever the id is (a bool, a string, a
    float or an id of another couple's row all look the same)."""
    couple = couple_of(user)
    row = db.session.scalar(_row_statement(model),
                            {"row_id": checked_row_id(row_id), "couple_id": couple.id})
    if row is None:
        raise NotFound()
    return row


def checked_row_id(row_id) -> int:
    """An id as given in a URL or a message, if it can be one: NotFound for a bool, a string or
    a float, as for an id of another couple's row."""
    if not isinstance(row_id, int) or isinstance(row_id, bool):
        raise NotFound()
    return row_id


_ROW_STATEMENTS: dict = {}


def _row_statement(model):
    """Built once per model: every mark, acknowledgement and edit reads its row here, and
    building and hashing a new statement per call cost more CPU than running it."""
    stmt = _ROW_STATEMENTS.get(model)
    if stmt is None:
        stmt = _ROW_STATEMENTS[model] = (
            select(model)
            .where(model.id == bindparam("row_id"), model.couple_id == bindparam("couple_id"))
            .execution_options(populate_existing=True))
    return stmt
