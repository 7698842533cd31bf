"""Offline and back: one partner loses the network, both keep working, both converge."""
import re

import pytest
from playwright.sync_api import expect

from .ui import WAIT_MS, linked_couple, user_id

pytestmark = [pytest.mark.browser, pytest.mark.server]


def progress_badges(page) -> dict:
    return page.evaluate("""() => Object.fromEntries(
        [...document.querySelectorAll('[data-progress-key]')]
          .map((b) => [b.dataset.progressKey, b.textContent.trim()]))""")


def choose(page, step: int, label: str) -> None:
    page.locator(f"#step-{step}").get_by_role("radio", name=label).click()


def test_offline_partner_converges_with_nothing_lost(e2e_server, open_partner):
    base = e2e_server.url
    r, s = linked_couple(open_partner, base)
    rid, sid = user_id(r), user_id(s)
    r_guide, r_home = r.page, r.new_page()
    s_guide, s_home = s.page, s.new_page()
    for page in (r_guide, s_guide):
        page.goto(base + "/guide")
    for page in (r_home, s_home):
        page.goto(base + "/home")
    for page in (r_guide, r_home, s_guide, s_home):
        page.wait_for_function(
            "() => document.getElementById('conn-status').dataset.state === 'connected'")

    r.context.set_offline(True)
    for page in (r_guide, r_home):
        expect(page.locator("#conn-status")).to_have_attribute("data-state", "offline")
        expect(page.locator("#conn-status")).to_have_text(re.compile("Offline"))
        # Said once, politely, to a screen reader too.
        expect(page.locator("#announcer")).to_have_text(re.compile("You are offline"))

    # Offline: the rebuilding partner keeps working; nothing is saved yet, and the page says so.
    choose(r_guide, 1, "Working on it")
    choose(r_guide, 2, "Practising")
    step4 = r_guide.locator("#step-4")
    step4.get_by_label(re.compile("Your reflection")).fill("Written on the train, offline.")
    step4.get_by_role("button", name="Save", exact=True).click()
    expect(r_guide.locator("#conn-status")).to_have_text(re.compile(r"3 changes not saved yet"))
    expect(step4.locator(".save-state")).to_have_text("Saving…")

    # Meanwhile, online: the supporting partner works too.
    choose(s_guide, 1, "Practising")
    choose(s_guide, 3, "Working on it")
    expect(s_home.locator(f'[data-progress-key="{sid}:supporting:3"]')).to_have_text(
        "Working on it")
    # The offline side has not seen it, and its partner has not seen the offline changes.
    expect(r_home.locator(f'[data-progress-key="{sid}:supporting:3"]')).to_have_text("Not started")
    expect(s_home.locator(f'[data-progress-key="{rid}:rebuilding:1"]')).to_have_text("Not started")

    # Everything the live region says from now on (it may say several things in a row).
    r_home.evaluate("""() => { window.__said = [];
      new MutationObserver(
        () => window.__said.push(document.getElementById('announcer').textContent))
        .observe(document.getElementById('announcer'),
                 {childList: true, characterData: true, subtree: true}); }""")
    r.context.set_offline(False)
    for page in (r_guide, r_home):
        wait_connected_page(page)
    r_home.wait_for_function("() => window.__said.some((t) => t.includes('Back online.'))")
    assert not any("Connection lost" in t for t in r_home.evaluate("() => window.__said"))
    expect(step4.locator(".save-state")).to_have_text("Saved")
    expect(r_guide.locator("#conn-status")).to_have_text("Live")
    # Applied once, however often it was retried (op ids): the first version, not one per try.
    expect(step4.locator('input[name="version"]')).to_have_value("1")
    # Shared after coming back: the partner sees the reflection written offline.
    step4.get_by_role("button", name="Share this reflection with your partner").click()

    expected = {
        f"{rid}:rebuilding:1": "Working on it", f"{rid}:rebuilding:2": "Practising",
        f"{sid}:supporting:1": "Practising", f"{sid}:supporting:3": "Working on it",
    }
    for page in (r_home, s_home):
        for key, label in expected.items():
            expect(page.locator(f'[data-progress-key="{key}"]')).to_have_text(label)
    expect(s_home.locator(f'[data-shared-key="{rid}:rebuilding:4"] .reflection-text')).to_have_text(
        "Written on the train, offline.")
    # Both open pages agree with each other, and with what a fresh load shows: nothing lost.
    live_view = progress_badges(r_home)
    assert live_view == progress_badges(s_home)
    fresh = r.new_page()
    fresh.goto(base + "/home")
    assert progress_badges(fresh) == live_view
    fresh.goto(base + "/guide")
    expect(fresh.locator("#refl-4")).to_have_value("Written on the train, offline.")


def wait_connected_page(page):
    page.wait_for_function(
        "() => document.getElementById('conn-status').dataset.state === 'connected'",
        timeout=WAIT_MS)
