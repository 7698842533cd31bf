"""What every page shares: security headers, error pages, and the JSON-or-form helpers."""
import gzip
import hashlib
import re
from functools import lru_cache
from pathlib import Path

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

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


def payload() -> dict:
    """The request's fields, from JSON or a form. A body that is not JSON or not an object reads
    as no fields; one nested too deep for the parser (silent=True does not catch its
    RecursionError, which was a 500 and a traceback) is a clear 400."""
    if request.is_json:
        try:
            data = request.get_json(silent=True)
        except RecursionError:
            raise InvalidInput("That request is nested too deeply to read.") from None
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
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 12:
        return int(value)
    return None


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
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        # same-origin: invitation links carry a token, and no path may leak to another site;
        # but our own POSTs must carry a Referer: over https Flask-WTF's CSRF check refuses a
        # POST without one (WTF_CSRF_SSL_STRICT), so "no-referrer" broke every form on https.
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Permissions-Policy", "geolocation=(), camera=(), microphone=()")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
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
        if err.code == 429:
            # How long to wait, and the form's own page again with what was typed.
            from .ratelimited import limit_message, page_after_limit

            message = limit_message(err)
            page = None if wants_json() or request.path.startswith("/api/") else page_after_limit(err)
            if page is not None:
                return page
        if wants_json() or request.path.startswith("/api/"):
            return jsonify({"error": message}), err.code
        return render_template("errors/error.html", code=err.code, message=message), err.code


def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)
