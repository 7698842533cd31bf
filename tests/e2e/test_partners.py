"""Two partners, two browsers: sign up, link, each their own guide, live progress, a shared
reflection, and an unlink that the other partner's open page shows at once."""
import re

import pytest
from playwright.sync_api import expect

from .ui import badge, linked_couple, measure, now_ms, user_id, wait_connected

pytestmark = [pytest.mark.browser, pytest.mark.server]

STATES = ["Working on it", "Practising", "Not started"]


def test_two_partners_link_follow_their_own_guides_and_see_each_other_live(
        e2e_server, open_partner, latency_log):
    base = e2e_server.url
    r, s = linked_couple(open_partner, base)
    rid, sid = user_id(r), user_id(s)

    # Each sees their own role's guide: ten steps rebuilding, eight supporting.
    r.page.goto(base + "/guide")
    expect(r.page.get_by_role("heading", level=1)).to_have_text(
        "What to do when your partner doesn't trust you")
    expect(r.page.locator("ol.guide > li.step")).to_have_count(10)
    s.page.goto(base + "/guide")
    expect(s.page.locator("ol.guide > li.step")).to_have_count(8)
    wait_connected(r)
    wait_connected(s)

    # The supporting partner watches home while the rebuilding partner works through the guide.
    s.page.goto(base + "/home")
    wait_connected(s)
    expect(s.page.get_by_role("heading", name=re.compile("Riley"))).to_be_visible()
    posts = []
    r.page.on("request", lambda req: posts.append(req.url) if req.method == "POST" else None)
    for step, label in [(1, "Working on it"), (1, "Practising"), (2, "Working on it"),
                        (3, "Working on it"), (3, "Practising"), (1, "Not started")]:
        radio = r.page.locator(f"#step-{step}").get_by_role("radio", name=label)
        key = f'[data-progress-key="{rid}:rebuilding:{step}"]'
        ms = measure(latency_log, "guide progress (click)", r, s, radio.click,
                     f"document.querySelector('{key}').textContent.trim() === '{label}'")
        assert ms >= 0
    # While its socket is connected the page sends progress over it (couple/socket_changes.py),
    # not as HTTP requests.
    assert posts == [], posts
    expect(badge(s.page, rid, "rebuilding", 3)).to_have_text("Practising")
    expect(s.page.locator(f'[data-summary-for="{rid}"]')).to_have_text(
        "1 of 10 practising · 1 working on it")

    # …and the other way round.
    r.page.goto(base + "/home")
    wait_connected(r)
    s.page.goto(base + "/guide")
    wait_connected(s)
    for step, label in [(1, "Working on it"), (2, "Practising")]:
        radio = s.page.locator(f"#step-{step}").get_by_role("radio", name=label)
        key = f'[data-progress-key="{sid}:supporting:{step}"]'
        measure(latency_log, "guide progress (click)", s, r, radio.click,
                f"document.querySelector('{key}').textContent.trim() === '{label}'")
    # The change was announced politely, and the page did not move the reader's focus.
    expect(r.page.locator("#announcer")).to_contain_text("Sam set")
    assert r.page.evaluate("() => document.activeElement === document.body")

    # A reflection is private until its writer shares it.
    r.page.goto(base + "/guide")
    wait_connected(r)
    s.page.goto(base + "/home")
    wait_connected(s)
    step2 = r.page.locator("#step-2")
    text = "I want to listen before I explain.\nSecond line, kept."
    step2.get_by_label(re.compile("Your reflection")).fill(text)
    step2.get_by_role("button", name="Save", exact=True).click()
    expect(step2.locator(".save-state")).to_have_text("Saved")
    shared_box = s.page.locator(f'[data-shared-key="{rid}:rebuilding:2"]')
    expect(shared_box).to_be_hidden()
    assert "I want to listen" not in s.page.content()

    share = step2.get_by_role("button", name="Share this reflection with your partner")
    measure(latency_log, "share reflection (click)", r, s, share.click,
            f"!document.querySelector('[data-shared-key=\"{rid}:rebuilding:2\"]').hidden")
    expect(shared_box.locator(".reflection-text")).to_have_text(text)
    expect(step2.locator("[data-privacy]")).to_have_text("shared with your partner")
    expect(s.page.locator("#announcer")).to_contain_text("Riley shared a reflection")

    unshare = step2.get_by_role("button", name="Make private again")
    measure(latency_log, "unshare reflection (click)", r, s, unshare.click,
            f"document.querySelector('[data-shared-key=\"{rid}:rebuilding:2\"]').hidden")
    expect(step2.locator("[data-privacy]")).to_have_text("private")
    step2.get_by_role("button", name="Share this reflection with your partner").click()
    expect(shared_box).to_be_visible()
    # Saving, sharing and unsharing went over the socket too.
    assert posts == [], posts

    # One unlinks, alone; the other's open page shows it at once.
    r.page.goto(base + "/pair")
    r.page.get_by_role("link", name="Unlink…").click()
    r.page.get_by_label("I want to unlink now").check()
    started = now_ms()
    r.page.get_by_role("button", name="Unlink").click()
    expect(s.page.locator("#main").get_by_text("Riley unlinked")).to_be_visible()
    shown = s.page.evaluate("() => performance.timeOrigin + performance.now()")
    latency_log.add("unlink reaches partner (click→page shows it, incl. reload)", shown - started)
    unlinked = s.page.get_by_role("heading", name="You are not linked with a partner yet")
    expect(unlinked).to_be_visible()
    expect(shared_box).to_have_count(0)
    assert "I want to listen" not in s.page.content()
    expect(r.page.locator("#main").get_by_text("You are unlinked")).to_be_visible()


def test_the_inviter_waiting_page_hears_accept_and_decline(e2e_server, open_partner):
    from .ui import accept as accept_link
    from .ui import invite, sign_up

    base = e2e_server.url
    r, s = open_partner("rebuilding"), open_partner("supporting")
    sign_up(r, base, "Riley")
    sign_up(s, base, "Sam")
    link = invite(r, base, "rebuilding")
    wait_connected(r)
    # Declined: the waiting page says so, and hides the link that no longer works.
    s.page.goto(link)
    s.page.get_by_role("button", name="Decline").click()
    expect(r.page.locator("#main .notice")).to_have_text(re.compile("declined"))
    expect(r.page.locator("[data-invite-card]")).to_be_hidden()
    # Accepted: the waiting page turns into the linked one by itself.
    link = invite(r, base, "rebuilding")
    wait_connected(r)
    accept_link(s, link)
    expect(r.page.get_by_role("heading", name="Your partner")).to_be_visible()
    expect(r.page.locator("#main")).to_contain_text("You are linked with Sam")
    expect(r.page.locator("#main .notice")).to_have_text(re.compile("accepted"))


def test_unlink_never_throws_away_what_the_partner_is_typing(e2e_server, open_partner):
    base = e2e_server.url
    r, s = linked_couple(open_partner, base)
    s.page.goto(base + "/guide")
    wait_connected(s)
    s.page.locator("#refl-3").fill("Half a thought I have not saved")
    r.page.goto(base + "/pair/unlink")
    r.page.get_by_label("I want to unlink now").check()
    r.page.get_by_role("button", name="Unlink").click()
    notice = s.page.locator("#main .notice")
    expect(notice).to_contain_text("Riley unlinked")
    expect(notice).to_contain_text("Save what you are writing")
    expect(s.page.locator("#refl-3")).to_have_value("Half a thought I have not saved")
    # Their reflection is their own: it still saves, then the page is refreshed on request.
    s.page.locator("#step-3").get_by_role("button", name="Save", exact=True).click()
    expect(s.page.locator("#step-3 .save-state")).to_have_text("Saved")
    notice.get_by_role("button", name="Refresh the page").click()
    expect(s.page.locator("#refl-3")).to_have_value("Half a thought I have not saved")
    expect(s.page.locator("#step-3 form.share")).to_have_count(0)
