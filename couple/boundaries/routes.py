"""The boundaries pages: the live editor, a boundary's history, the printable agreed list."""
import base64

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from ..access import current_couple
from ..state import state_for
from . import operations
from .content import GROUP_LABELS, GROUPS

bp = Blueprint("boundaries", __name__, url_prefix="/boundaries")


def _names(couple) -> dict:
    out = {}
    for person in (couple.rebuilding, couple.supporting):
        if person is not None:
            out[person.id] = "You" if person.id == current_user.id else person.display_name
    return out


@bp.get("")
@login_required
def index():
    """The couple's boundaries, grouped, co-edited live; each shows who accepted it."""
    couple = current_user.active_couple
    if couple is None:
        return render_template("boundaries/unlinked.html")
    view = operations.overview(couple)
    doc = base64.b64encode(operations.document_update(couple)).decode("ascii")
    return render_template("boundaries/index.html", view=view, groups=GROUPS,
                           group_labels=GROUP_LABELS, names=_names(couple), doc=doc,
                           state=state_for(current_user), page_script="boundaries")


@bp.get("/print")
@login_required
def print_agreed():
    """The boundaries both partners agreed, on a clean page to print or bring to a counsellor."""
    couple = current_couple()
    view = operations.overview(couple)
    agreed = [b for b in view["boundaries"] if b["agreement"]["state"] == "agreed"]
    return render_template("boundaries/print.html", agreed=agreed, groups=GROUPS,
                           group_labels=GROUP_LABELS, couple=couple)


@bp.get("/<boundary_id>/history")
@login_required
def history(boundary_id):
    """One boundary's wordings over time, its acceptances and removal proposals."""
    couple = current_couple()
    found = operations.history(couple, boundary_id)
    return render_template("boundaries/history.html", found=found, names=_names(couple),
                           group_labels=GROUP_LABELS, boundary_id=boundary_id)
