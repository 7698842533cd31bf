"""A couple's first week, the layout a phone user meets (issue 12, items 6-8), in Chromium on a
phone (390x844) and a desktop: every section in the tab bar without sideways scrolling, the guide's
step index, the invitation's Copy and Share and its honest hours. The rest is in
test_first_week.py."""
import re

import pytest
from playwright.sync_api import expect

from .test_first_week import SECTIONS, VIEWPORTS, no_axe_violations, shot
from .ui import invite, linked_couple, sign_up, user_id, wait_connected

pytestmark = [pytest.mark.browser, pytest.mark.server]


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
            return Boolean(el && el.closest('nav.tabs a') &&
                           el.closest('a').textContent.trim() === name);
        }""", [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, name]), name
        assert box["height"] >= 44, f"{name}: a touch target of 44 px at least"
    sizes = w.page.evaluate("""() => {
        const ul = document.querySelector('nav.tabs ul');
        return {ul: [ul.scrollWidth, ul.clientWidth],
                page: [document.documentElement.scrollWidth, innerWidth]};
    }""")
    assert sizes["ul"][0] <= sizes["ul"][1] and sizes["page"][0] <= sizes["page"][1], sizes
    # Safety and Account are one tap away, no scrolling first.
    nav.get_by_role("link", name="Safety", exact=True).click()
    expect(w.page).to_have_url(base + "/safety")
    main_nav = w.page.get_by_role("navigation", name="Main")
    main_nav.get_by_role("link", name="Account", exact=True).click()
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
    other.wait_for_function(
        "() => document.getElementById('conn-status')?.dataset.state === 'connected'")
    other.locator("#step-7").get_by_role("radio", name="Working on it").click()
    expect(index.locator(f'[data-progress-key="{user_id(r)}:rebuilding:7"]')).to_have_text(
        "Working on it")
    no_axe_violations(r.page, f"guide {size}")
    # The partner's guide, read-only, has the index too (without states).
    s.page.goto(base + "/guide/rebuilding")
    partners_index = s.page.get_by_role("navigation", name="The 10 steps")
    expect(partners_index.get_by_role("link")).to_have_count(10)


# ---------------------------------------------------------------- 8. the invitation

FAKE_SHARE = """() => {
  window.__shared = null;
  Object.defineProperty(navigator, 'share',
                        {configurable: true, value: async (data) => { window.__shared = data; }});
  Object.defineProperty(navigator, 'canShare', {configurable: true, value: () => true});
}"""
NO_CLIPBOARD = """() => {
  Object.defineProperty(navigator, 'clipboard', {configurable: true, value: undefined});
}"""


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
    assert page.evaluate("""() => { const t = document.getElementById('invite-link');
        return t.scrollHeight <= t.clientHeight + 1 && t.scrollWidth <= t.clientWidth; }""")
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
    selected = page.evaluate("""() => { const t = document.getElementById('invite-link');
        return t.value.slice(t.selectionStart, t.selectionEnd); }""")
    assert selected == link or page.evaluate("() => navigator.clipboard === undefined")
    no_axe_violations(page, f"pair {size}")
    shot(w, f"invitation-{size}", screenshot_dir)
    # It says plainly what a new invitation does to this one, and that is what happens.
    card = page.locator("section",
                        has=page.get_by_role("heading", name="Make a new invitation instead"))
    expect(card).to_contain_text("This cancels the invitation above")
    card.get_by_role("radio", name=re.compile("Supporting healing")).check()
    card.get_by_role("button", name="Cancel the old one and create a new invitation").click()
    new_link = page.locator("#invite-link").input_value()
    assert new_link != link
    guest = open_partner("guest", viewport=VIEWPORTS[size])
    sign_up(guest, base, "Sam")
    guest.page.goto(link)
    expect(guest.page.get_by_role("heading", level=1)).to_have_text(
        re.compile("nothing here|no longer|not", re.I))
    guest.page.goto(new_link)
    expect(guest.page.get_by_role("heading", name="Riley invites you")).to_be_visible()
