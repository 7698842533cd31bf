"""A couple's first week, in Chromium (issue 12, items 4-10): one partner on a phone (390x844), the
other on a desktop, light and dark. Each item is checked where a person would see it: the phone
tab bar, the guide's step index, the invitation's Copy/Share and hours, Home's "what now?" (live),
rates that say what they mean, the commitment detail page's months and history, and a 429 that
keeps what was typed."""
import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.servers import start_server

from .conftest import DESKTOP
from .test_boundaries import IDLE
from .test_commitments import make_commitment
from .ui import axe_violations, invite, linked_couple, sign_up, unique_email, user_id, wait_connected

pytestmark = [pytest.mark.browser, pytest.mark.server]

PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}
SECTIONS = ["Home", "Guide", "Boundaries", "Commitments", "Partner", "Safety", "Account"]


def no_axe_violations(page, label):
    found = axe_violations(page)
    assert not found, f"{label}: " + "; ".join(f"{v['id']}: {v['nodes']}" for v in found)


def shot(w, name, screenshot_dir):
    w.page.screenshot(path=str(screenshot_dir / f"first-week-{name}.png"), full_page=True)


# ---------------------------------------------------------------- 6. phone navigation

@pytest.mark.parametrize("size", VIEWPORTS)
def test_every_section_is_on_screen_without_sideways_scrolling(e2e_server, open_partner, size):
    base = e2e_server.url
    w = open_partner("alone", viewport=VIEWPORTS[size])
    sign_up(w, base, "Alex")
    nav = w.page.get_by_role("navigation", name="Main")
    width = VIEWPORTS[size]["width"]
    for name in SECTIONS:
        link = nav.get_by_role("link", name=name, exact=True)
        box = link.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, (name, box)
        # Nothing covers it: the element at its centre is the link itself.
        assert w.page.evaluate("""([x, y, name]) => {
            const el = document.elementFromPoint(x, y);
            return Boolean(el && el.closest('nav.tabs a') && el.closest('a').textContent.trim() === name);
        }""", [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, name]), name
        assert box["height"] >= 44, f"{name}: a touch target of 44 px at least"
    sizes = w.page.evaluate("""() => {
        const ul = document.querySelector('nav.tabs ul');
        return {ul: [ul.scrollWidth, ul.clientWidth], page: [document.documentElement.scrollWidth, innerWidth]};
    }""")
    assert sizes["ul"][0] <= sizes["ul"][1] and sizes["page"][0] <= sizes["page"][1], sizes
    # Safety and Account are one tap away, no scrolling first.
    nav.get_by_role("link", name="Safety", exact=True).click()
    expect(w.page).to_have_url(base + "/safety")
    w.page.get_by_role("navigation", name="Main").get_by_role("link", name="Account", exact=True).click()
    expect(w.page).to_have_url(base + "/account")
    no_axe_violations(w.page, f"account {size}")


# ---------------------------------------------------------------- 7. the guide's step index

@pytest.mark.parametrize("size", VIEWPORTS)
def test_the_guide_has_a_step_index(e2e_server, open_partner, size):
    base = e2e_server.url
    r, s = linked_couple(open_partner, base, viewport=VIEWPORTS[size])
    r.page.goto(base + "/guide")
    wait_connected(r)
    index = r.page.get_by_role("navigation", name="The 10 steps")
    expect(index.get_by_role("link")).to_have_count(10)
    index.get_by_role("link", name=re.compile(r"^7\.")).click()
    expect(r.page).to_have_url(re.compile(r"#step-7$"))
    heading = r.page.locator("#step-7 h2")
    expect(heading).to_be_in_viewport()
    top = heading.bounding_box()["y"]
    bar = r.page.locator("header.top").bounding_box()
    assert top >= bar["y"] + bar["height"] - 1, "the step's title is not under the sticky bar"
    r.page.locator("#step-7").get_by_role("link", name="Back to the list of steps").click()
    expect(index).to_be_in_viewport()
    # The index shows where you are, and follows changes made in another tab of yours.
    other = r.new_page()
    other.goto(base + "/guide")
    other.wait_for_function("() => document.getElementById('conn-status')?.dataset.state === 'connected'")
    other.locator("#step-7").get_by_role("radio", name="Working on it").click()
    expect(index.locator(f'[data-progress-key="{user_id(r)}:rebuilding:7"]')).to_have_text("Working on it")
    no_axe_violations(r.page, f"guide {size}")
    # The partner's guide, read-only, has the index too (without states).
    s.page.goto(base + "/guide/rebuilding")
    expect(s.page.get_by_role("navigation", name="The 10 steps").get_by_role("link")).to_have_count(10)


# ---------------------------------------------------------------- 8. the invitation

FAKE_SHARE = """() => {
  window.__shared = null;
  Object.defineProperty(navigator, 'share', {configurable: true, value: async (data) => { window.__shared = data; }});
  Object.defineProperty(navigator, 'canShare', {configurable: true, value: () => true});
}"""
NO_CLIPBOARD = """() => { Object.defineProperty(navigator, 'clipboard', {configurable: true, value: undefined}); }"""


@pytest.mark.parametrize("size", VIEWPORTS)
def test_the_invitation_can_be_copied_and_shared(e2e_server, open_partner, size, screenshot_dir):
    base = e2e_server.url
    w = open_partner("inviter", viewport=VIEWPORTS[size])
    w.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    sign_up(w, base, "Riley")
    link = invite(w, base, "rebuilding")
    page = w.page
    expect(page.locator("#main")).to_contain_text("stops working in 72 hours.")
    # The whole link is visible on a phone: nothing cut off inside its field.
    assert page.evaluate("() => { const t = document.getElementById('invite-link'); return t.scrollHeight <= t.clientHeight + 1 && t.scrollWidth <= t.clientWidth; }")
    copy = page.get_by_role("button", name="Copy link")
    expect(copy).to_be_visible()
    copy.click()
    expect(page.locator("#copy-state")).to_have_text(re.compile("Link copied"))
    assert page.evaluate("() => navigator.clipboard.readText()") == link
    # Web Share where the browser has it (this Chromium may not: then no button is offered).
    has_share = page.evaluate("() => typeof navigator.share === 'function'")
    expect(page.get_by_role("button", name="Share…")).to_have_count(1 if has_share else 0)
    # A browser with Web Share (a phone): the button appears and shares only the link.
    page.add_init_script(f"({FAKE_SHARE})()")
    page.reload()
    page.get_by_role("button", name="Share…").click()
    page.wait_for_function("() => window.__shared !== null")
    assert page.evaluate("() => window.__shared") == {"title": "Invitation", "url": link}
    # No Clipboard API (plain http on a home network): the fallback still copies, or selects.
    page.add_init_script(f"({NO_CLIPBOARD})()")
    page.reload()
    page.get_by_role("button", name="Copy link").click()
    expect(page.locator("#copy-state")).to_have_text(re.compile("Link copied|link is selected"))
    selected = page.evaluate("() => { const t = document.getElementById('invite-link'); return t.value.slice(t.selectionStart, t.selectionEnd); }")
    assert selected == link or page.evaluate("() => navigator.clipboard === undefined")
    no_axe_violations(page, f"pair {size}")
    shot(w, f"invitation-{size}", screenshot_dir)
    # It says plainly what a new invitation does to this one, and that is what happens.
    card = page.locator("section", has=page.get_by_role("heading", name="Make a new invitation instead"))
    expect(card).to_contain_text("This cancels the invitation above")
    card.get_by_role("radio", name=re.compile("Supporting healing")).check()
    card.get_by_role("button", name="Cancel the old one and create a new invitation").click()
    new_link = page.locator("#invite-link").input_value()
    assert new_link != link
    guest = open_partner("guest", viewport=VIEWPORTS[size])
    sign_up(guest, base, "Sam")
    guest.page.goto(link)
    expect(guest.page.get_by_role("heading", level=1)).to_have_text(re.compile("nothing here|no longer|not", re.I))
    guest.page.goto(new_link)
    expect(guest.page.get_by_role("heading", name="Riley invites you")).to_be_visible()


# ---------------------------------------------------------------- 5. home: what now?

class Tab:
    """Another tab of the same person, for helpers that take a partner (`w.page`)."""

    def __init__(self, page):
        self.page = page


def now_row(w, name):
    return w.page.locator(f'section.now [data-now="{name}"]')


def test_home_answers_what_now_for_each_partner_live(e2e_server, open_partner, screenshot_dir):
    """Riley on a phone (light), Sam on a desktop (dark), as in the issue."""
    base = e2e_server.url
    r = open_partner("rebuilding", viewport=PHONE)
    s = open_partner("supporting", viewport=DESKTOP, color_scheme="dark")
    sign_up(r, base, "Riley")
    sign_up(s, base, "Sam")
    from .ui import accept
    accept(s, invite(r, base, "rebuilding"))
    for w in (r, s):
        w.page.goto(base + "/home")
        wait_connected(w)
    # Day one: nothing to mark, nothing waiting, the first step.
    expect(now_row(r, "due")).to_contain_text("You have not made a commitment yet")
    expect(now_row(s, "waiting")).to_contain_text("No boundaries yet")
    expect(now_row(r, "next")).to_contain_text("Step 1 of 10: Acknowledge and Validate Their Feelings")
    expect(now_row(s, "next")).to_contain_text("Step 1 of 8")

    # Riley makes a promise (in a second tab); Home says it is due today, live.
    tab = r.new_page()
    tab.goto(base + "/commitments")
    tab.wait_for_function("() => document.getElementById('conn-status')?.dataset.state === 'connected'")
    make_commitment(Tab(tab), "Tell you when I will be late, before I am late")
    due_link = now_row(r, "due").get_by_role("link", name="Tell you when I will be late, before I am late")
    expect(due_link).to_be_visible()
    expect(now_row(s, "due")).to_contain_text("You have not made a commitment yet"), "only one's own"

    # Riley writes a boundary; it waits for Sam's acceptance on Sam's open Home, and Riley's.
    tab.goto(base + "/boundaries")
    tab.wait_for_function("() => Boolean(window.coupleBoundaries && window.coupleBoundaries.sync.synced)")
    words = "We tell each other when plans change, before they change."
    tab.get_by_role("button", name="Add a boundary to Communication").click()
    tab.keyboard.type(words)
    tab.wait_for_function(IDLE)
    expect(now_row(s, "waiting").locator(".b-text")).to_have_text(words)
    expect(now_row(r, "waiting").locator(".b-text")).to_have_text(words)
    # Riley accepts their own wording: it leaves Riley's list, and Sam sees who accepted.
    tab.locator("li.b-item").first.get_by_role("button", name="Accept this wording").click()
    expect(now_row(r, "waiting")).to_contain_text("Nothing: you accepted the current wording")
    expect(now_row(s, "waiting")).to_contain_text("(Riley accepted)")

    # The partner's progress stays side by side, live.
    s_guide = s.new_page()
    s_guide.goto(base + "/guide")
    s_guide.wait_for_function("() => document.getElementById('conn-status')?.dataset.state === 'connected'")
    s_guide.locator("#step-1").get_by_role("radio", name="Working on it").click()
    sid = user_id(s)
    expect(r.page.locator(f'[data-strip-key="{sid}:supporting:1"]')).to_have_attribute("data-state", "working")
    expect(r.page.locator(f'[data-summary-for="{sid}"]')).to_have_text("0 of 8 practising · 1 working on it")
    expect(now_row(s, "next")).to_contain_text("Step 1 of 8: Educate Yourself · Working on it")
    shot(r, "home-phone-light", screenshot_dir)
    shot(s, "home-desktop-dark", screenshot_dir)
    no_axe_violations(r.page, "home phone light")
    no_axe_violations(s.page, "home desktop dark")

    # Riley marks it from Home: the link opens the day, Kept, and Home (the other tab) says done.
    due_link.click()
    expect(r.page).to_have_url(re.compile(r"/commitments/\d+\?day=.*#day-panel"))
    r.page.locator("#day-panel").get_by_role("button", name="Kept").click()
    expect(r.page.locator("#day-panel .mark-status")).to_have_text("Kept")
    tab.goto(base + "/home")
    expect(tab.locator('section.now [data-now="due"]')).to_contain_text("Done for today")
    # The home page is short: no two long lists (the steps are folded away).
    r.page.goto(base + "/home")
    wait_connected(r)
    expect(r.page.locator("details.all-steps").first).not_to_have_attribute("open", "")
    assert r.page.evaluate("() => document.documentElement.scrollHeight") < 2600


# ---------------------------------------------------------------- 4 and 9. rates and the detail page

def test_rates_say_what_they_mean_and_the_detail_page_tells_the_whole_story(
        e2e_server, open_partner, screenshot_dir):
    base = e2e_server.url
    r, s = linked_couple(open_partner, base, viewport=PHONE)
    s.page.set_viewport_size(DESKTOP)
    r.page.goto(base + "/commitments")
    wait_connected(r)
    # A promise that started three days ago (Riley began last week and records it now).
    form = r.page.locator("form.new-commitment")
    form.get_by_label("What will you do?").fill("Walk after dinner")
    form.get_by_role("radio", name="Every day").check()
    today = date.fromisoformat(r.page.evaluate("""() => { const d = new Date(); const p = (n) => String(n).padStart(2, '0');
        return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`; }"""))
    start = today - timedelta(days=3)
    form.get_by_label(re.compile("Starts")).fill(start.isoformat())
    form.get_by_role("button", name="Make this commitment").click()
    row = r.page.locator(".commitment-row", has_text="Walk after dinner")
    # Not "0% · 0 of 3 kept": the past days are not marked, and not counted.
    expect(row.locator('[data-rate="7"] .rate-text')).to_have_text("no days marked yet · 3 not marked")
    expect(r.page.locator(".rate-rule")).to_contain_text("kept ÷ marked")
    cid = row.locator("a.wording").get_attribute("href").rsplit("/", 1)[1]

    # Sam watches the detail page on a desktop; Riley marks a past day missed on the phone.
    s.page.goto(base + f"/commitments/{cid}")
    wait_connected(s)
    captions = s.page.locator("table.cal caption")
    months = (today.year - start.year) * 12 + today.month - start.month + 1
    expect(captions).to_have_count(months)
    expect(captions.first).to_have_text(start.strftime("%B %Y"))
    expect(s.page.get_by_role("link", name="Earlier months")).to_have_count(0)
    day3 = start.isoformat()
    r.page.goto(base + f"/commitments/{cid}?day={day3}#day-panel")
    wait_connected(r)
    panel = r.page.locator("#day-panel")
    expect(panel.get_by_role("button", name="Save note")).to_be_hidden()
    panel.get_by_role("button", name="Missed").click()
    expect(panel.locator(".mark-status")).to_have_text("Missed")
    # The rate moved, the way the page says a missed day does, on both screens.
    for w in (r, s):
        expect(w.page.locator('[data-rate="7"] .rate-text')).to_have_text(
            "0% · 0 of 1 marked day kept · 2 not marked")
    expect(s.page.locator("ol.history li").first).to_contain_text("Riley marked")
    expect(s.page.locator("ol.history li").first).to_contain_text("missed")
    # A correction is shown as one, with what it said before.
    panel.get_by_role("button", name="Kept").click()
    expect(s.page.locator("ol.history li").first).to_contain_text(re.compile(r"Riley corrected .*: now kept \(was missed\)"))
    expect(s.page.locator('[data-rate="7"] .rate-text')).to_have_text("100% · 1 of 1 marked day kept · 2 not marked")
    # A note under a marked day has its own save, which leaves kept as kept.
    panel.get_by_label(re.compile("Note")).fill("Around the park, twenty minutes.")
    panel.get_by_role("button", name="Save note").click()
    expect(panel.locator(".save-state")).to_have_text("Note saved")
    expect(panel.locator(".mark-status")).to_have_text("Kept")
    expect(s.page.locator("ol.history li").first).to_contain_text("Riley changed the note on")
    # Sam notices; it is in the history for both, and the lines say when.
    s.page.goto(base + f"/commitments/{cid}?day={day3}#day-panel")
    wait_connected(s)
    expect(s.page.locator("#day-panel .mark-note")).to_have_text("Around the park, twenty minutes.")
    s.page.locator("#day-panel").get_by_role("button", name="I noticed").click()
    expect(r.page.locator("ol.history li").first).to_contain_text("Sam noticed the mark on")
    expect(r.page.locator("ol.history li .h-when").first).to_have_text(re.compile(r"· \w{3} \d{1,2} \w{3}, \d\d:\d\d"))
    # Two unmarked days are left: the card lists them; once marked, the card goes away.
    todo = r.page.locator("section.todo")
    expect(todo.locator("li")).to_have_count(2)
    for back in (1, 2):
        d = (today - timedelta(days=back)).isoformat()
        r.page.goto(base + f"/commitments/{cid}?day={d}#day-panel")
        wait_connected(r)
        r.page.locator("#day-panel").get_by_role("button", name="Kept").click()
        expect(r.page.locator("#day-panel .mark-status")).to_have_text("Kept")
    expect(r.page.locator("section.todo")).to_be_hidden()
    shot(r, "commitment-phone-light", screenshot_dir)
    s.page.emulate_media(color_scheme="dark")
    shot(s, "commitment-desktop-dark", screenshot_dir)
    no_axe_violations(r.page, "commitment phone light")
    no_axe_violations(s.page, "commitment desktop dark")


# ---------------------------------------------------------------- 10. a 429 keeps what was typed

@pytest.fixture(scope="module")
def limited_server(tmp_path_factory):
    """`python app.py` with its rate limits on, as a person runs it."""
    server = start_server(tmp_path_factory.mktemp("limited"), name="limited")
    yield server
    server.stop()


@pytest.mark.parametrize("size", VIEWPORTS)
def test_a_rate_limit_keeps_what_was_typed(limited_server, open_partner, size):
    base = limited_server.url
    w = open_partner("guesser", viewport=VIEWPORTS[size])
    page = w.page
    email = unique_email("typed")
    status = None
    for n in range(12):
        page.goto(base + "/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(f"not the password {n}")
        with page.expect_response(lambda resp: resp.request.method == "POST") as answer:
            page.get_by_role("button", name="Log in").click()
        status = answer.value.status
        if status == 429:
            break
    assert status == 429
    expect(page.get_by_role("alert")).to_contain_text("Too many tries")
    expect(page.get_by_label("Email")).to_have_value(email)
    expect(page.get_by_role("alert")).to_contain_text("type your password again")
    no_axe_violations(page, f"login after 429 {size}")


def test_the_page_script_keeps_typing_through_a_429(e2e_server, open_partner):
    """A page driven by JavaScript: a 429 is waited out and retried; the words stay meanwhile."""
    base = e2e_server.url
    r, _s = linked_couple(open_partner, base, viewport=PHONE)
    r.page.goto(base + "/commitments")
    wait_connected(r)
    hits = []

    def once_limited(route):
        hits.append(route.request.url)
        if len(hits) == 1:
            route.fulfill(status=429, content_type="application/json",
                          body='{"error": "Too many tries. Please wait a minute and try again."}')
        else:
            route.continue_()

    r.page.route(re.compile(r".*/commitments$"), once_limited)
    form = r.page.locator("form.new-commitment")
    form.get_by_label("What will you do?").fill("Call my sister on Sunday")
    form.get_by_role("radio", name="Every day").check()
    form.get_by_role("button", name="Make this commitment").click()
    r.page.wait_for_function("() => document.getElementById('conn-status').textContent.includes('Saving')")
    expect(form.get_by_label("What will you do?")).to_have_value("Call my sister on Sunday")
    expect(r.page.locator(".commitment-row", has_text="Call my sister on Sunday")).to_have_count(1, timeout=20000)
    assert len(hits) == 2


# ---------------------------------------------------------------- the same, beyond one machine

@pytest.mark.postgres
@pytest.mark.redis
def test_home_stays_live_across_two_processes_on_postgresql_and_redis(
        tmp_path, postgres_url, redis_url, unique_channel, open_partner):
    """Riley on process 1, Sam on process 2 (one database, one Redis): Home's "what now" and the
    side-by-side progress follow the partner's changes that reach it through the queue."""
    from tests.scaleout_helpers import migrate, shared_env

    from .ui import accept

    migrate(postgres_url)
    env = {**shared_env(postgres_url, redis_url, unique_channel), "COUPLE_RATELIMIT": "0"}
    servers = []
    try:
        servers.append(start_server(tmp_path, env=env, name="p1"))
        servers.append(start_server(tmp_path, env=env, name="p2"))
        p1, p2 = (s.url for s in servers)
        r = open_partner("rebuilding", viewport=PHONE)
        s = open_partner("supporting", viewport=DESKTOP, color_scheme="dark")
        sign_up(r, p1, "Riley")
        sign_up(s, p2, "Sam")
        link = invite(r, p1, "rebuilding")
        accept(s, link.replace(p1, p2))
        s.page.goto(p2 + "/home")
        wait_connected(s)
        r.page.goto(p1 + "/boundaries")
        r.page.wait_for_function("() => Boolean(window.coupleBoundaries && window.coupleBoundaries.sync.synced)")
        words = "Each of us keeps a private journal; we share what we choose."
        r.page.get_by_role("button", name="Add a boundary to Privacy").click()
        r.page.keyboard.type(words)
        r.page.wait_for_function(IDLE)
        expect(now_row(s, "waiting").locator(".b-text")).to_have_text(words)
        r.page.locator("li.b-item").first.get_by_role("button", name="Accept this wording").click()
        expect(now_row(s, "waiting")).to_contain_text("(Riley accepted)")
        r.page.goto(p1 + "/guide")
        wait_connected(r)
        r.page.locator("#step-2").get_by_role("radio", name="Practising").click()
        rid = user_id(r)
        expect(s.page.locator(f'[data-strip-key="{rid}:rebuilding:2"]')).to_have_attribute("data-state", "practising")
        for server in servers:
            assert "Traceback" not in server.log()
    finally:
        for server in servers:
            server.stop()
