"""The page (security.md E.23-E.25) and the visible safety promises (safety.md 5, 6, "never"):
CSP and security headers on every answer, no-store on every page, no inline code in any
template, neutral titles, quick exit on every signed-in page, no read receipts."""
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from couple.extensions import db
from tests.security.matrix import CASES, case_url

ROOT = Path(__file__).resolve().parents[2]
GET_CASES = [c for c in CASES if c.method == "GET"]
REQUIRED_CSP = ["default-src 'self'", "script-src 'self'", "object-src 'none'",
                "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'"]


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.title, self._in_title, self.ids, self.scripts = "", False, set(), []
        self.handlers, self._in_head = [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "head":
            self._in_head = True
        # Only the document's <title> (in <head>) shows in a tab; an SVG chart's <title>
        # is its accessible name.
        if tag == "title" and self._in_head:
            self._in_title = True
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "script":
            self.scripts.append(attrs)
        self.handlers += [name for name in attrs if name.startswith("on")]

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        if tag == "head":
            self._in_head = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def _pages(matrix, roles=("anonymous", "loner", "partner", "owner")):
    """(role, case, response) for every GET rule, as each role."""
    for case in GET_CASES:
        for role in roles:
            response = matrix.world.client(role).get(case_url(matrix.app, case, matrix.world))
            response.close()
            yield role, case, response


def test_every_answer_has_the_security_headers_and_pages_are_not_stored(matrix):
    matrix.restore()
    checked = 0
    for role, case, response in _pages(matrix):
        h = response.headers
        csp = h.get("Content-Security-Policy", "")
        for directive in REQUIRED_CSP:
            assert directive in csp, (case.rule, role, directive)
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert h.get("X-Content-Type-Options") == "nosniff"
        assert h.get("Referrer-Policy") in ("same-origin", "no-referrer", "strict-origin")
        assert h.get("X-Frame-Options") == "DENY"
        if case.rule != "/static/<path:filename>":
            # Intimate pages must not stay in a shared computer's cache or back button.
            assert h.get("Cache-Control") == "no-store", (case.rule, role)
        checked += 1
    assert checked >= len(GET_CASES) * 4


def test_socket_io_answers_carry_the_headers_too(app, make_couple, login_as):
    """engine.io answers its path before Flask; its long-polling answers carry events."""
    riley, _sam = make_couple()
    client = login_as(riley)
    opened = client.get("/socket.io/?EIO=4&transport=polling")
    assert opened.status_code == 200 and opened.get_data(as_text=True).startswith("0{")
    refused = client.get("/socket.io/?EIO=1&transport=polling")
    assert refused.status_code == 400
    for response in (opened, refused):
        h = response.headers
        for directive in REQUIRED_CSP:
            assert directive in h.get("Content-Security-Policy", ""), directive
        assert h.get("X-Content-Type-Options") == "nosniff"
        assert h.get("X-Frame-Options") == "DENY"
        assert h.get("Cache-Control") == "no-store"
        assert len(h.getlist("Content-Type")) == 1, "engine.io's own headers are kept, once"
    # Without the trailing slash the path is Flask's: an unknown page, like any other.
    assert client.get("/socket.io").status_code == 404


def test_every_page_title_is_neutral_and_signed_in_pages_offer_quick_exit(matrix):
    matrix.restore()
    world = matrix.world
    names = [u.display_name for u in world.users.values()]
    pages = 0
    for role, case, response in _pages(matrix):
        if response.mimetype != "text/html" or response.status_code >= 300:
            continue
        html = response.get_data(as_text=True)
        page = _Page()
        page.feed(html)
        title = page.title.strip()
        # safety.md "never": a lock screen or a shared screen shows the title.
        assert re.fullmatch(r"couple( · [A-Za-z ]{1,30})?", title), (case.rule, title)
        for word in names + [world.canary, world.shared_text, "trust", "affair", "boundar",
                             "commitment", "betray", "cheat"]:
            assert word.lower() not in title.lower(), (case.rule, title)
        assert not page.handlers, (case.rule, page.handlers)
        if role != "anonymous":
            # safety.md 5: the visible control on every signed-in page, and the script that
            # binds Esc twice (the browser behaviour is tested end to end with Chromium).
            assert "quick-exit" in page.ids, case.rule
            assert any(s.get("src", "").startswith("/static/dist/") and s.get("type") == "module"
                       for s in page.scripts), case.rule
            assert "cannot clear your browser history" in html
            assert re.search(r'id="quick-exit"[^>]*href="https://', html)
        pages += 1
    assert pages > 20


def test_quick_exit_script_leaves_on_the_control_and_on_esc_twice():
    source = (ROOT / "static/src/quickexit.js").read_text()
    assert 'getElementById("quick-exit")' in source
    assert '"Escape"' in source and "location.replace" in source
    bundles = list((ROOT / "static/dist").glob("*.js"))
    assert bundles and all("quick-exit" in b.read_text() for b in bundles
                           if b.name in ("app.js", "boundaries.js", "commitments.js"))


def _templates():
    return sorted((ROOT / "templates").rglob("*.html"))


@pytest.mark.parametrize("path", _templates(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_has_inline_code(path):
    """E.24: with script-src 'self' an inline script or on*= handler would be blocked anyway,
    so one in a template is a bug, and a sign someone is about to weaken the CSP."""
    text = path.read_text()
    for match in re.finditer(r"<script\b([^>]*)>(.*?)</script>", text, re.S | re.I):
        attrs, body = match.group(1), match.group(2)
        if 'type="application/json"' in attrs:
            # Data, not code: a JSON island read with textContent (Jinja's tojson escapes <).
            assert "|tojson" in body, f"{path}: a JSON island must be filled with |tojson"
            continue
        assert "src=" in attrs and not body.strip(), f"{path}: inline script"
    assert not re.search(r"\son[a-z]+\s*=", text, re.I), f"{path}: an on*= handler attribute"
    assert "javascript:" not in text.lower(), f"{path}: a javascript: URL"
    assert "|safe" not in text, f"{path}: |safe turns off escaping"


def test_the_front_end_never_puts_text_in_innerhtml():
    """E.23: user text enters the DOM only as text."""
    for path in (ROOT / "static/src").rglob("*.js"):
        source = path.read_text()
        assert not re.search(r"\.(innerHTML|outerHTML)\s*\+?=|insertAdjacentHTML|document\.write",
                             source), path


def test_safety_page_for_each_partner_alone(matrix):
    matrix.restore()
    for role in ("anonymous", "loner", "partner", "owner"):
        html = matrix.world.client(role).get("/safety").get_data(as_text=True)
        for words in ("abuse", "coercive control", "Unlink", "delete your account",
                      "Quick exit", "cannot erase your browser history", "emergency"):
            assert words in html, (role, words)
        # It names nobody and shows nothing of the couple.
        for user in matrix.world.users.values():
            assert user.display_name not in html.split("<main", 1)[1]


# Columns whose names look like a read receipt but are not one, and why.
NOT_READ_RECEIPTS = {
    # The mark's status at the moment the partner *chose* to press "I noticed": a deliberate
    # act by the partner, never something recorded because a page was opened.
    "follow_through_acks.seen_status",
}


def test_no_read_receipts_anywhere():
    """safety.md "never": nothing records or shows when the partner read or opened anything.
    (test_security_doors.py::test_no_get_changes_anything proves that opening any page, as
    anyone, writes no row at all; this test keeps such a column from being added.)"""
    words = re.compile(r"(read|seen|viewed|opened|visited|last_active|last_login|presence)",
                       re.I)
    for table in db.Model.metadata.sorted_tables:
        for column in table.columns:
            name = f"{table.name}.{column.name}"
            assert name in NOT_READ_RECEIPTS or not words.search(column.name), name
    from couple import events as events_module

    source = "\n".join(p.read_text() for p in (ROOT / "couple").rglob("*.py"))
    types = set(re.findall(r'"((?:[a-z]+)\.[a-z_]+)"', source))
    assert not [t for t in types if re.search(r"\.(read|seen|viewed|opened)\b", t)]
    assert events_module.Event.__table__ is not None
