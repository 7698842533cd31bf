"""What the server gives the page's script (couple/client.py, the #page-config island) and how a
capability's style sheet reaches the page (a `{% block head %}` link to its bundled dist/*.css)."""
import hashlib
import json
import re
from datetime import date

import pytest

from couple.client import client_config, url_template
from couple.commitments.models import DAY_STATE_WORDS, STATUS_LABELS
from couple.guides.models import STEP_STATE_LABELS
from tests.conftest import login
from tests.support.servers import ROOT

CONFIG = re.compile(r'<script type="application/json" id="page-config">(.*?)</script>', re.S)
# Each template's endpoint, and values for its {names}.
EXPECTED = {
    "commitment": ("commitments.detail", {"commitment_id": 12}),
    "commitment_day": ("commitments.detail", {"commitment_id": 12, "day": "2026-03-01"}),
    "commitment_mark": ("commitments.mark", {"commitment_id": 12, "day": "2026-03-01"}),
    "commitment_acknowledge": ("commitments.acknowledge",
                               {"commitment_id": 12, "day": "2026-03-01"}),
    "commitment_trend": ("commitments.trend", {"person_id": 4, "weeks": 8}),
    "guide_step": ("guides.mine", {"step": 3}),
    "login": ("accounts.login", {}),
    "state": ("core.api_state", {}),
    "draft_discard": ("accounts.discard_draft", {}),
    "conversations": ("conversations.index", {}),
}


def _fill(template: str, values: dict) -> str:
    names = set(re.findall(r"\{(\w+)\}", template))
    assert names == set(values), (template, values)
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), template)


@pytest.fixture
def couple_client(app, make_couple):
    riley, _sam = make_couple()
    client = app.test_client()
    login(client, riley)
    r = client.post("/commitments", json={"wording": "Walk", "schedule": "daily", "tz": "UTC",
                                          "start": date.today().isoformat(), "weekdays": []})
    assert r.status_code == 200, r.get_data(as_text=True)
    return client, r.get_json()["result"]["id"]


def test_every_signed_in_page_is_given_urls_and_labels(app, couple_client):
    client, cid = couple_client
    adapter = app.url_map.bind("localhost")
    for path in ["/home", "/guide", "/commitments", f"/commitments/{cid}", "/boundaries",
                 "/boundaries/print", "/pair", "/account", "/safety", "/conversations",
                 "/conversations/print"]:
        html = client.get(path).get_data(as_text=True)
        found = CONFIG.findall(html)
        assert len(found) == 1, path
        config = json.loads(found[0])
        assert config["labels"] == {"step_states": STEP_STATE_LABELS,
                                    "commitment_status": STATUS_LABELS,
                                    "commitment_days": DAY_STATE_WORDS}, path
        assert set(config["urls"]) == set(EXPECTED), path
        for name, (endpoint, values) in EXPECTED.items():
            url = _fill(config["urls"][name], values)
            url, _, fragment = url.partition("#")
            route, _, query = url.partition("?")
            matched, args = adapter.match(route, method="POST" if "mark" in name or "ack" in name
                                          or name == "draft_discard" else "GET")
            assert matched == endpoint, (name, url)
            for key, value in values.items():
                assert str(args.get(key, "")) == str(value) or f"{key}={value}" in query \
                    or fragment == f"{key}-{value}", (name, url)


def test_signed_out_pages_are_given_nothing(client):
    for path in ["/", "/login", "/signup", "/safety"]:
        assert "page-config" not in client.get(path).get_data(as_text=True), path


def test_url_template_leaves_names_for_the_page(app):
    with app.test_request_context():
        assert url_template("commitments.detail", "commitment_id") == "/commitments/{commitment_id}"
        assert url_template("commitments.trend", "person_id", "weeks") == \
            "/commitments/trend/{person_id}?weeks={weeks}"
    with app.test_request_context(base_url="http://localhost/mounted"):
        assert client_config()["urls"]["commitment"] == "/mounted/commitments/{commitment_id}"


def test_capability_style_sheets_are_linked_from_the_head(app, couple_client):
    client, cid = couple_client
    for path, sheet in [("/commitments", "commitments"), (f"/commitments/{cid}", "commitments"),
                        ("/boundaries", "boundaries"), ("/boundaries/print", "boundaries"),
                        ("/conversations", "conversations")]:
        html = client.get(path).get_data(as_text=True)
        head, body = html.split("</head>", 1)
        assert "<link" not in body, path
        file = ROOT / "static" / "dist" / f"{sheet}.css"
        version = hashlib.sha256(file.read_bytes()).hexdigest()[:12]
        href = f"/static/dist/{sheet}.css?v={version}"
        assert f'<link rel="stylesheet" href="{href}">' in head, path
        r = client.get(href, headers={"Accept-Encoding": "gzip"})
        r.close()
        assert r.status_code == 200 and r.headers["Content-Encoding"] == "gzip"
        assert "immutable" in r.headers["Cache-Control"]
    for path in ["/home", "/guide"]:
        assert "dist/commitments.css" not in client.get(path).get_data(as_text=True)
        assert "dist/conversations.css" not in client.get(path).get_data(as_text=True)


@pytest.mark.parametrize("path", sorted((ROOT / "templates").rglob("*.html")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_links_a_style_sheet_from_its_content(path):
    text = path.read_text()
    if path.name == "base.html":
        text = text.split("</head>", 1)[1]
    text = re.sub(r"\{% block head %\}.*?\{% endblock %\}", "", text, flags=re.S)
    assert "<link" not in text, path


def test_the_page_scripts_keep_no_copy_of_the_labels_or_paths():
    """One source each: the scripts read labels and URLs from #page-config."""
    labels = {*STEP_STATE_LABELS.values(), *STATUS_LABELS.values(),
              *(w for w in DAY_STATE_WORDS.values() if " " in w)}
    for path in (ROOT / "static" / "src").rglob("*.js"):
        source = path.read_text()
        for label in labels:
            assert f'"{label}"' not in source, (path, label)
        # A path spelled in a string or template literal ("/commitments/…", `/guide#…`).
        assert not re.search(r"""["'`]/(commitments|conversations|guide|login|api|drafts)\b""",
                             source), path


def test_the_page_is_told_which_changes_go_over_its_socket(app):
    """The address templates of couple/socket_changes.py's changes, each a POST route; and a
    change registered for something that is no POST route stops the app from starting."""
    from couple import socket_changes

    with app.test_request_context():
        templates = client_config()["socket_changes"]
    assert sorted(templates) == sorted([
        "/commitments", "/commitments/{commitment_id}/days/{day}/acknowledge",
        "/commitments/{commitment_id}/days/{day}/mark", "/commitments/{commitment_id}/end",
        "/commitments/{commitment_id}/pause", "/commitments/{commitment_id}/resume",
        "/commitments/{commitment_id}/reword", "/conversations/{conversation_id}/answer",
        "/conversations/{conversation_id}/close", "/conversations/{conversation_id}/confirm",
        "/conversations/{conversation_id}/heard", "/conversations",
        "/conversations/{conversation_id}/pause", "/conversations/{conversation_id}/resume",
        "/conversations/{conversation_id}/round", "/conversations/{conversation_id}/withdraw",
        "/guide/steps/{step}/reflection", "/guide/steps/{step}/share",
        "/guide/steps/{step}/state"])
    socket_changes.CHANGES["core.home"] = lambda user, body: None  # a GET page
    try:
        with pytest.raises(RuntimeError, match="core.home"):
            socket_changes.check_registered(app)
    finally:
        del socket_changes.CHANGES["core.home"]
    socket_changes.check_registered(app)
