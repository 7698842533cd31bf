"""Changes over the authenticated socket: the same operation as the POST route, without an HTTP
request for each one.

A page's outbox (static/src/live.js `mutate`) sends a change as the socket event
`change` {path, body} while its socket is connected, and as a POST to the same path otherwise.
The path is matched against the app's own URL map, so a change has one address either way,
and the body is what the POST's JSON body would be (with its op id, so a change retried over
the other door is still applied once). Only the routes registered below with `@over_socket`
are served here: the couple's own changes that a page makes with JavaScript (guide progress and
reflections, commitments and their marks, every step of a conversation), none of which has a
rate limit. Pairing, account and sign-in changes, which are rate-limited or reshape the whole
page, stay HTTP only. The page is told their addresses (`path_templates`, in its config) and
POSTs every other change; a `change` for any other path is answered {"http": true}. Forms without
JavaScript always POST.

What a POST gets from Flask, the socket gets here: the login session says who (checked for
every event, couple/sockets.py `authenticated_only`), the socket's Origin was checked when it
connected (a page of another site cannot open it, which is what CSRF tokens guard on HTTP),
and its frames were decoded strictly (no NaN, NUL, lone surrogate or deep nesting reaches an
operation). The ack is sent after the operation has committed, and the partner's screens get
the event after that commit too, exactly as for the route.
"""
import logging
from collections.abc import Callable

from flask import current_app
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from .errors import OperationError
from .extensions import db, socketio
from .sockets import authenticated_only

log = logging.getLogger(__name__)

MAX_PATH = 200
# endpoint -> change(user, body, **url values) -> the result the route answers as JSON
CHANGES: dict[str, Callable] = {}
_ADAPTER = "couple.socket_changes.adapter"
_TEMPLATES = "couple.socket_changes.templates"


def over_socket(endpoint: str):
    """Serve this change (the route `endpoint`'s own code) over the socket too."""
    def register(change: Callable) -> Callable:
        if endpoint in CHANGES:
            raise ValueError(f"{endpoint} is already served over the socket")
        CHANGES[endpoint] = change
        return change
    return register


def check_registered(app) -> None:
    """Every change served here is a POST route of the app (create_app calls this)."""
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    for endpoint in CHANGES:
        rule = rules.get(endpoint)
        if rule is None or "POST" not in (rule.methods or ()):
            raise RuntimeError(f"{endpoint} is served over the socket but is no POST route")


def path_templates() -> list[str]:
    """The addresses of the changes served here, with {name} for each value (the page's
    config: static/src/live.js sends only these over the socket, everything else as a POST)."""
    from .client import url_template

    app = current_app._get_current_object()
    templates = app.extensions.get(_TEMPLATES)
    if templates is None:  # the same for every page: built once per app
        rules = app.url_map
        templates = app.extensions[_TEMPLATES] = [
            url_template(endpoint, *sorted(next(rules.iter_rules(endpoint)).arguments))
            for endpoint in sorted(CHANGES)]
    return templates


def _adapter():
    app = current_app._get_current_object()
    adapter = app.extensions.get(_ADAPTER)
    if adapter is None:
        adapter = app.extensions[_ADAPTER] = app.url_map.bind("localhost")
    return adapter


def _route(path):
    """(change, url values) for a path served here, or None."""
    if not isinstance(path, str) or not path.startswith("/") or len(path) > MAX_PATH:
        return None
    try:
        endpoint, values = _adapter().match(path, method="POST")
    except HTTPException:  # not found, method not allowed, a redirect (a trailing slash)
        return None
    change = CHANGES.get(endpoint)
    return (change, values) if change is not None else None


@socketio.on("change")
def on_change(data=None):
    """{path, body}: run the route's change, answer {"ok": true, "result": ...} or its error."""
    if not isinstance(data, dict):
        return {"error": "That message could not be understood.", "status": 400}
    found = _route(data.get("path"))
    if found is None:
        # Not a change this door serves (or no such page): the page sends it as a POST, which
        # gives it whatever answer the route gives.
        return {"http": True}
    body = data.get("body")
    if not isinstance(body, dict):
        return {"error": "That message could not be understood.", "status": 400}
    change, values = found
    return _run(change, body, values)


@authenticated_only
def _run(change, body, values):
    try:
        result = change(current_user._get_current_object(), body, **values)
    except OperationError as err:
        db.session.rollback()
        return {**err.as_dict(), "status": err.status}
    except Exception:  # noqa: BLE001
        db.session.rollback()
        log.exception("a change over the socket failed (%s)", getattr(change, "__name__", "?"))
        return {"error": "Something went wrong; that change was not saved.", "retry": True,
                "status": 500}
    return {"ok": True, "result": result}
