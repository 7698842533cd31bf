"""The Socket.IO connection: authenticated by the login session, rooms chosen by the server.

Every tab of a signed-in person holds one connection. The server puts it in "user:<id>" and,
when linked, "couple:<id>"; a client can never name a room. Changes themselves travel over
HTTP (or the boundaries protocol) and come back to every tab as "ev" events (realtime.py).
"""
import functools

from flask import current_app, request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, disconnect, join_room
from sqlalchemy import delete

from . import events
from .events import LiveSocket
from .extensions import db, socketio
from .web import int_field


def authenticated_only(handler):
    """Refuse (and close) a socket whose login session has ended since it connected."""

    @functools.wraps(handler)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            disconnect()
            return {"error": "You are signed out. Log in again."}
        return handler(*args, **kwargs)

    return wrapper


def rooms_for(user) -> list[str]:
    rooms = [events.user_stream(user.id)]
    if user.couple_id is not None:
        rooms.append(events.couple_stream(user.couple_id))
    return rooms


@socketio.on("connect")
def on_connect(auth=None):
    """Any signed-in tab connects; it joins its own rooms. Nobody else is told."""
    if not current_user.is_authenticated:
        raise ConnectionRefusedError("Log in first.")
    for room in rooms_for(current_user):
        join_room(room)
    # add, not merge: an Engine.IO sid is new on every connection, and merge would first
    # SELECT it, one more round trip per connect in a reconnect storm.
    db.session.add(
        LiveSocket(
            sid=request.sid,
            user_id=current_user.id,
            login_session_id=getattr(current_user, "login_session_id", None),
            couple_id=current_user.couple_id,
        )
    )
    db.session.commit()


@socketio.on("disconnect")
def on_disconnect(*_reason):
    """A tab went away; forget its socket row."""
    db.session.execute(delete(LiveSocket).where(LiveSocket.sid == request.sid))
    db.session.commit()


@socketio.on("sync")
@authenticated_only
def on_sync(data=None):
    """A tab (on connect, on a gap, and every ~25 s as a heartbeat) asks for what it missed.

    Sent by one tab; answered only to it (the ack): for each stream, the events after the
    sequence number it gives, or {"reset": true} when it must reload its state.
    """
    data = data if isinstance(data, dict) else {}
    limit = current_app.config["EVENT_REPLAY_LIMIT"]
    user_since = int_field(data, "user")
    user_room = events.user_stream(current_user.id)
    out = {
        "user": events.replay(user_room, user_since, limit)
        if user_since is not None
        else {"last": events.last_seq(user_room), "reset": True}
    }
    couple_id = current_user.couple_id
    if couple_id is None or int_field(data, "couple_id") != couple_id:
        # The tab belongs to a couple that ended, or to none while one began: reload.
        changed = couple_id is not None or data.get("couple_id") is not None
        out["couple"] = {"last": None, "reset": changed, "events": []}
    else:
        couple_since = int_field(data, "couple")
        room = events.couple_stream(couple_id)
        out["couple"] = (
            events.replay(room, couple_since, limit)
            if couple_since is not None
            else {"last": events.last_seq(room), "reset": True}
        )
    return out
