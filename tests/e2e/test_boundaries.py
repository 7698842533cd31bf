"""The shared boundaries editor in two browsers: both type in one boundary at the same time and
see the same text; both accept and see "agreed"; an edit returns it to proposed for both;
edits made offline merge on reconnect."""
from functools import partial

import pytest
from playwright.sync_api import expect

from .ui import WAIT_MS, linked_couple, measure, wait_connected

pytestmark = [pytest.mark.browser, pytest.mark.server]

SYNCED = "() => Boolean(window.coupleBoundaries && window.coupleBoundaries.sync.synced)"
IDLE = "() => Boolean(window.coupleBoundaries && window.coupleBoundaries.sync.idle())"


def open_boundaries(w, base):
    w.page.goto(base + "/boundaries")
    wait_connected(w)
    w.page.wait_for_function(SYNCED)


def add_boundary(latency_log, r, s, group_label="Communication") -> str:
    """The rebuilding partner adds an empty boundary; returns its textarea's id."""
    before = r.page.locator("textarea.b-text").count()
    measure(latency_log, "add boundary (click)", r, s,
            r.page.get_by_role("button", name=f"Add a boundary to {group_label}").click,
            f"document.querySelectorAll('textarea.b-text').length === {before + 1}")
    textarea = r.page.locator("textarea.b-text").nth(before)
    expect(textarea).to_be_focused()
    return textarea.get_attribute("id")


def values(w, sel):
    return w.page.locator(sel).input_value()


def test_co_write_agree_and_edit_back_to_proposed(e2e_server, open_partner, latency_log):
    base = e2e_server.url
    r, s = linked_couple(open_partner, base)
    open_boundaries(r, base)
    open_boundaries(s, base)
    expect(r.page.locator("#b-count")).to_have_text("0 of 0 agreed")

    tid = add_boundary(latency_log, r, s)
    sel = f"#{tid}"
    r_text, s_text = r.page.locator(sel), s.page.locator(sel)
    base_words = "We tell each other when plans change"
    r_text.type(base_words)
    expect(s_text).to_have_value(base_words)
    # Presence: the partner sees who is in this boundary.
    expect(s.page.locator(f'li.b-item:has({sel}) .b-presence')).to_have_text("Riley is here")

    # Both type at the same moment: Riley at the end, Sam at the start, keystrokes interleaved.
    s_text.focus()
    s.page.keyboard.press("Control+Home")
    r_text.focus()
    r.page.keyboard.press("Control+End")
    tail, head = ", before it happens.", "Both of us: "
    for i in range(max(len(tail), len(head))):
        if i < len(tail):
            r.page.keyboard.type(tail[i])
        if i < len(head):
            s.page.keyboard.type(head[i])
    final = head + base_words + tail
    expect(r_text).to_have_value(final)
    expect(s_text).to_have_value(final)
    r.page.wait_for_function(IDLE)
    s.page.wait_for_function(IDLE)

    # Keystroke latency, each way, one character at a time.
    for who, other, ch in [(r, s, "!"), (s, r, "?")] * 4:
        who.page.locator(sel).focus()
        who.page.keyboard.press("Control+End")
        n = len(who.page.locator(sel).input_value()) + 1
        measure(latency_log, "boundary keystroke", who, other, partial(who.page.keyboard.type, ch),
                f"document.querySelector('{sel}').value.length === {n}")
    r.page.locator(sel).focus()
    r.page.keyboard.press("Control+End")
    for _ in range(8):
        r.page.keyboard.press("Backspace")
    expect(s_text).to_have_value(final)
    r.page.wait_for_function(IDLE)
    s.page.wait_for_function(IDLE)

    # Both accept the exact wording → agreed, for both.
    r_item = r.page.locator(f"li.b-item:has({sel})")
    s_item = s.page.locator(f"li.b-item:has({sel})")
    measure(latency_log, "accept boundary (click)", r, s,
            r_item.get_by_role("button", name="Accept this wording").click,
            f"document.querySelector('li.b-item:has({sel}) .b-badge').textContent"
            " === 'Accepted by Riley'")
    expect(r_item.locator(".b-badge")).to_have_text("Accepted by You")
    measure(latency_log, "accept boundary (click)", s, r,
            s_item.get_by_role("button", name="Accept this wording").click,
            f"document.querySelector('li.b-item:has({sel}) .b-badge').textContent"
            " === 'Agreed by both'")
    for w, item in ((r, r_item), (s, s_item)):
        expect(item.locator(".b-badge")).to_have_text("Agreed by both")
        expect(w.page.locator("#b-count")).to_have_text("1 of 1 agreed")

    # One edits → back to proposed, visibly, on both pages.
    s_text.focus()
    s.page.keyboard.press("Control+End")
    measure(latency_log, "edit returns boundary to proposed", s, r,
            lambda: s.page.keyboard.type(" Always."),
            f"document.querySelector('li.b-item:has({sel}) .b-badge').textContent === 'Proposed'")
    for w, item in ((r, r_item), (s, s_item)):
        expect(item.locator(".b-badge")).to_have_text("Proposed")
        expect(item.locator(".b-note")).to_contain_text("needs accepting again")
        expect(w.page.locator("#b-count")).to_have_text("0 of 1 agreed")
    expect(r_text).to_have_value(final + " Always.")


def test_boundary_edits_made_offline_merge_on_reconnect(e2e_server, open_partner):
    base = e2e_server.url
    r, s = linked_couple(open_partner, base)
    open_boundaries(r, base)
    open_boundaries(s, base)
    r.page.get_by_role("button", name="Add a boundary to Privacy").click()
    sel = "#" + r.page.locator("textarea.b-text").first.get_attribute("id")
    r.page.locator(sel).type("Phones stay private")
    expect(s.page.locator(sel)).to_have_value("Phones stay private")
    r.page.wait_for_function(IDLE)

    r.context.set_offline(True)
    expect(r.page.locator("#conn-status")).to_have_attribute("data-state", "offline")
    r.page.locator(sel).focus()
    r.page.keyboard.press("Control+End")
    r.page.keyboard.type(", unless one of us asks to share.")
    s.page.locator(sel).focus()
    s.page.keyboard.press("Control+Home")
    s.page.keyboard.type("Always: ")
    s.page.get_by_role("button", name="Add a boundary to Behaviour").click()
    s.page.keyboard.type("No shouting; a pause instead")
    expect(r.page.locator(sel)).to_have_value(
        "Phones stay private, unless one of us asks to share.")

    r.context.set_offline(False)
    wait_connected(r)
    final = "Always: Phones stay private, unless one of us asks to share."
    expect(r.page.locator(sel)).to_have_value(final, timeout=WAIT_MS)
    expect(s.page.locator(sel)).to_have_value(final, timeout=WAIT_MS)
    expect(r.page.locator('ul[data-group="behaviour"] textarea.b-text')).to_have_value(
        "No shouting; a pause instead")
    # A fresh load agrees: nothing lost, nothing doubled.
    r.page.wait_for_function(IDLE)
    s.page.wait_for_function(IDLE)
    fresh = r.new_page()
    fresh.goto(base + "/boundaries")
    fresh.wait_for_function(SYNCED)
    expect(fresh.locator(sel)).to_have_value(final)
    expect(fresh.locator("textarea.b-text")).to_have_count(2)


def test_an_offline_merge_past_the_limit_is_kept_and_shown_over_the_limit(e2e_server,
                                                                          open_partner):
    """Issue 11: a step 2 that tips a boundary over 2,000 characters is kept (nothing typed is
    lost) and both partners see "over the limit, please trim" on it."""
    base = e2e_server.url
    r, s = linked_couple(open_partner, base)
    open_boundaries(r, base)
    open_boundaries(s, base)
    r.page.get_by_role("button", name="Add a boundary to Privacy").click()
    sel = "#" + r.page.locator("textarea.b-text").first.get_attribute("id")
    r.page.locator(sel).fill("a" * 1200)
    expect(s.page.locator(sel)).to_have_value("a" * 1200)
    r.page.wait_for_function(IDLE)

    r.context.set_offline(True)
    expect(r.page.locator("#conn-status")).to_have_attribute("data-state", "offline")
    r.page.locator(sel).fill("a" * 1200 + "r" * 700)
    s.page.locator(sel).fill("s" * 700 + "a" * 1200)
    s.page.wait_for_function(IDLE)
    r.context.set_offline(False)
    wait_connected(r)
    merged = "s" * 700 + "a" * 1200 + "r" * 700
    for w in (r, s):
        expect(w.page.locator(sel)).to_have_value(merged, timeout=20000)
        note = w.page.locator(f'li.b-item:has({sel}) .b-note')
        expect(note).to_contain_text("Over the limit by 600 characters, please trim.")
        expect(w.page.locator("#b-problem")).to_be_hidden()
    r.page.wait_for_function(IDLE)
    fresh = r.new_page()
    fresh.goto(base + "/boundaries")
    fresh.wait_for_function(SYNCED)
    expect(fresh.locator(sel)).to_have_value(merged)
