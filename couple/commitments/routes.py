"""Commitments pages and their changes: thin views that parse, call one operation, answer."""
from datetime import date

from flask import Blueprint, jsonify, render_template, request, url_for
from flask_login import current_user, login_required

from ..access import current_couple
from ..errors import NotFound
from ..guides.content import GUIDES
from ..guides.operations import guide_of
from ..socket_changes import over_socket
from ..state import state_for
from ..web import done, int_field, op_id_from, payload, version_field
from . import operations, reading, reminders
from .models import DAY_STATE_WORDS, STATUS_LABELS
from .schedule import WEEKDAY_NAMES, local_today, short_date, when_text

bp = Blueprint("commitments", __name__, url_prefix="/commitments")


def _people():
    couple = current_couple()
    partner = couple.partner_of(current_user)
    return couple, [current_user] + ([partner] if partner is not None else [])


def _weeks() -> int:
    weeks = request.args.get("weeks", type=int)
    return weeks if weeks in reading.TREND_WEEKS else reading.TREND_WEEKS[0]


@bp.get("")
@login_required
def index():
    """Both partners' commitments: what is due today, each one's rates, each partner's trend."""
    if current_user.active_couple is None:
        return render_template("commitments/unlinked.html")
    couple, people = _people()
    weeks = _weeks()
    trends = {p.id: reading.weekly_trend(couple.id, p.id, weeks) for p in people}
    guide = guide_of(current_user)
    return render_template(
        "commitments/index.html", state=state_for(current_user), people=people, trends=trends,
        weeks=weeks, week_options=reading.TREND_WEEKS, weekday_names=WEEKDAY_NAMES,
        steps=GUIDES[guide].steps if guide else (), page_script="commitments",
        status_labels=STATUS_LABELS,
        today=local_today("UTC").isoformat(),
    )


@over_socket("commitments.create")
def create_change(user, data: dict) -> dict:
    weekdays = data.get("weekdays")
    return operations.create_commitment(
        user,
        wording=data.get("wording"),
        schedule=data.get("schedule"),
        start=data.get("start") or None,
        end=data.get("end") or None,
        weekdays=weekdays if isinstance(weekdays, list) else [],
        tz=data.get("tz") or "UTC",
        step=int_field(data, "step") if data.get("step") not in (None, "") else None,
        op_id=op_id_from(data),
    )


@bp.post("")
@login_required
def create():
    """Make a commitment; both partners' open pages show it (also over the socket:
    couple/socket_changes.py)."""
    data = payload()
    if not request.is_json:  # a plain form sends one field per ticked weekday
        data["weekdays"] = request.form.getlist("weekdays")
    item = create_change(current_user, data)
    # What the quick exit kept of the wording was forgotten in the same transaction, so a
    # reload right after never offers it again (the page's own discard may still be on its way).
    return done(item, then=url_for("commitments.detail", commitment_id=item["id"]),
                message="Commitment made.")


@bp.get("/<int:commitment_id>")
@login_required
def detail(commitment_id):
    """One commitment: its calendar, rates over 7/30/90 days, marks, acknowledgements, history."""
    c = operations.commitment_for(current_user, commitment_id)
    today = local_today(c.tz)
    month = request.args.get("month", "")
    try:
        last_month = (int(month[:4]), int(month[5:7])) if len(month) == 7 else None
        if last_month and not (1 <= last_month[1] <= 12 and 2000 <= last_month[0] <= 2200):
            last_month = None
    except ValueError:
        last_month = None
    last_month = last_month or (today.year, today.month)
    months = reading.calendar_months(c, last_month)
    selected = request.args.get("day")
    try:
        selected = date.fromisoformat(selected) if selected and len(selected) == 10 else None
    except ValueError:
        selected = None
    state = state_for(current_user)
    owner = c.owner
    item = state["data"]["commitments"][str(c.id)]
    log = operations.mark_log(c)
    shown_first = (months[0]["year"], months[0]["month"])
    shown_last = (months[-1]["year"], months[-1]["month"])
    later = reading.month_add(*shown_last, 3)
    return render_template(
        "commitments/detail.html", c=c, item=item,
        state=state, months=months, today=today, selected=selected, owner=owner,
        mine=c.owner_id == current_user.id, page_script="commitments",
        # The owner's private reminder setting; None on the partner's page (never rendered).
        reminder=reminders.setting_for(current_user, c),
        status_labels=STATUS_LABELS, day_words=DAY_STATE_WORDS,
        # No months before the start: "earlier" stops at the month it started in.
        prev_month="{:04d}-{:02d}".format(*reading.month_add(*shown_first, -1))
        if shown_first > (c.start_on.year, c.start_on.month) else None,
        next_month="{:04d}-{:02d}".format(*min(later, (today.year, today.month)))
        if shown_last < (today.year, today.month) else None,
        short_date=short_date, window_days=operations.WINDOW_DAYS,
        history=reading.history_entries(c, item, state["data"]["commitment_marks"], log),
        mark_log=log, when=lambda at: when_text(at, c.tz),
        day_text=lambda iso: short_date(date.fromisoformat(iso)),
    )


@bp.get("/trend/<int:person_id>")
@login_required
def trend(person_id):
    """A partner's weekly follow-through as data, for the chart's live refresh."""
    couple, people = _people()
    if person_id not in {p.id for p in people}:
        raise NotFound()
    return jsonify({"person_id": person_id,
                    "weeks": reading.weekly_trend(couple.id, person_id, _weeks())})


@over_socket("commitments.reword")
def reword_change(user, data: dict, commitment_id: int) -> dict:
    return operations.reword_commitment(user, commitment_id, data.get("wording"),
                                        version_field(data), op_id_from(data))


@bp.post("/<int:commitment_id>/reword")
@login_required
def reword(commitment_id):
    """The owner rewords a commitment (409 with the saved copy if another tab did meanwhile;
    also over the socket: couple/socket_changes.py)."""
    item = reword_change(current_user, payload(), commitment_id=commitment_id)
    return done(item, then=url_for("commitments.detail", commitment_id=commitment_id),
                message="Reworded. The earlier words stay in its history.")


def _status_step(name: str, target: str, message: str, doc: str) -> None:
    """Pause, resume or end: the change (served over the socket too) and its POST route."""
    def change(user, data: dict, commitment_id: int) -> dict:
        return operations.set_commitment_status(user, commitment_id, target, op_id_from(data))

    def view(commitment_id):
        item = change(current_user, payload(), commitment_id=commitment_id)
        return done(item, then=url_for("commitments.detail", commitment_id=commitment_id),
                    message=message)

    change.__name__ = f"{name}_change"
    view.__name__ = name
    view.__doc__ = doc
    over_socket(f"commitments.{name}")(change)
    bp.post(f"/<int:commitment_id>/{name}", endpoint=name)(login_required(view))


_status_step("pause", "paused", "Paused. It will not fall due until you resume it.",
             "The owner pauses a commitment.")
_status_step("resume", "active", "Resumed.", "The owner resumes a paused commitment.")
_status_step("end", "ended", "Ended. Its history stays.", "The owner ends a commitment.")


@over_socket("commitments.mark")
def mark_change(user, data: dict, commitment_id: int, day: str) -> dict:
    return operations.mark_follow_through(user, commitment_id, day, data.get("status"),
                                          data.get("note", ""), version_field(data),
                                          op_id_from(data))


@bp.post("/<int:commitment_id>/days/<day>/mark")
@login_required
def mark(commitment_id, day):
    """The owner marks a due day kept or missed, or corrects their own mark (also over the
    socket: couple/socket_changes.py)."""
    item = mark_change(current_user, payload(), commitment_id=commitment_id, day=day)
    return done(item, then=url_for("commitments.detail", commitment_id=commitment_id,
                                   day=item["day"]),
                message="Marked. Thank you for being honest about it.")


@over_socket("commitments.acknowledge")
def acknowledge_change(user, data: dict, commitment_id: int, day: str) -> dict:
    return operations.acknowledge_mark(user, commitment_id, day, data.get("note", ""),
                                       op_id_from(data))


@bp.post("/<int:commitment_id>/days/<day>/acknowledge")
@login_required
def acknowledge(commitment_id, day):
    """The partner acknowledges a mark ("I noticed"), with an optional kind note (also over
    the socket: couple/socket_changes.py)."""
    item = acknowledge_change(current_user, payload(), commitment_id=commitment_id, day=day)
    return done(item, then=url_for("commitments.detail", commitment_id=commitment_id,
                                   day=item["day"]),
                message="Your partner will see that you noticed.")


@bp.post("/<int:commitment_id>/reminder")
@login_required
def reminder(commitment_id):
    """The owner turns their private email reminder on (at a local time) or off. No event: the
    partner never learns whether it is on."""
    data = payload()
    setting = reminders.set_reminder(current_user, commitment_id, data.get("enabled"),
                                     data.get("time"))
    message = "Reminder off."
    if setting["enabled"]:
        message = f"Reminder on: an email at {setting['time']} on the days it is due."
        if current_user.email_verified_at is None:
            message += " It starts once your email address is confirmed (see Account)."
    return done(setting, then=url_for("commitments.detail", commitment_id=commitment_id)
                + "#reminder-h", message=message)
