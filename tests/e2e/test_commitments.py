"""Commitments in two browsers: one makes a promise and marks it kept; the other sees it appear,
live, and acknowledges it; only the owner can mark."""
import re

import pytest
from playwright.sync_api import expect

from .ui import linked_couple, measure, user_id, wait_connected

pytestmark = [pytest.mark.browser, pytest.mark.server]


def make_commitment(w, wording: str) -> None:
    form = w.page.locator("form.new-commitment")
    if not form.is_visible():
        w.page.locator("details#new > summary").click()
    form.get_by_label("What will you do?").fill(wording)
    form.get_by_role("radio", name="Every day").check()
    form.get_by_role("button", name="Make this commitment").click()


def test_commitment_made_marked_and_acknowledged_live(e2e_server, open_partner, latency_log):
    base = e2e_server.url
    r, s = linked_couple(open_partner, base)
    rid = user_id(r)
    for w in (r, s):
        w.page.goto(base + "/commitments")
        wait_connected(w)

    # While a page's socket is connected, its changes go over it (couple/socket_changes.py).
    posts = []
    for w in (r, s):
        w.page.on("request", lambda req: posts.append(req.url) if req.method == "POST" else None)
    wording = "Tell you when I will be late, before I am late"
    mine = f'[data-list-for="{rid}"]'
    measure(latency_log, "make commitment (click)", r, s, lambda: make_commitment(r, wording),
            f"[...document.querySelectorAll('{mine} a.wording')]"
            f".some((a) => a.textContent === {wording!r})")
    expect(r.page.locator("form.new-commitment .save-state")).to_have_text(
        "Made. It is in your list.")
    expect(s.page.locator("#announcer")).to_contain_text("Riley made a commitment")

    # Due today, on both pages; only the owner has Kept / Missed.
    r_due = r.page.locator("#due-list .due-row", has_text=wording)
    s_due = s.page.locator("#due-list .due-row", has_text=wording)
    expect(r_due).to_have_count(1)
    expect(s_due).to_have_count(1)
    expect(s_due.get_by_role("button", name="Kept")).to_have_count(0)
    expect(s_due.get_by_role("button", name="Missed")).to_have_count(0)
    expect(s_due.locator("form.ack-form")).to_be_hidden()

    r_due.get_by_label(re.compile("Note")).fill("Texted at six.")
    row = f'#due-list .due-row[data-owner="{rid}"]'  # the owner's due row, on either page
    measure(latency_log, "mark kept (click)", r, s, r_due.get_by_role("button", name="Kept").click,
            f"document.querySelector('{row} .mark-status')?.textContent === 'Kept'")
    expect(r_due.get_by_role("button", name="Kept")).to_have_attribute("aria-pressed", "true")
    expect(s_due.locator(".mark-note")).to_have_text("Texted at six.")
    expect(s.page.locator("#announcer")).to_contain_text("Riley marked")

    # The partner acknowledges: "I noticed", with a kind note; the owner sees it live.
    ack = s_due.locator("form.ack-form")
    expect(ack).to_be_visible()
    ack.get_by_label(re.compile("A kind note")).fill("Thank you, it helped.")
    measure(latency_log, "acknowledge (click)", s, r,
            ack.get_by_role("button", name="I noticed").click,
            f"!document.querySelector('{row} .ack-line').hidden")
    expect(r_due.locator(".ack-line")).to_have_text(re.compile("Sam noticed"))
    expect(r_due.locator(".ack-note")).to_have_text("Thank you, it helped.")
    # The owner's mark is untouched by the acknowledgement.
    expect(r_due.locator(".mark-status")).to_have_text("Kept")
    expect(r_due.locator(".mark-note")).to_have_text("Texted at six.")

    # The owner corrects their own mark; a miss is accepted as honest, the partner sees it.
    measure(latency_log, "mark corrected (click)", r, s,
            r_due.get_by_role("button", name="Missed").click,
            f"document.querySelector('{row} .mark-status')?.textContent === 'Missed'")
    expect(s_due.locator(".corrected")).to_be_visible()
    assert posts == [], posts

    # Offline (a phone in a lift): the owner changes the mark back. The page says it is not
    # saved yet and sends it once it is back online; the partner sees it then, and the owner's
    # page too. A change's trend refresh that cannot reach the server (here: refused by the
    # network, every time, so the case does not depend on timing) is no page error.
    r.page.route("**/commitments/trend/**", lambda route: route.abort("internetdisconnected"))
    r.context.set_offline(True)
    r_due.get_by_role("button", name="Kept").click()
    expect(r.page.locator("#conn-status")).to_contain_text("not saved yet")
    expect(r_due.locator(".save-state")).to_have_text("Saving…")
    r.page.wait_for_timeout(1000)
    expect(s_due.locator(".mark-status")).to_have_text("Missed")
    r.context.set_offline(False)
    expect(s_due.locator(".mark-status")).to_have_text("Kept")
    expect(r_due.get_by_role("button", name="Kept")).to_have_attribute("aria-pressed", "true")
    r.page.wait_for_timeout(1000)  # past the trend's refresh (250 ms after the change)
    assert r.problems() == [], r.problems()
    r.page.unroute("**/commitments/trend/**")


def test_the_owner_rewords_pauses_resumes_and_ends_live_on_the_detail_page(
        e2e_server, open_partner, screenshot_dir):
    """The owner's controls on a commitment's own page (owner on a phone, the partner on a
    desktop): each goes over the socket, the partner's open copy of the page follows live, a
    rewording from a tab that saw older words is refused with the saved ones, and an ended
    commitment keeps its history."""
    from .conftest import DESKTOP, PHONE

    base = e2e_server.url
    r, s = linked_couple(open_partner, base)
    r.page.set_viewport_size(PHONE)
    s.page.set_viewport_size(DESKTOP)
    r.page.goto(base + "/commitments")
    wait_connected(r)
    make_commitment(r, "Tell you where I am after work")
    row = r.page.locator(".commitment-row", has_text="Tell you where I am after work")
    expect(row).to_have_count(1)
    row.locator("a.wording").click()
    detail = r.page.url
    old_tab = r.context.new_page()  # the same person, an older tab of the same page
    for page in (r.page, old_tab, s.page):
        page.goto(detail)
        page.wait_for_function(
            "() => document.getElementById('conn-status')?.dataset.state === 'connected'")
    posts = []
    for page in (r.page, old_tab, s.page):
        page.on("request", lambda req: posts.append(req.url) if req.method == "POST" else None)
    badge = s.page.locator(".c-status")

    form = r.page.locator("form.reword")
    form.get_by_label(re.compile("New wording")).fill("Text you when I leave work")
    form.get_by_role("button", name="Reword").click()
    expect(s.page.locator("h1.wording")).to_have_text("Text you when I leave work")
    expect(s.page.locator("#announcer")).to_contain_text("Riley reworded a commitment")
    # The older tab held the first words' version: its rewording is refused, the saved words
    # shown, and nothing changes for the partner.
    expect(old_tab.locator("h1.wording")).to_have_text("Text you when I leave work")
    stale = old_tab.locator("form.reword")
    stale.locator('input[name="version"]').evaluate("(el) => { el.value = '1'; }")
    stale.get_by_label(re.compile("New wording")).fill("Call you after work")
    stale.get_by_role("button", name="Reword").click()
    expect(stale.locator(".save-state")).to_contain_text("Text you when I leave work")
    expect(s.page.locator("h1.wording")).to_have_text("Text you when I leave work")

    for button, label in (("Pause", "Paused"), ("Resume", "Active")):
        r.page.get_by_role("button", name=button, exact=True).click()
        expect(badge).to_have_text(label)
        expect(r.page.locator(".c-status")).to_have_text(label)
    r.page.screenshot(path=str(screenshot_dir / "commitment-owner-phone.png"), full_page=True)
    r.page.get_by_role("button", name="End it").click()
    expect(badge).to_have_text("Ended")
    expect(s.page.locator("#announcer")).to_contain_text("Riley ended")
    expect(r.page.locator("section.owner-controls")).to_be_hidden()
    s.page.screenshot(path=str(screenshot_dir / "commitment-partner-desktop-ended.png"),
                      full_page=True)
    assert posts == [], posts
    # A fresh load shows the same: nothing was only on the open pages.
    s.page.reload()
    expect(s.page.locator("h1.wording")).to_have_text("Text you when I leave work")
    expect(badge).to_have_text("Ended")
    expect(s.page.locator("ol.history")).to_contain_text("Tell you where I am after work")
    # To the list and Back: the list says it ended, and Back shows the page as it is now.
    s.page.get_by_role("link", name=re.compile("All commitments")).click()
    expect(s.page.locator(".commitment-row", has_text="Text you when I leave work")
           .locator(".c-status")).to_have_text("Ended")
    s.page.go_back()
    expect(s.page.locator("h1.wording")).to_have_text("Text you when I leave work")
    expect(s.page.locator(".c-status")).to_have_text("Ended")

