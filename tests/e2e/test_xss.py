"""An XSS corpus typed into every text field shows as text, in both partners' pages, on the live
path and on a fresh load, and runs nothing (no dialog, no flag, no CSP refusal: see conftest)."""
import re

import pytest
from playwright.sync_api import expect

from .test_commitments import make_commitment
from .ui import linked_couple, user_id, wait_connected

pytestmark = [pytest.mark.browser, pytest.mark.server]

CORPUS = [
    "<img src=x onerror=alert(1)>",
    "</script><script>alert(1)</script>",
    "\"><svg onload=alert(1)>",
    "'><img src=x onerror=\"window.__xss=1\">",
    "<iframe srcdoc=\"<script>parent.__xss=1</script>\"></iframe>",
    "</textarea><img src=x onerror=alert(2)>",
    "<a href=\"javascript:window.__xss=1\">click me</a>",
    "javascript:alert(3)",
    "{{7*7}} ${7*7} <%= 7*7 %>",
    "<style>body{display:none}</style>",
    "&lt;b&gt;not bold&lt;/b&gt; &amp;",
    "\u202eevil\u202c <b>bold?</b>",
]
NAME_R = "<img src=x onerror=alert(1)>"
NAME_S = "\"><svg onload=alert(1)>"

# Anything the corpus would have created had it been parsed as HTML.
INJECTED = """() => document.querySelectorAll(
  'img[src="x"], svg[onload], iframe, style:not([data-keep]), a[href^="javascript"], ' +
  'body script:not([src]):not([type="application/json"])'
).length"""


def assert_inert(*watched):
    for w in watched:
        for page in w.pages:
            if page.is_closed():
                continue
            assert page.evaluate(INJECTED) == 0, f"{w.name}: markup from user text reached the DOM"
            assert page.evaluate("() => window.__xss") is None, f"{w.name}: a payload ran"
        assert not w.dialogs, w.dialogs


def test_xss_corpus_is_text_everywhere(e2e_server, open_partner):
    base = e2e_server.url
    r, s = linked_couple(open_partner, base, rebuilding_name=NAME_R, supporting_name=NAME_S)
    rid = user_id(r)

    # Display names, on the partner's home page (live state and first render).
    expect(s.page.locator(f"#person-{rid}")).to_contain_text(NAME_R)
    expect(r.page.locator("#main h2").filter(has_text=NAME_S)).to_have_count(1)
    r.page.goto(base + "/pair")
    expect(r.page.locator("#main strong").first).to_have_text(NAME_S)
    r.page.goto(base + "/pair/unlink")
    expect(r.page.get_by_role("heading", level=1)).to_have_text(f"Unlink from {NAME_S}?")
    assert_inert(r, s)

    # A reflection made of the whole corpus, shared: live on the partner's home, then reloaded.
    text = "\n".join(CORPUS)
    r.page.goto(base + "/guide")
    s.page.goto(base + "/home")
    wait_connected(r)
    wait_connected(s)
    step = r.page.locator("#step-1")
    step.get_by_label(re.compile("Your reflection")).fill(text)
    step.get_by_role("button", name="Save", exact=True).click()
    expect(step.locator(".save-state")).to_have_text("Saved")
    step.get_by_role("button", name="Share this reflection with your partner").click()
    shared = s.page.locator(f'[data-shared-key="{rid}:rebuilding:1"] .reflection-text')
    expect(shared).to_have_text(text)
    assert shared.evaluate("(el) => el.textContent") == text
    expect(s.page.locator("#announcer")).to_contain_text(f"{NAME_R} shared a reflection")
    s.page.reload()
    assert shared.evaluate("(el) => el.textContent") == text
    r.page.reload()
    assert r.page.locator("#refl-1").input_value() == text
    assert "49" not in s.page.locator("main").inner_text()
    assert_inert(r, s)

    # The pairing code field and the login form echo nothing that runs.
    s.page.goto(base + "/pair")
    assert_inert(s)

    # Commitments: wording, the owner's note, the partner's kind note.
    for w in (r, s):
        w.page.goto(base + "/commitments")
        wait_connected(w)
    wording = " ".join(CORPUS)[:280].strip()
    make_commitment(r, wording)
    link = s.page.locator(f'[data-list-for="{rid}"] a.wording')
    expect(link).to_have_text(wording)
    expect(s.page.locator("#announcer")).to_contain_text(f"{NAME_R} made a commitment")
    r_due = r.page.locator(f'#due-list .due-row[data-owner="{rid}"]')
    s_due = s.page.locator(f'#due-list .due-row[data-owner="{rid}"]')
    note = " ".join(CORPUS[:6])
    r_due.get_by_label(re.compile("Note")).fill(note)
    r_due.get_by_role("button", name="Kept").click()
    expect(s_due.locator(".mark-note")).to_have_text(note)
    kind = " ".join(CORPUS[6:])
    s_due.locator("form.ack-form").get_by_label(re.compile("A kind note")).fill(kind)
    s_due.get_by_role("button", name="I noticed").click()
    expect(r_due.locator(".ack-note")).to_have_text(kind)
    expect(r_due.locator(".ack-line")).to_contain_text(f"{NAME_S} noticed")
    for w in (r, s):
        w.page.reload()
        expect(w.page.locator(f'[data-list-for="{rid}"] a.wording')).to_have_text(wording)
    expect(s_due.locator(".mark-note")).to_have_text(note)
    expect(r_due.locator(".ack-note")).to_have_text(kind)
    s.page.goto(base + link.get_attribute("href"))
    expect(s.page.get_by_role("heading", level=1)).to_have_text(wording)
    assert_inert(r, s)


def test_xss_in_anonymous_and_pairing_forms(e2e_server, open_partner):
    base = e2e_server.url
    w = open_partner("visitor")
    page = w.page
    for payload in CORPUS[:4]:
        page.goto(base + "/login")
        page.get_by_label("Email").fill(payload)
        page.get_by_label("Password").fill(payload)
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("#main")).to_be_visible()
        assert_inert(w)
        page.goto(base + "/signup")
        page.get_by_label("What should we call you?").fill(payload)
        page.get_by_label("Email").fill(payload)
        page.get_by_label("Password").fill("short")
        page.get_by_role("button", name="Create account").click()
        expect(page.get_by_label("What should we call you?")).to_have_value(payload)
        assert_inert(w)
    from .ui import sign_up
    sign_up(w, base, "Visitor")
    for payload in CORPUS[:4]:
        page.goto(base + "/pair")
        page.get_by_role("textbox", name="Code", exact=True).fill(payload)
        page.get_by_role("button", name="Continue").click()
        expect(page.locator("#main")).to_be_visible()
        assert_inert(w)
    page.goto(base + "/pair/join/" + "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    assert_inert(w)
