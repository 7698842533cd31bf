"""The one path from a committed change to every open screen of both partners.

Operations record events (`couple.events.record`) inside their transaction; the events are
emitted here only after the transaction commits, so a partner never sees a change that was
rolled back (Zulip's send_event_on_commit). With COUPLE_REDIS_URL set, Flask-SocketIO's
message queue carries the emit to every process.

Every event's `data` is a state patch: {"set": {collection: {key: value}}, "del": {collection:
[key, ...]}}. The browser (static/src/live.js) and `apply_event` below apply it the same way,
which is what lets the event-contract tests prove initial state + events == a fresh fetch.
"""
import logging

from flask_sqlalchemy.session import Session
from sqlalchemy import event as sa_event

from .extensions import db, socketio

log = logging.getLogger(__name__)
_PENDING = "couple.after_commit"


def on_commit(action) -> None:
    """Run `action()` once the current transaction has committed; drop it on rollback."""
    db.session.info.setdefault(_PENDING, []).append(action)


@sa_event.listens_for(Session, "after_commit")
def _run_after_commit(session):
    for action in session.info.pop(_PENDING, []):
        try:
            action()
        except Exception:  # noqa: BLE001
            # The change is committed and in the event log; a client that missed this emit
            # gets it on its next sync. Never turn a saved change into an error page.
            log.exception("after-commit action failed")


@sa_event.listens_for(Session, "after_rollback")
@sa_event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session, *args):
    session.info.pop(_PENDING, None)


def emit_event(room: str, envelope: dict) -> None:
    socketio.emit("ev", envelope, to=room)


def close_room(room: str) -> None:
    """Take every socket, in every process, out of a room at once."""
    socketio.close_room(room)


def disconnect(sids) -> None:
    """Close these sockets, wherever they are connected (the message queue routes it)."""
    from flask import current_app, has_app_context

    for sid in sids:
        try:
            if has_app_context():
                # A local socket's disconnect handler runs right here, and it writes: give it
                # an app context (so a database session) of its own; the caller's session is
                # mid-commit when this runs after a commit and may emit no more SQL.
                with current_app.app_context():
                    socketio.server.disconnect(sid, namespace="/")
            else:
                socketio.server.disconnect(sid, namespace="/")
        except Exception:  # noqa: BLE001
            # One socket failing to close must not leave the others of this user open.
            log.exception("could not disconnect a socket")


def apply_event(state: dict, envelope: dict) -> dict:
    """Apply one event's state patch to a client state (the twin of live.js applyEvent)."""
    data = envelope["data"]
    for collection, items in data.get("set", {}).items():
        state.setdefault(collection, {}).update(items)
    for collection, keys in data.get("del", {}).items():
        bucket = state.setdefault(collection, {})
        for key in keys:
            bucket.pop(key, None)
    return state
