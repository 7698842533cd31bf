"""After a 429 (too many tries), the page the person was on, with what they typed.

A plain form POST that hits a rate limit used to get a bare error page, and what the person
had typed was gone. Here the form's own page is rendered again from the submitted fields, with
the reason on top. Passwords are the one exception: they are never written back into a page
(they would sit in its HTML), so the note asks for them again. Pages driven by JavaScript
(`live.mutate`) never lose anything: their outbox waits and retries a 429 with the same op id.
"""
import math

from flask import flash, render_template, request

RENDERERS = {}


def renders(endpoint: str):
    """Register how to show `endpoint`'s page again after its POST was rate-limited."""
    def register(fn):
        RENDERERS[endpoint] = fn
        return fn
    return register


def limit_message(err) -> str:
    """"Too many tries" and how long to wait at most, from the limit that was hit."""
    try:
        minutes = max(1, math.ceil(err.limit.limit.get_expiry() / 60))
    except AttributeError:
        return "Too many tries. Please wait a minute and try again."
    if minutes >= 120:
        wait = f"up to {minutes // 60} hours"
    elif minutes >= 60:
        wait = "up to an hour"
    else:
        wait = "a minute" if minutes == 1 else f"up to {minutes} minutes"
    return f"Too many tries. Please wait {wait} and try again."


def page_after_limit(err):
    """The re-rendered page (status 429) for a limited form POST, or None for anything else."""
    if request.method != "POST" or request.is_json:
        return None
    render = RENDERERS.get(request.endpoint)
    if render is None:
        return None
    message = limit_message(err)
    has_password = any("password" in name for name in request.form)
    flash(message + (" What you typed is below; for your safety, type your password again."
                     if has_password else " What you typed is still below."), "error")
    body = render()
    return None if body is None else (body, 429)


@renders("accounts.signup")
def _signup():
    from .accounts.forms import SignupForm

    # Flask-WTF binds the submitted fields; nothing is validated or saved.
    return render_template("accounts/signup.html", form=SignupForm())


@renders("accounts.login")
def _login():
    from .accounts.forms import LoginForm

    return render_template("accounts/login.html", form=LoginForm(), failed=False,
                           failed_message="")


@renders("pairing.code")
def _pair_code():
    from .pairing.routes import index_page

    return index_page(typed_code=str(request.form.get("code", ""))[:20])


@renders("pairing.invite")
def _pair_invite():
    from .pairing.routes import index_page

    return index_page(chosen_role=str(request.form.get("role", "")))


@renders("pairing.accept")
@renders("pairing.decline")
def _pair_answer():
    from .errors import OperationError
    from .pairing.routes import confirm_page

    try:
        return confirm_page()
    except OperationError:
        return None
