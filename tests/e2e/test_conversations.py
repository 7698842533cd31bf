"""Conversations in two browsers, a phone and a desktop: one asks, the other answers openly, the
asker says what they heard, the answerer adds what was missed and then confirms; a break asked
by one pauses it for both; the asker's phone drops off and catches up on reconnecting; a second
round is set aside with "not ready yet". Screenshots go to /work/shots/i14/ (or
COUPLE_SHOTS_DIR)."""
import json
import os
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import DESKTOP
from .ui import accept, invite, measure, sign_up, wait_connected

pytestmark = [pytest.mark.browser, pytest.mark.server]
PHONE_390 = {"width": 390, "height": 844}
SHOTS = Path(os.environ.get("COUPLE_SHOTS_DIR", "/work/shots/i14"))


def shot(w, name):
    try:
        SHOTS.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    w.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def start_conversation(w, title, text, partner_name):
    form = w.page.locator("form.new-conv")
    if not form.is_visible():
        w.page.locator("details#new > summary").click()
    form.get_by_label("A short title").fill(title)
    form.get_by_label("Your question or feeling").fill(text)
    form.get_by_role("button", name=f"Send to {partner_name}").click()


def card(w, title):
    return w.page.locator("article.conv", has=w.page.get_by_role("heading", name=title))


def test_a_whole_round_with_a_break_and_a_reconnect(e2e_server, open_partner, latency_log):
    base = e2e_server.url
    r = open_partner("rebuilding", viewport=DESKTOP)
    s = open_partner("supporting", viewport=PHONE_390)
    sign_up(r, base, "Riley")
    sign_up(s, base, "Sam")
    accept(s, invite(r, base, "rebuilding"))
    for w in (r, s):
        w.page.goto(base + "/conversations")
        wait_connected(w)
        expect(w.page.get_by_role("link", name="Talk")).to_have_attribute("aria-current", "page")
    # While a page's socket is connected, each step goes over it (couple/socket_changes.py),
    # not as an HTTP request.
    posts = []
    for w in (r, s):
        w.page.on("request", lambda req: posts.append(req.url) if req.method == "POST" else None)

    # Sam (phone) asks. Riley's page shows it live, and says so without the words.
    form = s.page.locator("form.new-conv")
    form.get_by_label("A short title").fill("Last Friday")
    form.get_by_label("Your question or feeling").fill("Where were you on Friday evening?")
    title = "Last Friday"
    measure(latency_log, "conversation started (click)", s, r,
            form.get_by_role("button", name="Send to Riley").click,
            "[...document.querySelectorAll('article.conv h2')]"
            ".some((h) => h.textContent === 'Last Friday')")
    expect(r.page.locator("#announcer")).to_have_text(re.compile("Sam started a conversation"))
    expect(form.get_by_label("Your question or feeling")).to_have_value("")
    rc, sc = card(r, title), card(s, title)
    expect(sc.locator(".waiting-on")).to_have_text(re.compile("Waiting for Riley"))
    expect(sc.get_by_role("button", name="Withdraw my question")).to_be_visible()
    shot(s, "1-sam-phone-asked")

    # Riley (desktop) answers openly; "not ready yet" and "counsellor" are offered as answers.
    expect(rc.get_by_role("button", name="Not ready yet")).to_be_visible()
    expect(rc.get_by_role("button", name=re.compile("counsellor"))).to_be_visible()
    rc.get_by_label(re.compile("Your answer")).fill("At my sister's. I should have told you.")
    shot(r, "2-riley-desktop-answering")
    measure(latency_log, "conversation answered (click)", r, s,
            rc.get_by_role("button", name="Send my answer").click,
            "document.querySelector('article.conv .words + .entry') !== null || "
            "[...document.querySelectorAll('.entry .words')]"
            ".some((p) => p.textContent.startsWith('At my sister'))")
    expect(sc.locator(".entry .words")).to_have_text("At my sister's. I should have told you.")
    expect(sc.get_by_role("button", name="Withdraw my question")).to_have_count(0)

    # Sam hears it back; Riley adds what was missed; Sam hears again.
    sc.get_by_label(re.compile("What I heard")).fill(
        "You were at your sister's and wish you had said.")
    sc.get_by_role("button", name="Send what I heard").click()
    expect(rc.get_by_role("button", name="Yes, that's it")).to_be_visible()
    rc.get_by_label("Or add what was missed").fill("And that I was afraid to.")
    rc.get_by_role("button", name="Add what was missed").click()
    expect(sc.locator(".entry[data-entry=added] .words")).to_have_text("And that I was afraid to.")

    # Sam starts typing the second "what I heard"; Riley asks for a break meanwhile. The break
    # shows for both, at once, with the time Riley chose; Sam's typing stays on the page.
    heard = sc.get_by_label(re.compile("What I heard"))
    heard.fill("You were afraid to tell me")
    rc.locator("details.conv-break-form > summary").click()
    back = (datetime.now() + timedelta(days=1)).replace(hour=19, minute=0)
    rc.get_by_label("Come back to it on").fill(back.strftime("%Y-%m-%dT%H:%M"))
    why = "I need a break, let's come back tomorrow evening"
    rc.get_by_label(re.compile("A few words")).fill(why)
    rc.get_by_role("button", name="Take a break").click()
    expect(sc.locator(".conv-break")).to_contain_text("Riley asked for a break")
    expect(sc.locator(".conv-break")).to_contain_text("19:00")
    expect(sc.locator(".conv-break .quote")).to_have_text(why)
    expect(r.page.locator("#announcer")).not_to_have_text(re.compile("Sam"))  # nothing about Sam
    expect(s.page.locator("#announcer")).to_have_text(re.compile("Riley asked for a break"))
    expect(heard).to_have_value("You were afraid to tell me")
    expect(sc.get_by_role("button", name="Send what I heard")).to_be_disabled()
    expect(sc.get_by_role("button", name="Come back to it now")).to_have_count(0)  # Riley's break
    shot(s, "3-sam-phone-on-a-break")
    shot(r, "3-riley-desktop-on-a-break")
    rc.get_by_role("button", name="Come back to it now").click()
    expect(sc.get_by_role("button", name="Send what I heard")).to_be_enabled()
    expect(heard).to_have_value("You were afraid to tell me")
    heard.fill("You were afraid to tell me.")
    sc.get_by_role("button", name="Send what I heard").click()
    expect(rc.get_by_role("button", name="Yes, that's it")).to_be_visible()

    # Sam's phone loses the network; Riley confirms meanwhile; Sam catches up on reconnecting.
    s.context.set_offline(True)
    expect(s.page.locator("#conn-status")).to_have_attribute("data-state", "offline")
    rc.get_by_role("button", name="Yes, that's it").click()
    expect(rc.locator('.round[data-round="1"] .round-status')).to_have_text("Heard")
    expect(sc.locator('.round[data-round="1"] .round-status')).not_to_have_text("Heard")
    s.context.set_offline(False)
    wait_connected(s)
    expect(sc.locator('.round[data-round="1"] .round-status')).to_have_text("Heard")
    expect(sc.locator(".entry[data-entry=confirmed]")).to_contain_text("Riley confirmed")
    shot(s, "4-sam-phone-heard-after-reconnect")

    # Another round: Sam asks again; Riley is not ready yet, a full answer; nothing more is asked.
    sc.get_by_label(re.compile("What you would like to ask or share")).fill("Who else knew?")
    sc.get_by_role("button", name="Send", exact=True).click()
    expect(rc.locator('.round[data-round="2"] .words')).to_have_text("Who else knew?")
    rc.get_by_role("button", name="Not ready yet").click()
    second = sc.locator('.round[data-round="2"]')
    expect(second.locator(".round-status")).to_have_text("Set aside, respectfully")
    expect(second.locator(".entry")).to_contain_text("is not ready yet. That is a full answer.")
    expect(sc.get_by_label(re.compile("What I heard"))).to_have_count(0)
    shot(r, "5-riley-desktop-set-aside")

    # A second conversation is drawn above the first on the partner's page (newest first):
    # only the changed card is asked for and put in its place.
    start_conversation(r, "Next week", "Can we plan next week together?", "Sam")
    open_titles = s.page.locator("#conv-open article.conv h2")
    expect(open_titles).to_have_text(["Next week", title])
    # A cards answer that fails (a restart's 503) is asked for again until the card is drawn.
    failed, cards_asked = [], re.compile(r".*/conversations\?.*cards=.*")

    def fail_once(route):
        if failed:
            route.continue_()
        else:
            failed.append(route.request.url)
            route.fulfill(status=503, body="restarting")

    s.page.route(cards_asked, fail_once)
    card(r, "Next week").get_by_role("button", name="Withdraw my question").click()
    expect(card(s, "Next week").locator(".withdrawn")).to_be_visible()
    assert len(failed) == 1, failed
    s.page.unroute(cards_asked)

    # Either can close it; it stays, under Closed, for both.
    rc.get_by_role("button", name="Close this conversation").click()
    expect(s.page.locator("#conv-closed article.conv")).to_have_count(1)
    expect(open_titles).to_have_text(["Next week"])
    expect(r.page.locator("#conv-open article.conv h2")).to_have_text(["Next week"])
    shot(s, "6-sam-phone-closed")
    assert posts == [], posts
    # Closed, it folds to its title (the page stays light after years of talking); its words
    # are there again on request, and stay open when the partner's page changes meanwhile.
    folded = s.page.locator("#conv-closed article.conv")
    expect(folded.locator(".words")).to_have_count(0)
    folded.get_by_role("link", name=re.compile("Read it again")).click()
    first_words = s.page.locator("#conv-closed .words").first
    expect(first_words).to_have_text("Where were you on Friday evening?")
    # "Read it again" is a link: the page loads anew, and its words are in the served HTML before
    # the page's script has run. Wait for the script and its connection, then refresh as a
    # partner's change would.
    s.page.wait_for_function("() => window.coupleConversations !== undefined")
    wait_connected(s)
    s.page.evaluate("window.coupleConversations.refresh()")
    expect(first_words).to_have_text("Where were you on Friday evening?")
    # Cards are asked for by id; more than 20 at once (back after a long time offline) are one
    # ask for the whole page. Either way the page stays as it was, the card being read too.
    def asks(ids_js, by_id):
        with s.page.expect_response(lambda r: "/conversations?" in r.url
                                    and ("cards=" in r.url) == by_id) as answer:
            s.page.evaluate(f"() => window.coupleConversations.refresh({ids_js})")
        assert answer.value.ok and "read=" in answer.value.url, answer.value.url
        return answer.value.url

    cids = sorted(int(a.get_attribute("data-conv")) for a in s.page.locator("article.conv").all())
    by_id = asks(json.dumps(cids), by_id=True)
    assert sorted(int(v) for v in re.findall(r"cards=(\d+)", by_id)) == cids, by_id
    asks("[...Array(25).keys()].map((i) => i + 1)", by_id=False)
    expect(first_words).to_have_text("Where were you on Friday evening?")
    expect(open_titles).to_have_text(["Next week"])
    shot(s, "6b-sam-phone-closed-read-again")

    # A printable summary for a counsellor: the chosen conversation beside the agreed boundaries.
    r.page.goto(base + "/conversations")
    r.page.get_by_role("link", name="A printable summary for your counsellor").click()
    r.page.get_by_role("checkbox", name=title).check()
    r.page.get_by_role("button", name="Show the chosen ones").click()
    expect(r.page.locator(".c-print-conv h3")).to_have_text(title)
    expect(r.page.locator(".c-print-conv")).to_contain_text("Where were you on Friday evening?")
    expect(r.page.get_by_role("heading", name="Our agreed boundaries")).to_be_visible()
    r.page.emulate_media(media="print")
    shot(r, "7-riley-print-summary")
    r.page.emulate_media(media="screen")


def test_words_are_text_and_typing_survives_a_withdrawal(e2e_server, open_partner):
    """The XSS corpus as a title, a question and a partner's name shows as text on the live
    path and on a fresh load; and when a question is withdrawn while the partner is typing
    their answer, the answer is not dropped: it is shown under the card, not sent."""
    from .test_xss import CORPUS, NAME_S, assert_inert
    from .ui import linked_couple

    base = e2e_server.url
    r, s = linked_couple(open_partner, base, supporting_name=NAME_S)
    for w in (r, s):
        w.page.goto(base + "/conversations")
        wait_connected(w)
    words = "\n".join(CORPUS)
    title = CORPUS[0]
    start_conversation(r, title, words, NAME_S)
    expect(card(s, title).locator(".round .words").first).to_have_text(words)
    assert_inert(r, s)
    s.page.reload()
    wait_connected(s)
    expect(card(s, title).locator(".round .words").first).to_have_text(words)
    assert_inert(r, s)

    # Sam types an answer; Riley withdraws the question meanwhile.
    answer = card(s, title).get_by_label(re.compile("Your answer"))
    answer.fill("Half of what I wanted to say")
    card(r, title).get_by_role("button", name="Withdraw my question").click()
    expect(card(s, title).locator(".withdrawn")).to_be_visible()
    unsent = card(s, title).locator(".unsent textarea")
    expect(unsent).to_have_value("Half of what I wanted to say")
    expect(card(s, title).locator(".round .words")).to_have_count(0)  # the words are gone
    shot(s, "8-sam-phone-withdrawn-while-typing")
    assert_inert(r, s)


def test_esc_twice_while_answering_keeps_the_answer_for_its_writer_alone(e2e_server, open_partner):
    """A half-written answer survives a quick exit as the writer's own draft: shown back to
    them, marked not sent, never to the partner; sending it forgets the draft."""
    from .test_quickexit import exit_by, route_neutral, sign_in

    base = e2e_server.url
    r, s = open_partner("rebuilding"), open_partner("supporting", viewport=DESKTOP)
    r_email = sign_up(r, base, "Riley")
    sign_up(s, base, "Sam")
    accept(s, invite(r, base, "rebuilding"))
    for w in (r, s):
        w.page.goto(base + "/conversations")
        wait_connected(w)
    start_conversation(s, "Friday", "Where were you?", "Riley")
    answer = card(r, "Friday").get_by_label(re.compile("Your answer"))
    expect(answer).to_be_visible()
    draft = "Half of an honest answer, written before I lost my nerve"
    answer.click()
    r.page.keyboard.type(draft)
    exit_url = route_neutral(r)
    exit_by(r, "esc", exit_url)
    sign_in(r, base, r_email, then="/conversations")
    answer = card(r, "Friday").get_by_label(re.compile("Your answer"))
    expect(answer).to_have_value(draft)
    expect(card(r, "Friday").locator(".kept-draft")).to_contain_text("Only you can see it")
    s.page.reload()
    wait_connected(s)
    assert draft not in s.page.content()
    assert draft not in s.page.evaluate("() => fetch('/api/state').then((r) => r.text())")
    card(r, "Friday").get_by_role("button", name="Send my answer").click()
    expect(card(s, "Friday").locator(".entry .words")).to_have_text(draft)
    r.page.reload()
    wait_connected(r)
    expect(r.page.locator(".kept-draft")).to_have_count(0)
