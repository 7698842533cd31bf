"""The shared-editor protocol over the authenticated Socket.IO connection.

Every handler: the login session says who (never the payload), `current_couple()` says which
document (a person without an active couple gets an error ack and changes nothing), one
operation does the work, the ack carries its answer. Rooms were joined by couple/sockets.py.
"""
import functools
import logging

from flask import request
from flask_login import current_user

from ..access import current_couple
from ..errors import OperationError
from ..extensions import db, socketio
from ..sockets import authenticated_only
from ..web import op_id_from
from . import operations

log = logging.getLogger(__name__)


def answered(handler):
    """Turn an operation's refusal into an error ack; never let a bad payload crash the socket."""

    @functools.wraps(handler)
    def wrapper(*args):
        try:
            return handler(*args)
        except OperationError as err:
            db.session.rollback()
            return {**err.as_dict(), "status": err.status}
        except Exception:  # noqa: BLE001
            db.session.rollback()
            log.exception("boundaries socket handler failed")
            return {"error": "Something went wrong; that change was not saved.", "retry": True}

    return authenticated_only(wrapper)


def _fields(data) -> dict:
    return data if isinstance(data, dict) else {}


@socketio.on("b:y")
@answered
def on_yjs_message(message=None):
    """An editor's y-protocols message (sync step 1/2, update, awareness).

    Sent by one tab. Step 1 is answered to it alone (the ack); an update is stored, then sent
    as "b:y" to the couple's other tabs; awareness is relayed as "b:aw" to the other tabs.
    """
    couple = current_couple()
    return operations.receive_message(couple, current_user, message, request.sid)


@socketio.on("b:accept")
@answered
def on_accept(data=None):
    """A partner accepts the wording they see ({id, hash}); both partners get the event."""
    data = _fields(data)
    couple = current_couple()
    item = operations.approve_boundary(couple, current_user, data.get("id"), data.get("hash"),
                                       op_id_from(data))
    return {"ok": True, "result": item}


@socketio.on("b:unaccept")
@answered
def on_unaccept(data=None):
    """A partner takes back their acceptance ({id}); both partners get the event."""
    data = _fields(data)
    couple = current_couple()
    result = operations.withdraw_approval(couple, current_user, data.get("id"), op_id_from(data))
    return {"ok": True, "result": result}


@socketio.on("b:remove")
@answered
def on_propose_removal(data=None):
    """A partner proposes removing a boundary ({id}); the second proposal removes it."""
    data = _fields(data)
    couple = current_couple()
    result = operations.propose_removal(couple, current_user, data.get("id"), op_id_from(data))
    return {"ok": True, "result": result}


@socketio.on("b:keep")
@answered
def on_withdraw_removal(data=None):
    """A partner takes back their removal proposal ({id}); both partners get the event."""
    data = _fields(data)
    couple = current_couple()
    result = operations.withdraw_removal(couple, current_user, data.get("id"), op_id_from(data))
    return {"ok": True, "result": result}


@socketio.on("b:settled")
@answered
def on_settled(data=None):
    """An editor stopped typing in a boundary ({id}): its wording goes into the history.

    Sent by one tab; nobody else is told (the history page reads it when opened).
    """
    data = _fields(data)
    couple = current_couple()
    return {"ok": True, "result": operations.record_wording(couple, current_user, data.get("id"))}
