"""A couple's first week: a rate limit (429) keeps what was typed (issue 12, item 10), in Chromium
on a phone (390x844) and a desktop, on `python app.py` with its limits on; and a page driven by
JavaScript keeps its words while its outbox waits out a 429."""
import re

import pytest
from playwright.sync_api import expect

from tests.support.servers import start_server

from .test_first_week import PHONE, VIEWPORTS, no_axe_violations
from .ui import WAIT_MS, linked_couple, unique_email, wait_connected

pytestmark = [pytest.mark.browser, pytest.mark.server]


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
    """A page driven by JavaScript whose socket is down (a proxy that lets no WebSocket
    through) sends its changes as POSTs: a 429 is waited out and retried, the words stay
    meanwhile, and once the socket is back the page shows what was made."""
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
    r.page.evaluate("() => window.coupleLive.socket.disconnect()")
    expect(r.page.locator("#conn-status")).not_to_have_attribute("data-state", "connected")
    form = r.page.locator("form.new-commitment")
    form.get_by_label("What will you do?").fill("Call my sister on Sunday")
    form.get_by_role("radio", name="Every day").check()
    form.get_by_role("button", name="Make this commitment").click()
    expect(r.page.locator("#conn-status")).to_contain_text("1 change not saved yet")
    expect(form.get_by_label("What will you do?")).to_have_value("Call my sister on Sunday")
    expect(form.locator(".save-state")).to_have_text("Made. It is in your list.", timeout=WAIT_MS)
    assert len(hits) == 2
    r.page.evaluate("() => window.coupleLive.socket.connect()")
    wait_connected(r)
    expect(r.page.locator(".commitment-row", has_text="Call my sister on Sunday")).to_have_count(
        1, timeout=WAIT_MS)
