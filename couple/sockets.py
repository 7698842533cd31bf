"""The Socket.IO connection: authenticated by the login session, rooms chosen by the server.

Every tab of a signed-in person holds one connection. The server puts it in "user:<id>" and,
when linked, "couple:<id>"; a client can never name a room. Changes themselves travel as
`change` events (couple/socket_changes.py), POSTs or the boundaries protocol, and come back to
every tab as "ev" events (realtime.py).

Revocation is the server's guarantee, not the client's courtesy (`guard_server`): a client
cannot run the connect or disconnect handlers by sending an event of that name, a socket the
server cuts leaves its rooms before anything else happens and has its transport closed, and
frames python-socketio cannot decode are refused without a traceback.
"""
import functools
import json
import logging

from engineio import packet as eio_packet
from flask import current_app, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, disconnect, join_room
from socketio import packet as sio_packet
from sqlalchemy import delete, select

from . import events
from .accounts.models import LoginSession, User
from .events import LiveSocket
from .extensions import db, socketio
from .models_base import utcnow
from .web import int_field, loads_checked

log = logging.getLogger(__name__)

# Names python-socketio (and the Socket.IO protocol) give a meaning of their own; a client's
# EVENT packet carrying one of them is never dispatched (issue 10: `42["disconnect"]` ran the
# disconnect handler, which forgot the socket while it stayed in its rooms).
RESERVED_EVENTS = frozenset({
    "connect", "disconnect", "connect_error", "disconnecting", "message", "json", "*",
    "newListener", "removeListener", "error", "ping", "pong", "reconnect",
})
# What a client may send: CONNECT, DISCONNECT, EVENT, ACK, BINARY_EVENT, BINARY_ACK.
CLIENT_PACKETS = frozenset({sio_packet.CONNECT, sio_packet.DISCONNECT, sio_packet.EVENT,
                            sio_packet.ACK, sio_packet.BINARY_EVENT, sio_packet.BINARY_ACK})
MAX_PACKET_ID = 2**53  # the JS client counts its ack ids up from 0
MAX_EVENT_NAME = 64

# Sockets this process is cutting right now (server.disconnect below): their handler must not
# touch the database, whoever cut them has deleted their rows in its own transaction.
_CUT: set[str] = set()
# Sockets cut while their connect handler was still running: refused when it ends.
_CUT_PENDING: set[str] = set()


def authenticated_only(handler):
    """Refuse (and close) a socket whose login session has ended since it connected."""

    @functools.wraps(handler)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            # Its row goes in this greenlet's own transaction (it already holds the
            # connection the user loader used); the disconnect handler then needs none.
            db.session.execute(delete(LiveSocket).where(LiveSocket.sid == request.sid))
            db.session.commit()
            disconnect()
            return {"error": "You are signed out. Log in again.", "status": 401}
        return handler(*args, **kwargs)

    return wrapper


@socketio.on("connect")
def on_connect(auth=None):
    """Any signed-in tab connects; it joins its own rooms. Nobody else is told."""
    if not current_user.is_authenticated:
        raise ConnectionRefusedError("Log in first.")
    session_id = getattr(current_user, "login_session_id", None)
    # The row first (on SQLite the INSERT takes the write lock), then the session read again
    # under a key-share lock (PostgreSQL): a logout, password change or deletion that is
    # committing now either waits for this connect and then finds and cuts this socket, or
    # has committed and this read sees its session gone. Rooms are joined before the commit,
    # so an unlink or a revocation that follows always finds the socket in them.
    live = LiveSocket(sid=request.sid, user_id=current_user.id, login_session_id=session_id,
                      couple_id=current_user.couple_id)
    db.session.add(live)
    db.session.flush()
    row = db.session.execute(
        select(User.id, User.couple_id)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(LoginSession.id == session_id, LoginSession.expires_at > utcnow())
        .with_for_update(read=True, key_share=True, of=LoginSession)
    ).first()
    if row is None:
        db.session.rollback()
        raise ConnectionRefusedError("Log in first.")
    if live.couple_id != row.couple_id:  # a link or unlink committed since the user was loaded
        live.couple_id = row.couple_id
    rooms = [events.user_stream(row.id)]
    if row.couple_id is not None:
        rooms.append(events.couple_stream(row.couple_id))
    for room in rooms:
        join_room(room)
    db.session.commit()


@socketio.on("disconnect")
def on_disconnect(*_reason):
    """A tab went away; forget its socket row (unless the server cut it: then it is gone)."""
    sid = request.sid
    if sid in _CUT:
        return
    try:
        db.session.execute(delete(LiveSocket).where(LiveSocket.sid == sid))
        db.session.commit()
    except Exception:  # noqa: BLE001
        # Never let a database hiccup keep the socket in its rooms: python-socketio only
        # forgets it once this handler has returned. A stale row is harmless (cutting a sid
        # that is gone does nothing).
        db.session.rollback()
        log.exception("could not forget a socket row")


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
    # The streams' last seqs as the login check read them (its one query loads the user and
    # the couple, each with its counter), in this event's transaction: a heartbeat that missed
    # nothing, every ~25 s from every tab, needs no statement of its own. A change committed
    # after that read is for its live event or the next sync, as after any read of `last`.
    out = {
        "user": events.replay(user_room, user_since, limit, last=current_user.last_seq)
        if user_since is not None
        else {"last": current_user.last_seq, "reset": True}
    }
    couple_id = current_user.couple_id
    if couple_id is None or int_field(data, "couple_id") != couple_id:
        # The tab belongs to a couple that ended, or to none while one began: reload.
        changed = couple_id is not None or data.get("couple_id") is not None
        out["couple"] = {"last": None, "reset": changed, "events": []}
    else:
        couple_since = int_field(data, "couple")
        room = events.couple_stream(couple_id)
        couple = current_user.couple
        last = couple.last_seq if couple is not None and couple.id == couple_id else None
        out["couple"] = (
            events.replay(room, couple_since, limit, last=last)
            if couple_since is not None
            else {"last": events.last_seq(room) if last is None else last, "reset": True}
        )
    return out


class SocketEventSessions(SecureCookieSessionInterface):
    """Flask's cookie sessions, without opening the cookie again for every socket event.

    Flask-SocketIO runs each event in a request context built from the socket's environ, and
    Flask opens the session cookie when that context is pushed (HMAC, base64, zlib, JSON:
    ~4% of a change's CPU under load, bench/realtime.py --profile). With manage_session,
    Flask-SocketIO then puts the session it copied at the socket's connect in its place, so
    the cookie was opened for nothing. Once that copy exists (environ["saved_session"]) an
    event gets an empty session here, replaced before its handler runs; the connect itself,
    and every page, open the cookie as before."""

    def open_session(self, app, request):
        if _SAVED_SESSION in request.environ:
            return self.session_class()
        return super().open_session(app, request)


# Where Flask-SocketIO (manage_session=True) keeps a socket's copy of its session.
_SAVED_SESSION = "saved_session"


# ---- the server's own guarantees -----------------------------------------------------------

class BadFrame(ValueError):
    """A frame the server refuses: undecodable, of a type a client may not send, or an event
    with a reserved or malformed name. `id` is the packet's ack id when it could be read."""

    def __init__(self, reason: str, namespace=None, id=None, closes=True):
        super().__init__(reason)
        self.reason = reason
        self.namespace = namespace
        self.id = id
        self.closes = closes


class _CheckedJson:
    """The `json` module python-socketio decodes client packets with (Packet.json)."""

    @staticmethod
    def loads(text, **kwargs):
        return loads_checked(text)

    @staticmethod
    def dumps(value, **kwargs):
        return json.dumps(value, **kwargs)


class SafePacket(sio_packet.Packet):
    """python-socketio's packet, decoding what a client sends strictly (BadFrame otherwise)."""

    json = _CheckedJson

    def decode(self, encoded_packet):
        if not isinstance(encoded_packet, str) or not encoded_packet:
            raise BadFrame("binary data outside of a binary packet")
        head = encoded_packet[:1]
        if not head.isdigit() or int(head) not in CLIENT_PACKETS:
            raise BadFrame("unknown packet type")
        try:
            attachments = super().decode(encoded_packet)
        except BadFrame:
            raise
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            # Bad JSON in an EVENT or ACK: answered (an error ack when it has an id), and the
            # connection stays; anything else (a binary packet, an odd CONNECT) closes it.
            keeps = self.packet_type in (sio_packet.EVENT, sio_packet.ACK)
            raise BadFrame(f"undecodable packet ({type(exc).__name__})",
                           namespace=self.namespace, id=self.id, closes=not keeps) from None
        if self.id is not None and self.id > MAX_PACKET_ID:
            raise BadFrame("packet id out of range", namespace=self.namespace, closes=False)
        if self.namespace is not None and len(self.namespace) > 64:
            raise BadFrame("namespace too long", closes=False)
        if self.packet_type in (sio_packet.EVENT, sio_packet.BINARY_EVENT):
            data = self.data
            if not isinstance(data, list) or not data or not isinstance(data[0], str) \
                    or not data[0] or len(data[0]) > MAX_EVENT_NAME:
                raise BadFrame("an event needs a name", namespace=self.namespace, id=self.id,
                               closes=False)
            if data[0] in RESERVED_EVENTS:
                raise BadFrame("reserved event name", namespace=self.namespace, id=self.id,
                               closes=False)
            if len(data) > 2:
                # Every handler here takes one argument; more would be a TypeError in it.
                raise BadFrame("an event carries one argument", namespace=self.namespace,
                               id=self.id, closes=False)
        elif self.packet_type in (sio_packet.ACK, sio_packet.BINARY_ACK):
            if self.id is None or not isinstance(self.data, list):
                raise BadFrame("malformed ack", namespace=self.namespace, closes=False)
        if attachments and self.packet_type not in (sio_packet.BINARY_EVENT,
                                                    sio_packet.BINARY_ACK):
            raise BadFrame("attachments on a packet that cannot carry them")
        return attachments

    def add_attachment(self, attachment):
        if not isinstance(attachment, (bytes, bytearray)):
            raise BadFrame("a binary attachment must be binary")
        try:
            return super().add_attachment(attachment)
        except (ValueError, TypeError, IndexError, KeyError, RecursionError) as exc:
            raise BadFrame(f"bad binary attachment ({type(exc).__name__})") from None


class SafeEioPacket(eio_packet.Packet):
    """python-engineio's packet; one that cannot be decoded (an empty frame, a type that is
    not a digit, bad base64, JSON nested too deep) reads as CLOSE: the connection ends, as the
    JS server does on a parse error, instead of a traceback out of the websocket loop."""

    json = _CheckedJson

    def decode(self, encoded_packet):
        try:
            return super().decode(encoded_packet)
        except (ValueError, TypeError, IndexError, RecursionError):
            log.warning("refused an Engine.IO packet that could not be decoded")
            self.packet_type, self.data, self.binary = eio_packet.CLOSE, None, False


def guard_server(server) -> None:
    """Install the guarantees above on python-socketio's server (Flask-SocketIO builds it)."""
    # engineio's socket and payload modules look `packet.Packet` up at each use.
    eio_packet.Packet = SafeEioPacket
    server.packet_class = SafePacket
    original_message = server._handle_eio_message
    original_disconnect = server.disconnect
    original_connect = server._handle_connect
    manager = server.manager

    def handle_eio_message(eio_sid, data):
        if not data and eio_sid not in server._binary_packet:
            # An empty MESSAGE: python-socketio's Packet skips decoding it and dispatches an
            # EVENT without data (a TypeError in _handle_event).
            _refuse(server, eio_sid, BadFrame("empty message"))
            return None
        try:
            return original_message(eio_sid, data)
        except BadFrame as refused:
            _refuse(server, eio_sid, refused)
        except ValueError as exc:
            # python-socketio's own refusals of a packet out of place (a binary packet before
            # CONNECT, a client's CONNECT_ERROR); anything else is a bug and stays loud.
            if str(exc) not in _DISPATCH_REFUSALS:
                raise
            _refuse(server, eio_sid, BadFrame(str(exc)))

    def leave_rooms(sid, namespace):
        for room in manager.get_rooms(sid, namespace):
            if room != sid:
                manager.basic_leave_room(sid, namespace, room)

    def cut(sid, namespace="/", ignore_queue=False):
        namespace = namespace or "/"
        if manager.is_connected(sid, namespace):
            # Out of every stream first: whatever happens next (a handler that fails, a
            # client that ignores DISCONNECT), no event of any room reaches it any more.
            eio_sid = manager.eio_sid_from_sid(sid, namespace)
            leave_rooms(sid, namespace)
            _CUT.add(sid)
            try:
                original_disconnect(sid, namespace=namespace, ignore_queue=True)
            finally:
                _CUT.discard(sid)
            _close_transport(server, eio_sid)
        elif manager.is_pre_connected(sid, namespace):
            # Its connect handler is running (waiting on the database): it ends refused.
            leave_rooms(sid, namespace)
            _CUT_PENDING.add(sid)
        elif not ignore_queue:
            # Another process's socket: the queue carries the disconnect there, where this
            # same function runs (PubSubManager._handle_disconnect -> server.disconnect).
            original_disconnect(sid, namespace=namespace)

    def handle_connect(eio_sid, namespace, data):
        original_connect(eio_sid, namespace, data)
        sid = manager.sid_from_eio_sid(eio_sid, namespace or "/")
        if sid is not None and sid in _CUT_PENDING:
            _CUT_PENDING.discard(sid)
            cut(sid, namespace)

    server._handle_eio_message = handle_eio_message
    server.eio.on("message", handle_eio_message)  # engineio holds the method it was given
    server.disconnect = cut
    server._handle_connect = handle_connect


_DISPATCH_REFUSALS = frozenset({"Unexpected binary packet", "Unexpected CONNECT_ERROR packet.",
                                "Unknown packet type."})


def _close_transport(server, eio_sid) -> None:
    """Close the Engine.IO connection without waiting for the client to read anything."""
    if eio_sid is None:
        return
    socket = server.eio.sockets.get(eio_sid)
    if socket is not None:
        try:
            socket.close(wait=False, reason=server.eio.reason.SERVER_DISCONNECT)
        except Exception:  # noqa: BLE001
            log.warning("could not close a socket's transport")


def _refuse(server, eio_sid, refused: BadFrame) -> None:
    """A clear answer to a refused frame: an error ack when it asked for one, else a close."""
    log.warning("refused a socket frame: %s", refused.reason)
    namespace = refused.namespace or "/"
    sid = server.manager.sid_from_eio_sid(eio_sid, namespace)
    if refused.id is not None and sid is not None and server.manager.is_connected(sid, namespace):
        server._send_packet(eio_sid, SafePacket(
            sio_packet.ACK, namespace=namespace, id=refused.id,
            data=[{"error": "That message could not be understood."}]))
    if refused.closes:
        server._binary_packet.pop(eio_sid, None)
        socket = server.eio.sockets.get(eio_sid)
        if socket is not None:
            # What the JS server does on a parse error: close the connection. The disconnect
            # handler forgets the socket's row as for any socket that goes away.
            socket.close(wait=False, reason=server.eio.reason.SERVER_DISCONNECT)
