"""A commitment's reminder in Chromium, as both partners, on a phone and a desktop: the owner
turns it on and changes its time on the commitment's page; the partner's view of the same page
has no trace of it. axe finds nothing on the owner's page with the reminder on or off.
Screenshots go to COUPLE_SHOTS (default test-artifacts/screenshots/reminders)."""
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import need
from tests.support.servers import ROOT

from .conftest import DESKTOP
from .test_a11y import check, report
from .test_commitments import make_commitment
from .ui import linked_couple, user_id, wait_connected

pytestmark = [pytest.mark.browser, pytest.mark.server]

SHOTS = Path(os.environ.get("COUPLE_SHOTS", ROOT / "test-artifacts" / "screenshots" / "reminders"))


@pytest.mark.parametrize("viewport,label", [({"width": 390, "height": 844}, "phone"),
                                            (DESKTOP, "desktop")])
def test_owner_sets_a_reminder_and_the_partner_sees_nothing(e2e_server, open_partner, viewport,
                                                            label):
    need((ROOT / "node_modules" / "axe-core" / "axe.min.js").exists(), "npm ci (axe-core)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = e2e_server.url
    r, s = linked_couple(open_partner, base, viewport=viewport)
    r.page.goto(base + "/commitments")
    wait_connected(r)
    wording = f"Put the phone down at dinner ({label})"
    make_commitment(r, wording)
    link = r.page.locator(f'[data-list-for="{user_id(r)}"] a.wording', has_text=wording)
    expect(link).to_have_count(1)
    link.click()
    r.page.wait_for_url("**/commitments/*")
    url = r.page.url
    found: dict = {}

    section = r.page.locator("section.reminder")
    expect(section.get_by_role("heading", name="Reminder")).to_be_visible()
    box = section.get_by_label("Email me a reminder on the days it is due")
    expect(box).not_to_be_checked()
    expect(section.locator(".reminder-state")).to_have_text("Off.")
    check(r.page, f"owner detail, reminder off ({label})", found)
    box.check()
    section.get_by_label("At (your local time)").fill("07:45")
    section.get_by_role("button", name="Save reminder").click()
    expect(r.page.locator(".flash-success")).to_contain_text(
        "Reminder on: an email at 07:45 on the days it is due. It starts once your email address"
        " is confirmed")
    expect(r.page.locator(".reminder-unconfirmed")).to_be_visible()
    section = r.page.locator("section.reminder")
    expect(section.get_by_label("Email me a reminder on the days it is due")).to_be_checked()
    expect(section.get_by_label("At (your local time)")).to_have_value("07:45")
    expect(section.locator(".reminder-state")).to_have_text(
        "On: an email at 07:45 on the days it is due.")
    section.scroll_into_view_if_needed()
    r.page.screenshot(path=str(SHOTS / f"owner-reminder-on-{label}.png"), full_page=True)
    check(r.page, f"owner detail, reminder on ({label})", found)

    # A bad time that slips past the browser (a hand-made request) is a worded refusal.
    answer = r.page.evaluate("""async (action) => {
        const token = document.querySelector('meta[name="csrf-token"]').content;
        const res = await fetch(action, {method: "POST",
            headers: {"Content-Type": "application/json", "X-CSRFToken": token,
                      "Accept": "application/json"},
            body: JSON.stringify({enabled: true, time: "25:00"})});
        return [res.status, await res.json()];
    }""", url + "/reminder")
    assert answer[0] == 400 and "HH:MM" in answer[1]["error"]

    # The partner's view of the same commitment: no reminder, no time, no form.
    s.page.goto(url)
    expect(s.page.get_by_role("heading", name=wording)).to_be_visible()
    html = s.page.content()
    assert "reminder" not in html.lower() and "07:45" not in html
    s.page.screenshot(path=str(SHOTS / f"partner-view-{label}.png"), full_page=True)
    # The partner cannot set it either, even by hand.
    answer = s.page.evaluate("""async (action) => {
        const token = document.querySelector('meta[name="csrf-token"]').content;
        const res = await fetch(action, {method: "POST",
            headers: {"Content-Type": "application/json", "X-CSRFToken": token,
                      "Accept": "application/json"},
            body: JSON.stringify({enabled: false})});
        return res.status;
    }""", url + "/reminder")
    assert answer == 403

    # Off again: the owner's page says so.
    section = r.page.locator("section.reminder")
    section.get_by_label("Email me a reminder on the days it is due").uncheck()
    section.get_by_role("button", name="Save reminder").click()
    expect(r.page.locator(".flash-success")).to_contain_text("Reminder off.")
    assert not found, report(found)
