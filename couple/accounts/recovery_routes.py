"""Routes of account recovery and confirmed addresses (couple/accounts/recovery.py).

On the accounts blueprint. Every answer that could tell whether an address has an account
(forgot password, sign-up, change of address) is the same for all addresses.
"""
from flask import flash, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, logout_user

from ..errors import InvalidInput
from ..extensions import limiter
from . import operations, recovery
from .forms import ConfirmForm, EmailForm, ForgotForm, ResetForm
from .routes import _login_email, _safe_next, bp

FORGOT_PER_CLIENT = "10 per hour"   # one client, any addresses
FORGOT_PER_ADDRESS = "5 per hour"   # one address, from any clients (mail bombing)
LINK_PER_CLIENT = "30 per hour"     # opening / using mailed links


def _forgot_address_key() -> str:
    return "forgot:address:" + _login_email()


def _forgot_client_key() -> str:
    return "forgot:client:" + get_remote_address()


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(FORGOT_PER_CLIENT, key_func=_forgot_client_key, methods=["POST"])
@limiter.limit(FORGOT_PER_ADDRESS, key_func=_forgot_address_key, methods=["POST"])
def forgot():
    """Ask for a recovery link; the answer is the same whether or not the address has an
    account (and whether it is confirmed)."""
    form = ForgotForm()
    if form.validate_on_submit():
        email = operations.normalize_email(form.email.data)
        problem = operations.email_problem(email)
        if problem:
            form.email.errors.append(problem)
        else:
            recovery.request_recovery(email)
            return redirect(url_for("accounts.forgot_sent"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/forgot.html", form=form), status


@bp.get("/forgot/sent")
def forgot_sent():
    return render_template("accounts/forgot_sent.html", minutes=recovery.RECOVERY_MINUTES)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(LINK_PER_CLIENT, methods=["POST"])
def reset_link(token):
    """Set a new password through a recovery link (single use, 30 minutes)."""
    form = ResetForm()
    if request.method == "GET":
        if not recovery.recovery_open(token):
            return render_template("accounts/bad_link.html", message=recovery.BAD_LINK), 404
        return render_template("accounts/reset.html", form=form)
    if form.validate_on_submit():
        try:
            recovery.reset_password(token, form.new_password.data)
        except InvalidInput as err:
            if err.field == "token":
                return render_template("accounts/bad_link.html", message=err.message), 400
            form.new_password.errors.append(err.message)
        else:
            # Whoever this browser was signed in as, it starts afresh: the account's sessions
            # all ended, and another account's must not carry over either.
            logout_user()
            session.clear()
            flash("Your new password is set, and every device that was signed in has been "
                  "signed out. Sign in with the new password.", "success")
            return redirect(url_for("accounts.login"), code=303)
    return render_template("accounts/reset.html", form=form), 400


@bp.route("/confirm/<token>", methods=["GET", "POST"])
@limiter.limit(LINK_PER_CLIENT, methods=["POST"])
def confirm_link(token):
    """Confirm an address from its mailed link (a page with a button: a GET changes nothing)."""
    form = ConfirmForm()
    if request.method == "GET":
        purpose = recovery.confirm_open(token)
        if purpose is None:
            return render_template("accounts/bad_link.html", message=recovery.BAD_LINK), 404
        return render_template("accounts/confirm.html", form=form, purpose=purpose)
    if form.validate_on_submit():
        try:
            recovery.confirm_address(token)
        except InvalidInput as err:
            return render_template("accounts/bad_link.html", message=err.message), 400
        flash("Your address is confirmed.", "success")
        if current_user.is_authenticated:
            return redirect(url_for("accounts.account"), code=303)
        return redirect(url_for("accounts.login"), code=303)
    return render_template("accounts/confirm.html", form=form, purpose=None), 400


@bp.get("/signup/sent")
def signup_sent():
    """Where every sign-up lands, new address or not: check your inbox, then sign in."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    return render_template("accounts/signup_sent.html",
                           next=_safe_next(request.args.get("next")))


@bp.post("/account/email")
@login_required
@limiter.limit("10 per hour")
def change_email():
    """Change your address: your password, then a link to the new address; the old one is
    told when it is done."""
    from .forms import DeleteForm, PasswordForm
    from .routes import _account_page

    form = EmailForm()
    if form.validate_on_submit():
        try:
            recovery.request_email_change(current_user, form.email_password.data,
                                          form.new_email.data)
        except InvalidInput as err:
            field = form.email_password if err.field == "password" else form.new_email
            field.errors.append(err.message)
        else:
            flash("A link is on its way to the new address. Your address changes when you "
                  "open it.", "success")
            return redirect(url_for("accounts.account", _anchor="address"), code=303)
    return _account_page(PasswordForm(formdata=None), DeleteForm(formdata=None), 400,
                         email_form=form)


@bp.post("/account/confirm")
@login_required
@limiter.limit("5 per hour")
def resend_confirmation():
    """Send the link that confirms your address (again)."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        return redirect(url_for("accounts.account", _anchor="address"), code=303)
    recovery.send_confirmation(current_user)
    flash("A link to confirm your address is on its way.", "success")
    return redirect(url_for("accounts.account", _anchor="address"), code=303)
