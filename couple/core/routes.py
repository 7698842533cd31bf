"""Landing, the couple's home, the state API, health, safety resources."""
from flask import Blueprint, jsonify, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import text

from ..extensions import db
from ..guides.content import GUIDES
from ..guides.models import STEP_STATE_LABELS
from ..guides.operations import guide_of
from ..pairing.models import ROLE_LABELS
from ..state import state_for
from .now import what_now

bp = Blueprint("core", __name__)


@bp.get("/")
def index():
    """What couple is; signed-in people go straight home."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    return render_template("core/index.html")


@bp.get("/home")
@login_required
def home():
    """What now (due today, waiting for your acceptance, your next step), then both partners
    side by side: each guide's progress and what they shared."""
    state = state_for(current_user)
    partner = current_user.partner
    people = [(current_user, guide_of(current_user))]
    if partner is not None:
        people.append((partner, guide_of(partner)))
    return render_template("core/home.html", state=state, people=people, guides=GUIDES,
                           labels=STEP_STATE_LABELS, role_labels=ROLE_LABELS,
                           now=what_now(current_user, state["data"]))


@bp.get("/api/now")
@login_required
def api_now():
    """Home's "what now?" for the signed-in person, for the page's live refresh."""
    return jsonify(what_now(current_user, state_for(current_user)["data"]))


@bp.get("/api/state")
@login_required
def api_state():
    """The signed-in person's whole client state with its sequence numbers."""
    return jsonify(state_for(current_user))


@bp.get("/safety")
def safety():
    """Safety resources, for each partner on their own."""
    return render_template("core/safety.html")


@bp.get("/healthz")
def healthz():
    """Liveness and database reachability, for load balancers."""
    db.session.execute(text("SELECT 1"))
    return jsonify({"status": "ok"})
