"""Invite a partner, accept or decline an invitation, unlink."""
import math

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from ..errors import InvalidInput, NotFound
from ..extensions import limiter
from ..models_base import utcnow
from ..pairing.models import ROLE_LABELS, other_role
from ..web import done, payload
from . import operations

bp = Blueprint("pairing", __name__, url_prefix="/pair")
# Kept in the inviter's own session so the link can be shown again until it is used.
SESSION_KEY = "invite_shown"


def _user_key() -> str:
    return f"user:{current_user.get_id() and current_user.id}"


@bp.get("")
@login_required
def index():
    """Pairing: your partner, or how to invite one / enter a code."""
    return index_page()


def index_page(typed_code: str | None = None, chosen_role: str | None = None):
    """The pairing page; after a rate limit, with the code typed or the role chosen kept."""
    if current_user.couple is not None:
        return render_template("pairing/linked.html", partner=current_user.partner,
                               role=current_user.role, labels=ROLE_LABELS)
    invite = operations.open_invite_of(current_user)
    shown = session.get(SESSION_KEY)
    if invite is None or not shown or shown.get("id") != invite.id:
        shown = None
    link = url_for("pairing.join", token=shown["token"], _external=True) if shown else None
    return render_template("pairing/index.html", invite=invite, link=link,
                           code=operations.format_code(shown["code"]) if shown else None,
                           hours_left=hours_left(invite), labels=ROLE_LABELS,
                           typed_code=typed_code, chosen_role=chosen_role)


def hours_left(invite) -> str | None:
    """How long until the invitation stops working, to the nearest hour: a fresh 72-hour
    invitation says "72 hours" (not 71 because a second has passed); the last hour says so."""
    if invite is None:
        return None
    seconds = (invite.expires_at - utcnow()).total_seconds()
    if seconds < 3600:
        return "less than an hour"
    hours = math.floor(seconds / 3600 + 0.5)
    return f"{hours} hour{'' if hours == 1 else 's'}"


@bp.post("/invite")
@login_required
@limiter.limit("20 per hour", key_func=_user_key)
def invite():
    """Create an invitation in the role you hold (older ones stop working)."""
    data = payload()
    invite, token, code = operations.create_invite(current_user, str(data.get("role", "")))
    session[SESSION_KEY] = {"id": invite.id, "token": token, "code": code}
    return done({"id": invite.id}, then=url_for("pairing.index"),
                message="Your invitation is ready. Send the link or the code to your partner.")


@bp.post("/revoke")
@login_required
def revoke():
    """Withdraw your open invitation."""
    operations.revoke_invite(current_user)
    session.pop(SESSION_KEY, None)
    return done(None, then=url_for("pairing.index"), message="Invitation withdrawn.")


def _confirm(invite, *, token=None, code=None):
    return render_template(
        "pairing/join.html",
        inviter=invite.inviter,
        inviter_role=ROLE_LABELS[invite.inviter_role],
        your_role=ROLE_LABELS[other_role(invite.inviter_role)],
        own=invite.inviter_id == current_user.id,
        already_linked=current_user.couple_id is not None,
        token=token,
        code=code,
    )


@bp.get("/join/<token>")
@login_required
@limiter.limit("30 per hour")
def join(token):
    """An invitation link: who invites you, which role you would hold; accept or decline."""
    return _confirm(operations.find_open_invite(token=token), token=token)


@bp.post("/code")
@login_required
@limiter.limit("10 per hour")
@limiter.limit("10 per hour", key_func=_user_key)
def code():
    """A typed short code: shows the same confirmation as the link does."""
    typed = str(payload().get("code", ""))
    try:
        invite = operations.find_open_invite(code=typed)
    except NotFound as err:
        flash(err.message, "error")
        return redirect(url_for("pairing.index"), code=303)
    return _confirm(invite, code=operations.normalize_code(typed))


def confirm_page():
    """The accept/decline confirmation again, for the invitation the form named."""
    data = payload()
    token, typed = data.get("token"), data.get("code")
    return _confirm(_posted_invite(), token=token if isinstance(token, str) else None,
                    code=typed if isinstance(typed, str) else None)


def _posted_invite():
    data = payload()
    token, typed = data.get("token"), data.get("code")
    return operations.find_open_invite(
        token=token if isinstance(token, str) else None,
        code=typed if isinstance(typed, str) else None,
    )


@bp.post("/accept")
@login_required
@limiter.limit("20 per hour")
def accept():
    """Accept an invitation: the two of you are linked, each in your role."""
    couple = operations.accept_invite(_posted_invite(), current_user)
    return done({"couple_id": couple.id}, then=url_for("core.home"),
                message="You are linked. Welcome to your shared space.")


@bp.post("/decline")
@login_required
@limiter.limit("20 per hour")
@limiter.limit("20 per hour", key_func=_user_key)
def decline():
    """Decline an invitation."""
    operations.decline_invite(_posted_invite(), current_user)
    return done(None, then=url_for("core.home"), message="You declined the invitation.")


@bp.get("/unlink")
@login_required
def unlink_confirm():
    """What unlinking does, honestly, before you do it."""
    if current_user.couple is None:
        return redirect(url_for("pairing.index"))
    return render_template("pairing/unlink.html", partner=current_user.partner)


@bp.post("/unlink")
@login_required
def unlink():
    """Unlink, alone and at once: nothing more is shared, on every open screen."""
    if request.form.get("confirm") != "yes" and payload().get("confirm") not in ("yes", True):
        raise InvalidInput("Tick the box to confirm that you want to unlink.", "confirm")
    operations.unlink(current_user)
    return done(None, then=url_for("core.home"),
                message="You are unlinked. Nothing more is shared.")
