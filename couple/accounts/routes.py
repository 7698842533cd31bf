"""Sign up, log in, log out, account settings."""
import hashlib
import hmac
import json
import secrets
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from itsdangerous import BadData, URLSafeSerializer

from ..errors import InvalidInput
from ..extensions import db, limiter
from ..guides import drafts
from ..web import SOCKET_IO_ENDPOINT, _same_site, payload, wants_json
from . import devices, operations
from .forms import DeleteForm, LoginForm, PasswordForm, SignupForm

bp = Blueprint("accounts", __name__)
LOGIN_FAILED = "That email and password do not match an account."


def _safe_next(target: str | None) -> str:
    # Only a local path: never an open redirect to another site.
    if (target and target.startswith("/") and not target.startswith("//")
            and not urlsplit(target).netloc):
        return target
    return url_for("core.home")


# ---- login throttling (OWASP Authentication Cheat Sheet, "device cookies") ------------------
# A lockout per account lets anyone keep the owner out of their own account (issue 10: a
# partner typing ten wrong passwords locked the other out for 15 minutes, again and again).
# Instead: a browser that has signed in to an account before carries a signed device cookie
# for it, and its tries are counted for that device alone. Everyone else (untrusted clients)
# is counted per account *and* client address, per address across accounts (credential
# stuffing from one client), and all together per account as a last ceiling. Only failed
# tries count, the windows are short (slow down rather than lock), and the owner is told how
# many wrong passwords were typed for their account at their next sign-in.
DEVICE_COOKIE = "couple_device"
DEVICE_DAYS = 365
LOGIN_PER_CLIENT = "5 per minute; 20 per hour"     # one account, from one device or address
LOGIN_PER_ADDRESS = "10 per minute; 100 per hour"  # one untrusted address, any accounts
LOGIN_PER_ACCOUNT = "60 per hour"                  # one account, every untrusted client


def _login_email() -> str:
    email = request.form.get("email")
    if email is None and request.is_json:
        data = request.get_json(silent=True)
        email = data.get("email") if isinstance(data, dict) else None
    return operations.normalize_email(email if isinstance(email, str) else "")


def _email_tag(email: str) -> str:
    # The cookie names the account by a keyed hash, never by its address.
    return hmac.new(current_app.config["SECRET_KEY"].encode(), email.encode(),
                    hashlib.sha256).hexdigest()[:32]


def _device_signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="couple-device")


def _trusted_device() -> str | None:
    """This browser's device id, if its device cookie was issued for the typed account."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw or len(raw) > 300:
        return None
    try:
        data = _device_signer().loads(raw)
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("a") != _email_tag(_login_email()):
        return None
    device = data.get("d")
    return device if isinstance(device, str) and len(device) <= 64 else None


def _is_trusted() -> bool:
    return _trusted_device() is not None


def _account_client_key() -> str:
    device = _trusted_device()
    if device is not None:
        return f"login:device:{device}"
    return f"login:client:{_login_email()}:{get_remote_address()}"


def _account_key() -> str:
    return "login:account:" + _login_email()


def _failed(response) -> bool:
    return response.status_code == 400


def _issue_device_cookie(response, email: str):
    value = _device_signer().dumps({"a": _email_tag(email), "d": secrets.token_urlsafe(16)})
    response.set_cookie(DEVICE_COOKIE, value, max_age=DEVICE_DAYS * 86400, httponly=True,
                        samesite="Lax", secure=current_app.config.get("SESSION_COOKIE_SECURE",
                                                                       False))
    return response


def _begin(user, remember: bool) -> None:
    # A fresh session on every login: nothing from before (fixation) carries over.
    session.clear()
    operations.start_session(user, remember=remember)
    login_user(user, remember=remember)
    devices.describe_new_session(user, request.headers.get("User-Agent"))


@bp.before_app_request
def _mark_device_used():
    # The account page's rough "last used" day for this browser: one write a day at most.
    if (request.endpoint in (None, "static", "accounts.quick_exit", SOCKET_IO_ENDPOINT)
            or not current_user.is_authenticated):
        return
    devices.mark_used(current_user)


def _signup_address_key() -> str:
    return "signup:address:" + _login_email()


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit("10 per minute; 50 per day", methods=["POST"])
# One address, from any clients: its owner gets a note for each try on a taken address, and
# nobody may fill their inbox with them. The same for every address, so it tells nothing.
# Only accepted sign-ups count: a person correcting a too-short password is not held up.
@limiter.limit("5 per hour", key_func=_signup_address_key, methods=["POST"],
               deduct_when=lambda response: response.status_code == 303)
def signup():
    """Create an account; every sign-up lands on "check your inbox"."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = SignupForm()
    if form.validate_on_submit():
        from . import recovery

        try:
            recovery.sign_up(form.email.data, form.display_name.data, form.password.data)
        except InvalidInput as err:
            getattr(form, err.field or "email").errors.append(err.message)
        else:
            # The same answer whether the address was new (the account is ready, a link to
            # confirm the address is on its way) or already had an account (its owner got a
            # note): sign-up does not tell who has an account, so it signs nobody in.
            return redirect(url_for("accounts.signup_sent", next=request.args.get("next")),
                            code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/signup.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_PER_CLIENT, key_func=_account_client_key, methods=["POST"],
               deduct_when=_failed)
@limiter.limit(LOGIN_PER_ADDRESS, methods=["POST"], exempt_when=_is_trusted,
               deduct_when=_failed)
@limiter.limit(LOGIN_PER_ACCOUNT, key_func=_account_key, methods=["POST"],
               exempt_when=_is_trusted, deduct_when=_failed)
def login():
    """Sign in; an unknown email and a wrong password get the same answer."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        user = operations.authenticate(form.email.data, form.password.data)
        if user is not None:
            _begin(user, remember=form.remember.data)
            missed = operations.take_failed_logins(user)
            if missed:
                flash(f"Since you last signed in, a wrong password was typed for your account "
                      f"{missed} time{'' if missed == 1 else 's'}. If that was not you, "
                      f"consider changing your password on your account page.", "info")
            response = redirect(_safe_next(request.args.get("next")), code=303)
            return _issue_device_cookie(response, user.email)
        # A mistyped address is told plainly (that tells nothing about who has an account);
        # it is checked only after the password, so an account made before the check still works.
        problem = operations.email_problem(operations.normalize_email(form.email.data))
        if problem:
            form.email.errors.append(problem)
        else:
            failed = True
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/login.html", form=form, failed=failed,
                           failed_message=LOGIN_FAILED), status


@bp.post("/logout")
@login_required
def logout():
    """Sign this browser out: its session ends on the server and its sockets close."""
    operations.end_session(current_user)
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("accounts.login"), code=303)


@bp.route("/account", methods=["GET"])
@login_required
def account():
    """Your account: password, sessions, export, deletion."""
    return _account_page(PasswordForm(), DeleteForm())


def _account_page(form, delete_form, status=200, email_form=None):
    from .forms import ConfirmForm, EmailForm

    return render_template("accounts/account.html", form=form, delete_form=delete_form,
                           email_form=email_form or EmailForm(formdata=None),
                           confirm_form=ConfirmForm(formdata=None),
                           devices=devices.devices_of(current_user)), status


@bp.post("/account/devices/<int:device_id>/end")
@login_required
@limiter.limit("60 per hour")
def end_device(device_id):
    """Sign one of your devices out at once (its open pages too); another person's is a 404."""
    label = next((d.label for d in devices.devices_of(current_user) if d.id == device_id), None)
    if devices.end_device(current_user, device_id):
        logout_user()
        session.clear()
        flash("This device is signed out.", "info")
        return redirect(url_for("accounts.login"), code=303)
    flash(f"Signed out: {label}. Its open pages have closed.", "success")
    return redirect(url_for("accounts.account", _anchor="devices"), code=303)


EXIT_BODY_LIMIT = 200 * 1024


def _exit_fields() -> dict:
    """The unsent fields a quick exit sends: {"drafts": {key: text}} as JSON, or a form field
    `drafts` holding that JSON (sendBeacon). Anything else is read as no drafts: the exit
    itself must never fail on what the page sent."""
    raw = None
    if request.is_json:
        raw = request.get_data(cache=True, as_text=False)[:EXIT_BODY_LIMIT]
    elif request.form.get("drafts"):
        raw = request.form["drafts"].encode("utf-8", "replace")[:EXIT_BODY_LIMIT]
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return {}
    if isinstance(data, dict) and "drafts" in data:
        data = data["drafts"]
    return data if isinstance(data, dict) else {}


@bp.post("/exit")
def quick_exit():
    """Quick exit (the page leaves at once and sends this on its way out): keep what was being
    typed as private drafts, end this browser's session and its sockets, and ask the browser to
    drop what it cached of this site. Always 204: there is nobody to show an answer to."""
    if current_user.is_authenticated:
        user = current_user._get_current_object()
        drafts.keep_drafts(user, _exit_fields())
        db.session.flush()
        # One commit: the drafts are kept and the session ends together.
        operations.end_login_session(user.login_session_id)
        logout_user()
    session.clear()
    # This answer sets no cookie at all. It is a keepalive request that outlives the page and
    # may come back late (the server closes the session's sockets before answering): by then
    # the person may have signed in again in this browser, and a Set-Cookie here (clearing the
    # session or remember cookie) would sign that newer session out. Nothing needs clearing:
    # the cookies name the login session deleted above, which signs nobody in any more.
    session.modified = False
    response = Response(status=204)
    # The browser's HTTP cache and this site's storage go; "cookies" is left out: it would sign
    # the person out of every site under the same registrable domain.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


@bp.post("/account/password")
@login_required
@limiter.limit("10 per hour")
def change_password():
    """Change your password; every other signed-in device is signed out."""
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            operations.change_password(current_user, form.current_password.data,
                                       form.new_password.data)
        except InvalidInput as err:
            getattr(form, err.field or "new_password").errors.append(err.message)
        else:
            flash("Password changed. Every other device has been signed out.", "success")
            return redirect(url_for("accounts.account"), code=303)
    return _account_page(form, DeleteForm(formdata=None), 400)


@bp.get("/account/export")
@login_required
@limiter.limit("30 per hour")
def export():
    """Download everything of yours as JSON (your private notes too, never your partner's)."""
    body = json.dumps(operations.export_account(current_user), ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        # A neutral file name: a downloads folder is as visible as a page title.
        "Content-Disposition": 'attachment; filename="couple-export.json"',
    })


@bp.post("/account/delete")
@login_required
@limiter.limit("10 per hour")
def delete():
    """Delete your account for good (password again): unlinks first, then erases your data."""
    form = DeleteForm()
    if form.validate_on_submit():
        try:
            operations.delete_account(current_user, form.password.data)
        except InvalidInput as err:
            form.password.errors.append(err.message)
        else:
            logout_user()
            session.clear()
            # A page of its own, not a flash: the account's other tabs are cut at this moment
            # and load the login page, and a flash kept in the shared session cookie could be
            # taken by them (or overwritten) before this tab lands (issue 10).
            return redirect(url_for("accounts.deleted"), code=303)
    return _account_page(PasswordForm(formdata=None), form, 400)


@bp.post("/drafts/discard")
@login_required
def discard_draft():
    """Throw away text a quick exit kept for you (only ever your own), or forget it once the
    page saved it elsewhere."""
    key = payload().get("key")
    drafts.discard_draft(current_user, key if isinstance(key, str) else "")
    if wants_json():
        return {"ok": True}
    back = request.referrer if _same_site(request.referrer) else url_for("core.home")
    return redirect(back, code=303)


@bp.get("/account/deleted")
def deleted():
    """Where a deletion lands: says it is done. It names nobody, so it is the same for all."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    return render_template("accounts/deleted.html")


# The recovery and address routes live on this blueprint too.
from . import recovery_routes  # noqa: E402, F401
