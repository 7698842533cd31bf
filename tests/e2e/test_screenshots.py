"""Screenshots of the main pages, phone (375 px) and desktop, light and dark, for review and
for the README: saved into test-artifacts/screenshots/ (not committed)."""
import re

import pytest
from playwright.sync_api import expect

from .conftest import DESKTOP, PHONE
from .test_boundaries import IDLE, open_boundaries
from .test_commitments import make_commitment
from .ui import linked_couple, wait_connected

pytestmark = [pytest.mark.browser, pytest.mark.server]

SIGNED_IN = ["home", "guide", "commitments", "boundaries", "pair", "safety", "account"]
ANONYMOUS = ["index", "signup"]


def populate(r, s, base):
    """A couple a few days in: some steps under way, a shared reflection, a kept promise."""
    r.page.goto(base + "/guide")
    wait_connected(r)
    for step, label in [(1, "Practising"), (2, "Working on it"), (3, "Working on it")]:
        r.page.locator(f"#step-{step}").get_by_role("radio", name=label).click()
    step = r.page.locator("#step-1")
    step.get_by_label(re.compile("Your reflection")).fill(
        "When you ask where I was, I will answer plainly and not make you feel bad for asking.")
    step.get_by_role("button", name="Save", exact=True).click()
    expect(step.locator(".save-state")).to_have_text("Saved")
    step.get_by_role("button", name="Share this reflection with your partner").click()
    expect(step.locator("[data-privacy]")).to_have_text("shared with your partner")
    s.page.goto(base + "/guide")
    wait_connected(s)
    s.page.locator("#step-1").get_by_role("radio", name="Working on it").click()
    r.page.goto(base + "/commitments")
    wait_connected(r)
    make_commitment(r, "Tell you when I will be late, before I am late")
    due = r.page.locator("#due-list .due-row").first
    due.get_by_role("button", name="Kept").click()
    expect(due.locator(".mark-status")).to_have_text("Kept")
    # A second promise, still to mark today: Home's "what now" has something to say.
    make_commitment(r, "Put my phone away at dinner")
    expect(r.page.locator("#due-list .due-row")).to_have_count(2)
    s.page.goto(base + "/commitments")
    wait_connected(s)
    make_commitment(s, "Take a walk on my own when I feel flooded")
    # Two boundaries: one both accepted, one still proposed.
    for w in (r, s):
        open_boundaries(w, base)
    for group, words in (
            ("Communication", "We tell each other when plans change, before they change."),
            ("Privacy", "Each of us keeps a private journal; we share what we choose.")):
        r.page.get_by_role("button", name=f"Add a boundary to {group}").click()
        r.page.keyboard.type(words)
    first = 'li.b-item:has(textarea.b-text)'
    expect(s.page.locator(first).first.locator("textarea")).to_have_value(
        "We tell each other when plans change, before they change.")
    r.page.wait_for_function(IDLE)
    s.page.wait_for_function(IDLE)
    for w in (r, s):
        w.page.locator(first).first.get_by_role("button", name="Accept this wording").click()
    expect(r.page.locator("#b-count")).to_have_text("1 of 2 agreed")


def shoot(page, directory, name: str) -> None:
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(viewport)
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            page.screenshot(path=str(directory / f"{name}-{size}-{scheme}.png"))
            if size == "phone" and scheme == "light":  # the whole page, for review
                page.screenshot(path=str(directory / f"{name}-phone-light-full.png"),
                                full_page=True)
    page.set_viewport_size(PHONE)
    page.emulate_media(color_scheme="light")


def test_screenshots_of_the_main_pages(e2e_server, open_partner, screenshot_dir):
    base = e2e_server.url
    visitor = open_partner("visitor")
    for name in ANONYMOUS:
        visitor.page.goto(base + ("/" if name == "index" else f"/{name}"))
        shoot(visitor.page, screenshot_dir, name)

    r, s = linked_couple(open_partner, base)
    populate(r, s, base)
    for name in SIGNED_IN:
        r.page.goto(base + f"/{'guide' if name == 'guide' else name}")
        r.page.wait_for_load_state("networkidle")
        if name in ("home", "guide", "commitments", "boundaries"):
            wait_connected(r)
        shoot(r.page, screenshot_dir, name)
    s.page.goto(base + "/home")
    wait_connected(s)
    shoot(s.page, screenshot_dir, "home-supporting")
    saved = sorted(p.name for p in screenshot_dir.glob("*.png"))
    assert len(saved) >= 5 * (len(ANONYMOUS) + len(SIGNED_IN) + 1)
