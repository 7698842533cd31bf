"""What every page shares: security headers, error pages, and the JSON-or-form helpers."""
import gzip
import hashlib
import json
import math
import re
from functools import lru_cache
from pathlib import Path

from flask import Request, flash, jsonify, redirect, render_template, request, url_for
from flask.json.provider import DefaultJSONProvider
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.routing import IntegerConverter

from .client import client_config
from .errors import InvalidInput, OperationError

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
OP_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json"


# Ids are 32-bit on PostgreSQL (SERIAL) and 64-bit on SQLite; a larger one named in a URL or a
# body is simply not an id of anything, never an OverflowError or a psycopg DataError.
MAX_ID = 2**31 - 1
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    # same-origin: invitation links carry a token, and no path may leak to another site; but
    # our own POSTs must carry a Referer: over https Flask-WTF's CSRF check refuses a POST
    # without one (WTF_CSRF_SSL_STRICT), so "no-referrer" broke every form on https.
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Permissions-Policy", "geolocation=(), camera=(), microphone=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


# Where engine.io answers (socketio.init_app's `path`, the URL map's rule for socket events,
# the headers middleware below and app.py's drain all use this one; the browser's Socket.IO
# client uses the same default).
SOCKET_IO_PATH = "/socket.io/"


def socket_io_middleware(wsgi_app, path: str = SOCKET_IO_PATH):
    """WSGI middleware for the Socket.IO path, which engine.io answers itself, before Flask.

    - Its answers (long-polling ones carry the couple's events) get the pages' security
      headers and no-store too.
    - A WebSocket is opened without permessage-deflate, which every browser offers and
      simple-websocket would accept: its zlib compressor, kept for the socket's life from the
      first frame, and the decompressor for the browser's compressed frames cost ~100 KiB per
      idle socket (69 -> 167 KiB on the bare relay, bench/socket_memory.py), to shrink frames
      of a few hundred bytes. Engine.io's own server turned it off by default for that
      reason. Without the offer in the environ, simple-websocket's handshake answers none.
    """

    def app(environ, start_response):
        if not environ.get("PATH_INFO", "").startswith(path):
            return wsgi_app(environ, start_response)
        environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)

        def with_headers(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            extra = [(n, v) for n, v in (*SECURITY_HEADERS, ("Cache-Control", "no-store"))
                     if n.lower() not in present]
            return start_response(status, [*headers, *extra], exc_info)

        return wsgi_app(environ, with_headers)

    return app


# The URL map's rule for the Socket.IO path (couple._route_socket_events): socket events match it.
SOCKET_IO_ENDPOINT = "socket_io"


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` in every route: only ids the database can hold (anything else is a 404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


class UnstorableValue(ValueError):
    """A NUL or a lone surrogate in what a client sent: text no database column can keep."""


class UnstorableText(BadRequest):
    """The 400 for that, in words a person can act on (a form's field, a pasted character)."""

    description = ("Something you typed contains a character that cannot be saved (a NUL or a "
                   "broken character, often from pasting). Remove it and try again.")


class CheckedRequest(Request):
    """Flask's request, answering a JSON body with unstorable text as UnstorableText."""

    def on_json_loading_failed(self, e):
        if isinstance(e, UnstorableValue):
            raise UnstorableText()
        return super().on_json_loading_failed(e)


class CheckedJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, reading request bodies the way couple/sockets.py reads socket
    frames: nesting past 32 levels, NaN/Infinity (and 1e400), integers past 2^53, lone
    surrogates and NUL characters are a ValueError, which Flask answers with a 400
    (`silent=True` turns it into "no body"). json.loads' own RecursionError (JSON nested
    ~60,000 deep) becomes that ValueError too instead of a 500."""

    def loads(self, s, **kwargs):
        if isinstance(s, (bytes, bytearray)):
            try:
                s = s.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError("not UTF-8") from None
        return loads_checked(s)


MAX_DEPTH = 32  # nesting of anything a client sends; the app's own messages use 4 at most
MAX_JSON_INT = 2**53  # what a browser's JSON.stringify can write exactly


def _check_value(value) -> None:
    """Depth, finite numbers, ints a browser can send, strings that are real text."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError("too deep")
        if isinstance(item, dict):
            for key, child in item.items():
                stack.append((key, depth + 1))
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ValueError("not a finite number")
        elif isinstance(item, int) and not isinstance(item, bool):
            if abs(item) > MAX_JSON_INT:
                raise ValueError("number too large")
        elif isinstance(item, str):
            if "\x00" in item:
                raise UnstorableValue("NUL character")  # PostgreSQL cannot store it in text
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    raise UnstorableValue("lone surrogate") from None


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def loads_checked(text: str):
    """json.loads for what a client sends: no NaN/Infinity (or 1e400), no nesting past
    MAX_DEPTH, no integer past 2^53, no NUL, no lone surrogate; every failure is a
    ValueError, never a RecursionError."""
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("too deep") from None
    _check_value(value)
    return value


def _refuse_unstorable_text() -> None:
    """A NUL (which PostgreSQL cannot store in text) or a lone surrogate (which no encoder
    writes) anywhere in a form, the query or the URL: 400 before any view runs."""
    def bad(text) -> bool:
        if "\x00" in text:
            return True
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                return True
        return False

    values = list((request.view_args or {}).values())
    for multi in (request.args,) + ((request.form,) if request.method == "POST"
                                    and not request.is_json else ()):
        for key, items in multi.lists():
            values.append(key)
            values.extend(items)
    if any(isinstance(v, str) and bad(v) for v in values):
        raise UnstorableText()


def payload() -> dict:
    """The request's fields, from JSON or a form. A JSON body that is not valid (see
    CheckedJSONProvider) is a 400; one that is not an object reads as no fields."""
    if request.is_json:
        data = request.get_json(silent=False)
        return data if isinstance(data, dict) else {}
    return request.form.to_dict()


def op_id_from(data: dict) -> str | None:
    """The client's op id, if it is a well-formed one (anything else is treated as absent)."""
    value = data.get("op_id")
    if isinstance(value, str) and OP_ID.match(value):
        return value
    return None


def int_field(data: dict, name: str) -> int | None:
    value = data.get(name)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -MAX_ID <= value <= MAX_ID else None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 12:
        number = int(value)
        return number if -MAX_ID <= number <= MAX_ID else None
    return None


def version_field(data: dict) -> int | None:
    """The version a change was based on (the stale-copy guard), or None when the page sent
    none. Anything else that is not a whole number in range (2**64, true, "abc", -1) is
    refused: read as absent, it would apply the change without the guard it asked for."""
    value = data.get("version")
    if value is None or value == "":
        return None
    number = int_field(data, "version")
    if number is None or number < 0:
        raise InvalidInput("That version could not be read. Reload the page and try again.",
                           "version")
    return number


def done(result, *, then: str, message: str | None = None):
    """Answer a mutation: JSON for fetch, a redirect (with a flash) for a plain form."""
    if wants_json():
        return jsonify({"ok": True, "result": result})
    if message:
        flash(message, "success")
    return redirect(then, code=303)


# Only the bundles and the style sheet travel gzipped: compressing pages that carry a CSRF token
# next to text a user typed would let a BREACH-style attacker guess the token by their sizes.
COMPRESSIBLE = {"text/javascript", "application/javascript", "text/css"}


@lru_cache(maxsize=64)
def _gzipped(data: bytes) -> bytes:
    # Keyed by the content itself: a rebuilt bundle is compressed once, then served from memory.
    return gzip.compress(data, compresslevel=9, mtime=0)


def _gzip_static(response):
    if (
        response.status_code != 200
        or response.mimetype not in COMPRESSIBLE
        or "gzip" not in request.headers.get("Accept-Encoding", "")
        or "Content-Encoding" in response.headers
    ):
        return response
    response.direct_passthrough = False
    original = response.response
    data = response.get_data()
    if hasattr(original, "close"):
        original.close()  # the file Flask opened for send_file
    body = _gzipped(data)
    response.set_data(body)
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    if response.get_etag()[0]:
        response.set_etag(response.get_etag()[0] + "-gz")
    return response


def init_web(app) -> None:
    static = Path(app.static_folder)
    app.json = CheckedJSONProvider(app)
    app.request_class = CheckedRequest
    app.before_request(_refuse_unstorable_text)

    @lru_cache(maxsize=256)
    def asset(path: str) -> str:
        # A content hash in the URL: browsers may cache static files, never a stale one.
        file = static / path
        version = hashlib.sha256(file.read_bytes()).hexdigest()[:12] if file.exists() else "0"
        return url_for("static", filename=path, v=version)

    @app.context_processor
    def page_globals():
        return {"asset": asset if not app.debug else asset.__wrapped__,
                "nav_endpoints": app.view_functions, "client_config": client_config}

    @app.after_request
    def security_headers(response):
        h = response.headers
        for name, value in SECURITY_HEADERS:
            h.setdefault(name, value)
        if request.endpoint != "static":
            # Intimate pages must not be kept by a shared computer's cache or back button.
            h["Cache-Control"] = "no-store"
        else:
            response = _gzip_static(response)
            h = response.headers
        if request.endpoint == "static" and request.args.get("v") and response.status_code == 200:
            # asset() puts the file's content hash in the URL: that URL never changes meaning.
            response.cache_control.public = True
            response.cache_control.max_age = 31536000
            response.cache_control.immutable = True
        return response

    @app.errorhandler(OperationError)
    def operation_error(err: OperationError):
        if wants_json():
            return jsonify(err.as_dict()), err.status
        if err.status in (403, 404):
            # Not something the person can fix by editing the form: say so, with the status.
            return render_template("errors/error.html", code=err.status,
                                   message=err.message), err.status
        # A mistake they can correct (400) or a change made elsewhere meanwhile (409): back to
        # the page they came from, with the reason on top.
        flash(err.message, "error")
        return redirect(request.referrer if _same_site(request.referrer) else url_for("core.home"),
                        code=303)

    @app.errorhandler(CSRFError)
    def csrf_error(err):
        message = "This form has expired. Reload the page and try again."
        if wants_json():
            return jsonify({"error": message}), 400
        return render_template("errors/error.html", code=400, message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        messages = {
            400: "That request could not be understood.",
            404: "There is nothing here.",
            405: "That is not something this page does.",
            413: "That is more than we can take in one go.",
            429: "Too many tries. Please wait a minute and try again.",
        }
        message = messages.get(err.code, err.description)
        if isinstance(err, UnstorableText):
            message = err.description
        if err.code == 429:
            # How long to wait, and the form's own page again with what was typed.
            from .ratelimited import limit_message, page_after_limit

            message = limit_message(err)
            page = (None if wants_json() or request.path.startswith("/api/")
                    else page_after_limit(err))
            if page is not None:
                return page
        if wants_json() or request.path.startswith("/api/"):
            return jsonify({"error": message}), err.code
        return render_template("errors/error.html", code=err.code, message=message), err.code


def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)
