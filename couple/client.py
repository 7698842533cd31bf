"""What the browser is given instead of spelling it itself: URL templates built by `url_for`
and the labels the server's templates use, one source each. templates/base.html puts this in
the signed-in pages' #page-config JSON island; static/src/config.js reads it."""
from flask import url_for

from .commitments.models import DAY_STATE_WORDS
from .commitments.models import STATUS_LABELS as COMMITMENT_STATUS_LABELS
from .guides.models import STEP_STATE_LABELS

# Stand-ins url_for accepts for any converter (int or string) and that no real path contains.
_SENTINEL = 7_310_000_000


def url_template(endpoint: str, *names: str, **values) -> str:
    """url_for with each named parameter (path or query) left as `{name}` for the page to fill in
    (static/src/config.js `url`)."""
    stand_ins = {name: _SENTINEL + i for i, name in enumerate(names)}
    url = url_for(endpoint, **stand_ins, **values)
    for name, number in stand_ins.items():
        assert url.count(str(number)) == 1, (endpoint, name, url)
        url = url.replace(str(number), "{" + name + "}")
    return url


def client_config() -> dict:
    from .socket_changes import path_templates  # it imports couple.sockets, which imports web

    return {
        "urls": {
            "login": url_for("accounts.login"),
            "state": url_for("core.api_state"),
            "draft_discard": url_for("accounts.discard_draft"),
            "guide_step": url_for("guides.mine") + "#step-{step}",
            "commitment": url_template("commitments.detail", "commitment_id"),
            "commitment_day": (url_template("commitments.detail", "commitment_id", "day")
                               + "#day-panel"),
            "commitment_mark": url_template("commitments.mark", "commitment_id", "day"),
            "commitment_acknowledge": url_template("commitments.acknowledge", "commitment_id",
                                                   "day"),
            "commitment_trend": url_template("commitments.trend", "person_id", "weeks"),
            "conversations": url_for("conversations.index"),
        },
        # The changes the page sends over its socket while connected (couple/socket_changes.py).
        "socket_changes": path_templates(),
        "labels": {
            "step_states": STEP_STATE_LABELS,
            "commitment_status": COMMITMENT_STATUS_LABELS,
            "commitment_days": DAY_STATE_WORDS,
        },
    }
