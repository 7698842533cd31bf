"""Ending an account in a real browser (issue 10 item 3): the tab that deletes the account lands
on a page that says so, although its own socket is cut by the server before the answer
arrives; the account's other tab is sent to the login page."""
import re

import pytest
from playwright.sync_api import expect

from tests.support.servers import PASSWORD

from .ui import sign_up

pytestmark = [pytest.mark.browser, pytest.mark.server]


def test_deletion_confirms_itself_where_the_person_lands(e2e_server, open_partner):
    base = e2e_server.url
    riley = open_partner("rebuilding")
    sign_up(riley, base, "Riley")
    other = riley.new_page()
    other.goto(base + "/home")
    other.wait_for_function(
        "() => document.getElementById('conn-status').dataset.state === 'connected'")
    page = riley.page
    page.goto(base + "/account")
    page.wait_for_function(
        "() => document.getElementById('conn-status').dataset.state === 'connected'")
    form = page.locator("form[action$='/account/delete']")
    form.get_by_label(re.compile("Your password")).fill(PASSWORD)
    form.get_by_label(re.compile("I understand")).check()
    form.get_by_role("button", name="Delete my account").click()
    # The server cuts this tab's socket ("io server disconnect") while the form's answer is on
    # its way; the answer must win over the socket's "you are signed out" redirect.
    page.wait_for_url(re.compile(r"/account/deleted$"))
    expect(page.get_by_role("heading", name="Your account has been deleted")).to_be_visible()
    page.wait_for_timeout(1500)
    assert page.url.endswith("/account/deleted")
    # The other tab was signed out by the server and went to the login page.
    other.wait_for_url(re.compile(r"/login"))
