"""Accessibility in a real browser: axe-core (WCAG 2.1 A + AA) on every page, in both partners'
views, anonymous and signed in, light and dark; keyboard only; focus always visible; live
changes announced politely without moving focus; Quick exit by the control and by Esc twice."""
import re

import pytest
from playwright.sync_api import expect

from tests.conftest import need
from tests.support.servers import PASSWORD, ROOT

from .conftest import DESKTOP, PHONE
from .test_boundaries import SYNCED
from .test_commitments import make_commitment
from .test_conversations import start_conversation
from .test_screenshots import populate
from .ui import (
    axe_violations,
    invite,
    linked_couple,
    sign_up,
    user_id,
    wait_connected,
    wait_signed_out,
)

pytestmark = [pytest.mark.browser, pytest.mark.server]

# GET routes that are not pages a person reads (JSON, downloads, files; the Socket.IO path's
# rule, which engine.io answers before Flask: couple._route_socket_events).
NOT_PAGES = {"static", "core.healthz", "core.api_state", "core.api_now", "accounts.export",
             "commitments.trend", "socket_io"}


def check(page, label: str, found: dict, schemes=("light", "dark")) -> None:
    for scheme in schemes:
        page.emulate_media(color_scheme=scheme)
        violations = axe_violations(page)
        if violations:
            found[f"{label} [{scheme}, {page.viewport_size['width']}px]"] = violations
    page.emulate_media(color_scheme="light")


def report(found: dict) -> str:
    lines = []
    for where, violations in found.items():
        for v in violations:
            lines.append(f"{where}: {v['id']} ({v['impact']}): {v['help']}")
            lines += [f"    {n['target']}: {n['summary']}" for n in v["nodes"]]
    return "\n".join(lines)


def test_axe_finds_nothing_on_any_page(e2e_server, open_partner, app_factory):
    need((ROOT / "node_modules" / "axe-core" / "axe.min.js").exists(), "npm ci (axe-core)")
    base = e2e_server.url
    found: dict = {}
    visited: set[str] = set()

    def visit(w, path, label=None, **kw):
        w.page.goto(base + path)
        if w.page.locator("#conn-status").count():
            wait_connected(w)
        visited.add(path)
        check(w.page, f"{w.name} {label or path}", found, **kw)

    # Anonymous: the start page, forms (also with their errors), safety, a 404.
    visitor = open_partner("visitor")
    for path in ["/", "/login", "/signup", "/safety", "/account/deleted", "/no-such-page"]:
        visit(visitor, path)
    visitor.page.goto(base + "/signup")
    visitor.page.get_by_role("button", name="Create account").click()
    check(visitor.page, "visitor /signup with errors", found)
    # Recovery (issue 13): the forms, their answers, a link that does not work. The pages a
    # working link opens are checked in tests/e2e/test_recovery.py (they need real mail).
    for path in ["/forgot", "/forgot/sent", "/signup/sent"]:
        visit(visitor, path)
    visit(visitor, "/reset/" + "x" * 43, "/reset/<token> (a link that does not work)")
    visit(visitor, "/confirm/" + "x" * 43, "/confirm/<token> (a link that does not work)")
    visited |= {"/reset/<token>", "/confirm/<token>"}
    visitor.page.goto(base + "/forgot")
    visitor.page.get_by_role("button", name="Send the link").click()
    check(visitor.page, "visitor /forgot with errors", found)
    visitor.page.goto(base + "/login")
    visitor.page.get_by_label("Email").fill("nobody@example.com")
    visitor.page.get_by_label("Password").fill("not the password")
    visitor.page.get_by_role("button", name="Log in").click()
    check(visitor.page, "visitor /login failed", found)

    # Signed in, not linked yet; an open invitation; the invitee's view of it.
    alone = open_partner("alone")
    sign_up(alone, base, "Alex")
    for path in ["/home", "/guide", "/guide/rebuilding", "/pair", "/commitments", "/boundaries",
                 "/conversations", "/account"]:
        visit(alone, path)
    link = invite(alone, base, "supporting")
    check(alone.page, "alone /pair with an invitation", found)
    invitee = open_partner("invitee")
    sign_up(invitee, base, "Jo")
    invitee.page.goto(link)
    check(invitee.page, "invitee /pair/join/<token>", found)
    visited.add("/pair/join/<token>")

    # A linked couple a few days in, both partners' views.
    r, s = linked_couple(open_partner, base)
    populate(r, s, base)  # leaves r on /boundaries: one boundary agreed, one proposed
    bid = r.page.locator("li.b-item").first.get_attribute("data-id")
    r.page.goto(base + "/commitments")
    cid = r.page.locator('[data-list-for] a.wording').first.get_attribute("href").rsplit("/", 1)[1]
    # A conversation under way: Sam asked, Riley answered, Sam has "what I heard" to write.
    for w in (s, r):
        w.page.goto(base + "/conversations")
        wait_connected(w)
    start_conversation(s, "Last Friday", "Where were you on Friday evening?", "Riley")
    answer = r.page.get_by_label(re.compile("Your answer"))
    answer.fill("At my sister's. I should have told you.")
    r.page.get_by_role("button", name="Send my answer").click()
    expect(s.page.get_by_label(re.compile("What I heard"))).to_be_visible()
    check(s.page, "supporting /conversations after a live answer", found)
    pages = ["/home", "/guide", "/pair", "/pair/unlink", "/commitments", f"/commitments/{cid}",
             "/conversations", "/conversations/print",
             "/boundaries", f"/boundaries/{bid}/history", "/boundaries/print", "/safety",
             "/account", "/no-such-page"]
    for w, other_role in ((r, "supporting"), (s, "rebuilding")):
        for path in pages + [f"/guide/{other_role}"]:
            visit(w, path)
    visited |= {"/guide/<role>", "/commitments/<int:commitment_id>",
                "/boundaries/<boundary_id>/history"}
    # Desktop width too (layout rules), light only: colours do not change with width.
    r.page.set_viewport_size(DESKTOP)
    for path in ["/home", "/guide", "/commitments", "/boundaries", "/conversations"]:
        visit(r, path, f"{path} desktop", schemes=("light",))
    r.page.set_viewport_size(PHONE)

    # Content that arrived live (clones of templates, notices) is checked as well.
    s.page.goto(base + "/commitments")
    wait_connected(s)
    r.page.goto(base + "/commitments")
    wait_connected(r)
    make_commitment(r, "Say goodnight, even on hard days")
    expect(s.page.locator("a.wording", has_text="Say goodnight")).to_have_count(2)
    check(s.page, "supporting /commitments after a live addition", found)
    s.page.goto(base + "/home")
    wait_connected(s)
    r.page.goto(base + "/pair/unlink")
    r.page.get_by_label("I want to unlink now").check()
    r.page.get_by_role("button", name="Unlink").click()
    expect(s.page.locator("#main .notice")).to_be_visible()
    check(s.page, "supporting /home after the partner unlinked", found)

    # Every page the app serves was visited (a new page gets checked, or this fails).
    app = app_factory()
    routes = {rule.rule for rule in app.url_map.iter_rules()
              if "GET" in rule.methods and rule.endpoint not in NOT_PAGES}
    missing = sorted(routes - visited)
    assert not missing, f"pages axe did not check: {missing}"
    assert not found, "axe (WCAG 2.1 A/AA) violations:\n" + report(found)


FOCUS_VISIBLE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const ring = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
  const r = el.getClientRects()[0] || el.getBoundingClientRect();  // a wrapped link: its first line
  const describe = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' ' +
    (el.textContent || el.value || el.name || '').trim().slice(0, 30);
  // On screen and on top: not scrolled away, not under the sticky bar (the ring must be seen).
  const top = document.elementFromPoint(r.left + r.width / 2, r.top + Math.min(r.height / 2, 8));
  const onTop = Boolean(top) && (top === el || el.contains(top) || top.contains(el) ||
    (el.labels && [...el.labels].some((l) => l.contains(top))));
  return {ring: ring || s.boxShadow !== 'none', onScreen: r.width > 0 && onTop, what: describe};
}"""


def tab_through(page, limit=250) -> list[dict]:
    """Tab from the top of the page to its end; every stop must show where focus is."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur();"
                  " window.scrollTo(0, 0); }")
    stops, seen = [], set()
    for _ in range(limit):
        page.keyboard.press("Tab")
        info = page.evaluate(FOCUS_VISIBLE)
        if info is None:
            break
        key = page.evaluate("() => { const el = document.activeElement;"
                            " el.dataset.tabSeen ||= String(Math.random());"
                            " return el.dataset.tabSeen; }")
        if key in seen:
            break
        seen.add(key)
        stops.append(info)
    return stops


def test_keyboard_only_with_visible_focus_and_polite_announcements(e2e_server, open_partner):
    base = e2e_server.url
    r, s = linked_couple(open_partner, base)
    rid = user_id(r)

    # Every page: each Tab stop shows a focus ring and is scrolled into view (not under the bar).
    bad = []
    for path in ["/home", "/guide", "/commitments", "/boundaries", "/conversations", "/pair",
                 "/account", "/safety"]:
        r.page.goto(base + path)
        if path in ("/boundaries",):
            r.page.wait_for_function(SYNCED)
        stops = tab_through(r.page)
        assert len(stops) >= 5, (path, stops)
        bad += [f"{path}: {st['what']}" for st in stops if not (st["ring"] and st["onScreen"])]
    assert not bad, "focus not visible at:\n" + "\n".join(bad)

    # The skip link is the first stop, and it works.
    r.page.goto(base + "/guide")
    wait_connected(r)
    r.page.keyboard.press("Tab")
    skip = r.page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    r.page.keyboard.press("Enter")
    expect(r.page.locator("#main")).to_be_focused()
    # Quick exit comes early: right after the brand.
    r.page.reload()
    wait_connected(r)
    for _ in range(3):
        r.page.keyboard.press("Tab")
    expect(r.page.locator("#quick-exit")).to_be_focused()

    # The supporting partner reads, focus on a link; the rebuilding partner works by keyboard.
    s.page.goto(base + "/home")
    wait_connected(s)
    s.page.get_by_role("link", name=re.compile("Read Riley")).focus()
    r.page.locator("#step-1 input[type=radio]").first.focus()
    r.page.keyboard.press("ArrowRight")
    expect(r.page.locator("#step-1").get_by_role("radio", name="Working on it")).to_be_checked()
    expect(s.page.locator(f'[data-progress-key="{rid}:rebuilding:1"]')).to_have_text(
        "Working on it")
    r.page.keyboard.press("Tab")
    expect(r.page.locator("#refl-1")).to_be_focused()
    r.page.keyboard.type("Typed without a mouse.")
    r.page.keyboard.press("Tab")
    r.page.keyboard.press("Enter")
    expect(r.page.locator("#step-1 .save-state")).to_have_text("Saved")
    r.page.keyboard.press("Tab")
    expect(r.page.locator("#step-1 [data-share-button]")).to_be_focused()
    r.page.keyboard.press("Space")
    shared = s.page.locator(f'[data-shared-key="{rid}:rebuilding:1"] .reflection-text')
    expect(shared).to_have_text("Typed without a mouse.")
    # Announced in the polite live region; the reader's focus stayed where it was.
    expect(s.page.locator("#announcer")).to_have_attribute("aria-live", "polite")
    expect(s.page.locator("#announcer")).to_have_text(re.compile("Riley shared a reflection"))
    expect(s.page.get_by_role("link", name=re.compile("Read Riley"))).to_be_focused()
    # The person acting keeps their focus too.
    expect(r.page.locator("#step-1 [data-share-button]")).to_be_focused()


NEUTRAL = "<!doctype html><title>Weather</title><h1>Weather</h1>"


def test_quick_exit_by_the_control_and_by_esc_twice(e2e_server, open_partner):
    base = e2e_server.url
    r, _s = linked_couple(open_partner, base)
    r.page.goto(base + "/account")
    email = re.search(r"\S+@example\.com", r.page.locator("main").inner_text()).group(0)
    exit_url = r.page.locator("#quick-exit").get_attribute("href")
    origin = re.match(r"https?://[^/]+", exit_url).group(0)
    # The neutral page is served locally: the test needs no network.
    r.context.route(origin + "/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body=NEUTRAL))

    r.page.goto(base + "/guide")
    wait_connected(r)
    r.page.get_by_role("link", name="Quick exit").click()
    r.page.wait_for_url(exit_url)
    expect(r.page.get_by_role("heading", name="Weather")).to_be_visible()

    # Esc twice, from every kind of signed-in page (each has its own bundle), even mid-typing.
    # Each exit ends this browser's session: sign in again first.
    for path, focus in [("/home", None), ("/guide", "#refl-2"), ("/commitments", "#wording"),
                        ("/boundaries", None), ("/account", None)]:
        wait_signed_out(r, base)
        r.page.goto(base + "/login")
        r.page.get_by_label("Email").fill(email)
        r.page.get_by_label("Password").fill(PASSWORD)
        r.page.get_by_role("button", name="Log in").click()
        r.page.wait_for_url(re.compile(r"/home$"))
        r.page.goto(base + path)
        wait_connected(r)
        if focus:
            r.page.locator(focus).focus()
            r.page.keyboard.type("half a sentence")
        r.page.keyboard.press("Escape")
        r.page.wait_for_timeout(100)
        assert r.page.url.startswith(base), f"one Esc must not leave ({path})"
        r.page.keyboard.press("Escape")
        r.page.wait_for_url(exit_url)
        expect(r.page.get_by_role("heading", name="Weather")).to_be_visible()


def test_axe_on_the_quick_exit_states(e2e_server, open_partner, screenshot_dir):
    """Issue 12's new states: the devices list (two devices, this one marked), the signed-out
    landing after a quick exit, a reflection and a commitment kept by a quick exit."""
    base = e2e_server.url
    found: dict = {}
    phone, _partner = linked_couple(open_partner, base, rebuilding_name="Dana")
    phone.page.goto(base + "/account")
    email = re.search(r"\S+@example\.com", phone.page.locator("main").inner_text()).group(0)
    laptop = open_partner("laptop", viewport=DESKTOP)
    laptop.page.goto(base + "/login")
    laptop.page.get_by_label("Email").fill(email)
    laptop.page.get_by_label("Password").fill(PASSWORD)
    laptop.page.get_by_role("button", name="Log in").click()
    laptop.page.wait_for_url(re.compile(r"/home$"))
    for w in (phone, laptop):
        w.page.goto(base + "/account")
        wait_connected(w)
        expect(w.page.locator("li.device")).to_have_count(2)
        check(w.page, f"{w.name} /account with two devices", found)
    exit_url = phone.page.locator("#quick-exit").get_attribute("href")
    origin = re.match(r"https?://[^/]+", exit_url).group(0)
    phone.context.route(origin + "/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body=NEUTRAL))
    phone.page.goto(base + "/guide")
    wait_connected(phone)
    phone.page.locator("#refl-1").fill("Something I was still writing")
    phone.page.goto(base + "/commitments")
    wait_connected(phone)
    if not phone.page.locator("#wording").is_visible():
        phone.page.locator("details#new > summary").click()
    phone.page.locator("#wording").fill("Call before I am late")
    phone.page.keyboard.press("Escape")
    phone.page.keyboard.press("Escape")
    phone.page.wait_for_url(exit_url)
    wait_signed_out(phone, base)
    phone.page.go_back()
    expect(phone.page).to_have_url(re.compile(r"/login\?next="))
    check(phone.page, "phone signed-out landing after a quick exit", found)
    phone.page.get_by_label("Email").fill(email)
    phone.page.get_by_label("Password").fill(PASSWORD)
    phone.page.get_by_role("button", name="Log in").click()
    # Back from the neutral page reached /guide (the exit replaced /commitments in the history).
    phone.page.wait_for_url(re.compile(r"/guide$"))
    wait_connected(phone)
    # The reflection typed before moving on to /commitments was not sent (it was never
    # left by a quick exit): only the page being left is collected.
    expect(phone.page.locator("#kept-1")).to_have_count(0)
    phone.page.goto(base + "/commitments")
    wait_connected(phone)
    expect(phone.page.locator("#kept-new")).to_be_visible()
    expect(phone.page.locator("#wording")).to_have_value("Call before I am late")
    check(phone.page, "phone /commitments with a kept wording", found)
    phone.page.evaluate("() => window.scrollTo(0, document.getElementById('new').offsetTop - 80)")
    phone.page.screenshot(path=str(screenshot_dir / "commitments-kept-wording-phone.png"))
    phone.page.set_viewport_size(DESKTOP)
    check(phone.page, "desktop /commitments with a kept wording", found, schemes=("light",))
    phone.page.set_viewport_size(PHONE)
    # Made: the kept copy is forgotten, on the page and on the server.
    phone.page.get_by_role("radio", name="Every day").check()
    phone.page.get_by_role("button", name="Make this commitment").click()
    expect(phone.page.locator("#kept-new")).to_have_count(0)
    expect(phone.page.locator("a.wording", has_text="Call before I am late").first).to_be_visible()
    phone.page.reload()
    wait_connected(phone)
    expect(phone.page.locator("#kept-new")).to_have_count(0)
    assert not found, "axe (WCAG 2.1 A/AA) violations:\n" + report(found)
