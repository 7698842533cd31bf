"""Account recovery in a real browser with real mail (issue 13): sign up and confirm the
address from the mail, then on another device "Forgot your password?" -> the mail arrives at
the real SMTP server (aiosmtpd, tests/support/mail_helpers.py) -> its link -> a new password ->
the first device's open tab is signed out by the server. On `make run`'s configuration (gevent +
SQLite) and on two processes over PostgreSQL and Redis (the link asked for on one process,
the open tab on the other)."""
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.mail_helpers import link_in
from tests.support.servers import PASSWORD, start_server

from .conftest import DESKTOP
from .ui import unique_email, wait_connected

pytestmark = [pytest.mark.browser, pytest.mark.server]
NEW_PASSWORD = "a completely different passphrase"
PHONE = {"width": 390, "height": 844}
SHOTS = Path(os.environ.get("COUPLE_SHOTS", "/work/shots/i13a"))


def _axe(w, label: str) -> None:
    """axe (WCAG 2.1 A/AA, light and dark) on a page only real mail leads to."""
    from .test_a11y import check, report

    found: dict = {}
    check(w.page, label, found)
    assert not found, "axe violations:\n" + report(found)


def _shot(w, name: str) -> None:
    if os.environ.get("COUPLE_SHOTS") is None and not SHOTS.parent.exists():
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    w.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _journey(old_base: str, new_base: str, smtp_server, open_partner, label: str) -> None:
    old = open_partner("old-device", viewport=PHONE)
    new = open_partner("new-device", viewport=DESKTOP)
    email = unique_email("recover")
    # Sign up: "check your inbox" (the same answer for every address), then log in.
    page = old.page
    page.goto(old_base + "/signup")
    page.get_by_label("What should we call you?").fill("Riley")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    _shot(old, f"{label}-signup-sent-phone")
    # Confirm the address from the mail (the account works meanwhile).
    confirm = link_in(smtp_server.wait_for(to=email), "/confirm/")
    page.goto(confirm)
    expect(page.get_by_role("button", name="Confirm this address")).to_be_visible()
    _axe(old, "/confirm/<token>")
    page.get_by_role("button", name="Confirm this address").click()
    page.wait_for_url(re.compile(r"/login"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(old_base + "/home")
    wait_connected(old)
    # Another device: forgot the password.
    other = new.page
    other.goto(new_base + "/login")
    other.get_by_role("link", name="Forgot your password?").click()
    _shot(new, f"{label}-forgot-desktop")
    other.get_by_label("Your account's email").fill(email)
    other.get_by_role("button", name="Send the link").click()
    expect(other.get_by_role("heading", name="Check your inbox")).to_be_visible()
    _shot(new, f"{label}-forgot-sent-desktop")
    message = smtp_server.wait_for(to=email, count=2)
    assert message["Subject"] == "Your sign-in link"
    other.goto(link_in(message, "/reset/"))
    expect(other.get_by_role("heading", name="Set a new password")).to_be_visible()
    _shot(new, f"{label}-reset-desktop")
    _axe(new, "/reset/<token>")
    other.get_by_label(re.compile("New password")).fill(NEW_PASSWORD)
    other.get_by_role("button", name="Set new password").click()
    other.wait_for_url(re.compile(r"/login"))
    expect(other.get_by_text("Your new password is set")).to_be_visible()
    # The first device's open tab was signed out by the server, without a click.
    page.wait_for_url(re.compile(r"/login"))
    # The new password works; the account and its data are all there.
    other.get_by_label("Email").fill(email)
    other.get_by_label("Password").fill(NEW_PASSWORD)
    other.get_by_role("button", name="Log in").click()
    other.wait_for_url(new_base + "/home")
    other.goto(new_base + "/account")
    expect(other.locator("#address")).to_contain_text("Confirmed")
    _shot(new, f"{label}-account-desktop")
    _axe(new, "/account with a confirmed address")
    answer = new.context.request.get(new_base + "/account/export")
    assert answer.status == 200 and email in answer.text()
    answer.dispose()


def test_recovery_journey_on_the_embedded_server(tmp_path, smtp_server, open_partner):
    server = start_server(tmp_path, env={"COUPLE_RATELIMIT": "0",
                                         "COUPLE_SMTP_URL": smtp_server.url})
    try:
        _journey(server.url, server.url, smtp_server, open_partner, "embedded")
        assert "Traceback" not in server.log()
    finally:
        server.stop()


@pytest.mark.postgres
@pytest.mark.redis
def test_recovery_journey_across_two_processes_on_postgresql_and_redis(
        tmp_path, smtp_server, postgres_url, redis_url, unique_channel, open_partner):
    from tests.support.scaleout_helpers import migrate, shared_env

    migrate(postgres_url)
    env = {**shared_env(postgres_url, redis_url, unique_channel), "COUPLE_RATELIMIT": "0",
           "COUPLE_SMTP_URL": smtp_server.url}
    servers = []
    try:
        servers.append(start_server(tmp_path, env=env, name="p1"))
        servers.append(start_server(tmp_path, env=env, name="p2"))
        _journey(servers[0].url, servers[1].url, smtp_server, open_partner, "scaleout")
        for server in servers:
            assert "Traceback" not in server.log()
    finally:
        for server in servers:
            server.stop()


def test_recovery_pages_on_a_phone(tmp_path, smtp_server, open_partner):
    """The new pages as a person sees them on a phone (screenshots looked at by hand)."""
    server = start_server(tmp_path, env={"COUPLE_RATELIMIT": "0",
                                         "COUPLE_SMTP_URL": smtp_server.url})
    try:
        w = open_partner("phone", viewport=PHONE)
        page = w.page
        page.goto(server.url + "/login")
        _shot(w, "login-phone")
        page.goto(server.url + "/forgot")
        page.get_by_role("button", name="Send the link").click()
        expect(page.locator(".error")).to_be_visible()
        _shot(w, "forgot-error-phone")
        page.goto(server.url + "/reset/" + "x" * 43)
        expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
        _shot(w, "bad-link-phone")
        email = unique_email("phone")
        page.goto(server.url + "/signup")
        page.get_by_label("What should we call you?").fill("Sam")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        page.get_by_role("link", name="Log in").click()
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(server.url + "/home")
        page.goto(server.url + "/account#address")
        expect(page.locator("#address")).to_contain_text("Not confirmed yet")
        page.get_by_role("button", name="Send the confirmation link").click()
        expect(page.get_by_text("A link to confirm your address is on its way")).to_be_visible()
        _shot(w, "account-address-phone")
        _axe(w, "/account with an unconfirmed address")
        page.goto(link_in(smtp_server.wait_for(to=email, count=2), "/confirm/"))
        expect(page.get_by_role("button", name="Confirm this address")).to_be_visible()
        _shot(w, "confirm-phone")
    finally:
        server.stop()
