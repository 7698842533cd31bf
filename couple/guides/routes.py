"""Read your guide, set where you are on each step, write and share reflections."""
from flask import Blueprint, abort, g, render_template, url_for
from flask_login import current_user, login_required

from ..socket_changes import over_socket
from ..state import state_for
from ..web import done, op_id_from, payload, version_field
from . import drafts, operations
from .content import GUIDES
from .models import STEP_STATE_LABELS, STEP_STATES

bp = Blueprint("guides", __name__, url_prefix="/guide")


@bp.app_context_processor
def _kept_drafts():
    def kept_draft(key: str) -> str | None:
        """What this person was typing in the field `key` when they left by the quick exit."""
        if "kept_drafts" not in g:
            g.kept_drafts = drafts.drafts_for(current_user)
        return g.kept_drafts.get(key)

    return {"kept_draft": kept_draft}


@bp.get("")
@login_required
def mine():
    """Your role's guide, with your progress and reflections."""
    guide = operations.guide_of(current_user)
    if guide is None:
        return render_template("guides/choose.html", guides=GUIDES)
    return render_template("guides/guide.html", guide=GUIDES[guide], editable=True,
                           state=state_for(current_user), states=STEP_STATES,
                           labels=STEP_STATE_LABELS)


@bp.get("/<role>")
@login_required
def read(role):
    """Either guide, to read (e.g. the one your partner follows)."""
    if role not in GUIDES:
        abort(404)
    if role == operations.guide_of(current_user):
        return mine()
    return render_template("guides/guide.html", guide=GUIDES[role], editable=False,
                           state=state_for(current_user), states=STEP_STATES,
                           labels=STEP_STATE_LABELS)


@over_socket("guides.set_state")
def set_state_change(user, data: dict, step: int) -> dict:
    return operations.set_step_state(user, step, str(data.get("state", "")), op_id_from(data))


@bp.post("/steps/<int:step>/state")
@login_required
def set_state(step):
    """Set where you are on a step; your partner's open pages update (also over the socket:
    couple/socket_changes.py)."""
    item = set_state_change(current_user, payload(), step=step)
    return done(item, then=url_for("guides.mine", _anchor=f"step-{step}"))


@over_socket("guides.save_reflection")
def save_reflection_change(user, data: dict, step: int) -> dict:
    return operations.save_reflection(user, step, data.get("text", ""), version_field(data),
                                      op_id_from(data))


@bp.post("/steps/<int:step>/reflection")
@login_required
def save_reflection(step):
    """Save your reflection on a step (private unless you share it; also over the socket:
    couple/socket_changes.py)."""
    item = save_reflection_change(current_user, payload(), step=step)
    # What the quick exit kept for this field was forgotten in the same transaction.
    return done(item, then=url_for("guides.mine", _anchor=f"step-{step}"), message="Saved.")


def _shared(data: dict) -> bool:
    return data.get("shared") in (True, "true", "1", "on", "yes")


@over_socket("guides.share")
def share_change(user, data: dict, step: int) -> dict:
    return operations.share_reflection(user, step, _shared(data), op_id_from(data))


@bp.post("/steps/<int:step>/share")
@login_required
def share(step):
    """Share a reflection with your partner, or make it private again (also over the socket:
    couple/socket_changes.py)."""
    data = payload()
    item = share_change(current_user, data, step=step)
    return done(item, then=url_for("guides.mine", _anchor=f"step-{step}"),
                message="Shared with your partner." if _shared(data) else "Private again.")
