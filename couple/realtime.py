"""The one path from a committed change to every open screen of both partners.

Operations record events (`change.record` inside `couple.events.change`) in their transaction;
the events are emitted here only after the transaction commits, so a partner never sees a
change that was rolled back (Zulip's send_event_on_commit). With COUPLE_REDIS_URL set,
Flask-SocketIO's message queue carries the emit to every process.

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
_COMMITTED = "couple.committed"


def on_commit(action) -> None:
    """Run `action()` once the current transaction has committed; drop it on rollback."""
    db.session.info.setdefault(_PENDING, []).append(action)


@sa_event.listens_for(Session, "after_commit")
def _committed(session):
    # A savepoint's commit is not the transaction's: only the outermost commit counts.
    if session.in_nested_transaction():
        return
    session.info.setdefault(_COMMITTED, []).extend(session.info.pop(_PENDING, []))


@sa_event.listens_for(Session, "after_transaction_end")
def _run_after_commit(session, transaction):
    """The actions of a committed transaction, run once its connection is back in the pool.

    SQLAlchemy calls after_commit while the connection is still checked out; an action that
    needs the database (or runs a socket handler that does) would then wait for a second
    connection, and on the embedded default (one pooled SQLite connection under gevent) it
    waited for its own request: 30 s, then an error (issue 10). Here the request holds none.
    """
    if transaction.parent is not None:
        return
    session.info.pop(_PENDING, None)  # left over from a transaction that ended uncommitted
    for action in session.info.pop(_COMMITTED, []):
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


def emit(name: str, data, room: str, skip_sid: str | None = None) -> None:
    """A message that is not an event to every socket in a room, in every process (but
    `skip_sid`): the boundaries editor's Yjs updates ("b:y", sent after their commit through
    `on_commit` like an event) and presence ("b:aw", never stored)."""
    socketio.emit(name, data, to=room, skip_sid=skip_sid)


def close_room(room: str) -> None:
    """Take every socket, in every process, out of a room at once."""
    socketio.close_room(room)


def disconnect(sids) -> None:
    """Cut these sockets, wherever they are connected (the message queue routes it).

    The caller has already deleted their `live_sockets` rows in its transaction: the socket's
    disconnect handler does not touch the database for a socket the server cut
    (couple/sockets.py `guard_server`), so this never waits for a connection and never runs
    SQL inside the caller's request. A local socket leaves every room first, then gets the
    DISCONNECT packet and its transport is closed: a client that ignores DISCONNECT is out all
    the same. A socket of another process gets the same there, through the queue.
    """
    for sid in sids:
        try:
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
