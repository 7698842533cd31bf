"""A couple's first week, in Chromium (issue 12, items 4-10): one partner on a phone (390x844), the
other on a desktop, light and dark. Each item is checked where a person would see it: the phone
tab bar, the guide's step index, the invitation's Copy/Share and hours, Home's "what now?" (live),
rates that say what they mean, the commitment detail page's months and history, and a 429 that
keeps what was typed."""
import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from .conftest import DESKTOP
from .test_boundaries import IDLE
from .test_commitments import make_commitment
from .ui import axe_violations, invite, linked_couple, sign_up, user_id, wait_connected

pytestmark = [pytest.mark.browser, pytest.mark.server]

PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}
SECTIONS = ["Home", "Guide", "Boundaries", "Commitments", "Partner", "Safety", "Account"]


def no_axe_violations(page, label):
    found = axe_violations(page)
    assert not found, f"{label}: " + "; ".join(f"{v['id']}: {v['nodes']}" for v in found)


def shot(w, name, screenshot_dir):
    w.page.screenshot(path=str(screenshot_dir / f"first-week-{name}.png"), full_page=True)


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
    expect(now_row(r, "next")).to_contain_text(
        "Step 1 of 10: Acknowledge and Validate Their Feelings")
    expect(now_row(s, "next")).to_contain_text("Step 1 of 8")

    # Riley makes a promise (in a second tab); Home says it is due today, live.
    tab = r.new_page()
    tab.goto(base + "/commitments")
    tab.wait_for_function(
        "() => document.getElementById('conn-status')?.dataset.state === 'connected'")
    promise = "Tell you when I will be late, before I am late"
    make_commitment(Tab(tab), promise)
    due_link = now_row(r, "due").get_by_role("link", name=promise)
    expect(due_link).to_be_visible()
    # Only one's own.
    expect(now_row(s, "due")).to_contain_text("You have not made a commitment yet")

    # Riley writes a boundary; it waits for Sam's acceptance on Sam's open Home, and Riley's.
    tab.goto(base + "/boundaries")
    tab.wait_for_function(
        "() => Boolean(window.coupleBoundaries && window.coupleBoundaries.sync.synced)")
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
    s_guide.wait_for_function(
        "() => document.getElementById('conn-status')?.dataset.state === 'connected'")
    s_guide.locator("#step-1").get_by_role("radio", name="Working on it").click()
    sid = user_id(s)
    expect(r.page.locator(f'[data-strip-key="{sid}:supporting:1"]')).to_have_attribute(
        "data-state", "working")
    expect(r.page.locator(f'[data-summary-for="{sid}"]')).to_have_text(
        "0 of 8 practising · 1 working on it")
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


# ---------------------------------------------------------------- 4 and 9. rates, detail page

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
    today = date.fromisoformat(r.page.evaluate("""() => {
        const d = new Date(); const p = (n) => String(n).padStart(2, '0');
        return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`; }"""))
    start = today - timedelta(days=3)
    form.get_by_label(re.compile("Starts")).fill(start.isoformat())
    form.get_by_role("button", name="Make this commitment").click()
    row = r.page.locator(".commitment-row", has_text="Walk after dinner")
    # Not "0% · 0 of 3 kept": the past days are not marked, and not counted.
    expect(row.locator('[data-rate="7"] .rate-text')).to_have_text(
        "no days marked yet · 3 not marked")
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
    # The calendar day's name, redrawn live, still holds the number it shows ("Mon 30 Nov:
    # missed", as the server writes it), not an ISO date a voice user cannot say.
    for w in (r, s):
        expect(w.page.locator(f'.months [data-day="{day3}"] > *')).to_have_attribute(
            "aria-label", re.compile(rf"^\w{{3}} {start.day} \w{{3}}: missed$"))
    # The rate moved, the way the page says a missed day does, on both screens.
    for w in (r, s):
        expect(w.page.locator('[data-rate="7"] .rate-text')).to_have_text(
            "0% · 0 of 1 marked day kept · 2 not marked")
    expect(s.page.locator("ol.history li").first).to_contain_text("Riley marked")
    expect(s.page.locator("ol.history li").first).to_contain_text("missed")
    # A correction is shown as one, with what it said before.
    panel.get_by_role("button", name="Kept").click()
    expect(s.page.locator("ol.history li").first).to_contain_text(
        re.compile(r"Riley corrected .*: now kept \(was missed\)"))
    expect(s.page.locator('[data-rate="7"] .rate-text')).to_have_text(
        "100% · 1 of 1 marked day kept · 2 not marked")
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
    expect(r.page.locator("ol.history li .h-when").first).to_have_text(
        re.compile(r"· \w{3} \d{1,2} \w{3}, \d\d:\d\d"))
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
