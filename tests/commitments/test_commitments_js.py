"""The commitments page's script says what the server says: rate words, day and time words, the
history's entries, and its links (built from the server's url_for templates, couple/client.py),
computed by static/src/commitments/page.js in Node and by the server."""
import json
import random
import subprocess
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from flask import url_for

from couple.client import client_config
from couple.commitments.reading import TREND_WEEKS, history_entries
from couple.commitments.schedule import short_date, when_text
from tests.conftest import need
from tests.support.node import node_ready
from tests.support.servers import ROOT

pytestmark = pytest.mark.node
ZONES = ["UTC", "Europe/London", "America/New_York", "Pacific/Chatham", "Asia/Kolkata",
         "Australia/Lord_Howe", "Pacific/Apia"]


def _node(payload: dict) -> dict:
    need(node_ready(), "Node.js with the npm packages installed (npm ci)")
    script = ROOT / "tests/js/commitments.test.mjs"
    proc = subprocess.run(["node", str(script), json.dumps(payload)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_the_page_script_and_the_server_say_the_same(app):
    rnd = random.Random(12)
    rates = [{"kept": 0, "missed": 0, "marked": 0, "unmarked": 0, "rate": None},
             {"kept": 0, "missed": 0, "marked": 0, "unmarked": 3, "rate": None},
             {"kept": 1, "missed": 0, "marked": 1, "unmarked": 0, "rate": 100}]
    for _ in range(200):
        kept, missed, unmarked = rnd.randint(0, 40), rnd.randint(0, 40), rnd.randint(0, 40)
        marked = kept + missed
        rates.append({"kept": kept, "missed": missed, "marked": marked, "unmarked": unmarked,
                      "rate": None if marked == 0 else round(100 * kept / marked)})
    days = [date(2000, 1, 1) + timedelta(days=rnd.randint(0, 20000)) for _ in range(300)]
    days += [date(2024, 2, 29), date(2026, 3, 29), date(2026, 10, 25)]
    whens = []
    for _ in range(300):
        at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rnd.randint(0, 3 * 10**8))
        whens.append([at.strftime("%Y-%m-%dT%H:%M:%S+00:00"), rnd.choice(ZONES)])
    item = {"id": 7, "owner_id": 1, "tz": "Europe/London", "history": [
        {"kind": "made", "wording": "Walk", "previous": None, "day": "2026-03-01",
         "at": "2026-03-01T08:00:00+00:00"},
        {"kind": "reworded", "wording": "Walk after dinner", "previous": "Walk",
         "day": "2026-03-02", "at": "2026-03-02T08:00:00+00:00"}]}
    marks = {
        "7:2026-03-01": {"commitment_id": 7, "day": "2026-03-01", "status": "missed",
                         "marked_at": "2026-03-01T20:00:00+00:00",
                         "corrected_at": "2026-03-03T09:00:00+00:00",
                         "ack": {"by": 2, "at": "2026-03-03T10:00:00+00:00", "note": "",
                                 "seen_status": "missed"}},
        "7:2026-03-02": {"commitment_id": 7, "day": "2026-03-02", "status": "kept",
                         "marked_at": "2026-03-02T20:00:00+00:00", "corrected_at": None,
                         "ack": None},
        "7:2026-03-03": {"commitment_id": 7, "day": "2026-03-03", "status": "kept",
                         "marked_at": "2026-03-03T21:00:00+00:00", "corrected_at": None,
                         "ack": None},
        "8:2026-03-03": {"commitment_id": 8, "day": "2026-03-03", "status": "kept",
                         "marked_at": "2026-03-03T21:00:00+00:00", "corrected_at": None,
                         "ack": {"by": 1, "at": "2026-03-04T10:00:00+00:00", "note": "",
                                 "seen_status": "kept"}},
    }
    log = [{"kind": "noted", "previous": None, "day": "2026-03-02",
            "at": "2026-03-04T07:00:00+00:00"},
           {"kind": "kept", "previous": None, "day": "2026-03-02",
            "at": "2026-03-02T20:00:00+00:00"}]
    links = [[rnd.randint(1, 10**9), d.isoformat(), rnd.randint(1, 10**9), rnd.choice(TREND_WEEKS)]
             for d in days[:50]]
    with app.test_request_context():
        config = client_config()
    got = _node({"rates": rates, "days": [d.isoformat() for d in days], "whens": whens,
                 "item": item, "marks": marks, "log": log, "links": links, "config": config})
    with app.app_context():
        macros = app.jinja_env.get_template("commitments/_macros.html").module
        assert got["rates"] == [str(macros.rate_words(t)).strip() for t in rates]
    assert got["days"] == [short_date(d) for d in days]
    assert got["whens"] == [when_text(at, tz) for at, tz in whens]
    server = history_entries(SimpleNamespace(id=7, owner_id=1), item, marks, log)
    assert got["history"] == [[e["kind"], e["day"], e["at"], e["by"], e["previous"]]
                              for e in server]
    kinds = [e["kind"] for e in server]
    assert kinds.count("marked") == 1 and "noticed" in kinds, "legacy marks and acks are there"
    with app.test_request_context():
        assert got["links"] == [_server_links(*v) for v in links]


def _server_links(cid, day, person, weeks):
    return [url_for("commitments.detail", commitment_id=cid),
            url_for("commitments.detail", commitment_id=cid, day=day) + "#day-panel",
            url_for("commitments.mark", commitment_id=cid, day=day),
            url_for("commitments.acknowledge", commitment_id=cid, day=day),
            url_for("commitments.trend", person_id=person, weeks=weeks)]


def test_the_page_links_follow_where_the_app_is_mounted(app):
    """Mounted under a prefix, the page's links carry it: the server's url_for builds them."""
    vectors = [[7, "2026-03-01", 3, TREND_WEEKS[-1]]]
    with app.test_request_context(base_url="http://localhost/couple-app"):
        config = client_config()
        expected = [_server_links(*v) for v in vectors]
    assert all(u.startswith("/couple-app/commitments/") for u in expected[0])
    got = _node({"rates": [], "days": [], "whens": [],
                 "item": {"id": 1, "owner_id": 1, "history": []},
                 "marks": {}, "log": [], "links": vectors, "config": config})
    assert got["links"] == expected
