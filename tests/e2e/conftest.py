"""Real-browser fixtures: one app process and one Chromium for the whole e2e run.

Each partner is a browser context of their own (own cookies, own storage), as two phones are.
Every page opened through `open_partner` records dialogs (alert/confirm/prompt), uncaught page
errors and CSP violations (from the console, so none is lost to a navigation); a test that leaves
any of them behind fails at teardown, so an XSS payload that ran, or one that CSP had to stop,
cannot pass unnoticed.
"""
import json
import os
import statistics
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import add_to_summary, chromium_path, need
from tests.support.servers import ROOT, start_server

from .ui import WAIT_MS

# Assertions poll too, and give up after the same generous time as every other wait here
# (Playwright's own default is 5 s: on a busy CI machine, both partners accepting a boundary
# once took longer than that to reach the other page).
expect.set_options(timeout=WAIT_MS)

ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
LATENCY_FILE = ROOT / "bench" / "results" / "browser_latency.json"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}



@pytest.fixture(scope="session")
def e2e_server(tmp_path_factory):
    """`python app.py` (gevent, SQLite), as a person runs it. Rate limits are off: the suite
    signs up dozens of people from one address in a minute
    (tests/core/test_ratelimit_keeps_input.py covers them)."""
    server = start_server(tmp_path_factory.mktemp("e2e"), name="e2e",
                          env={"COUPLE_RATELIMIT": "0"})
    yield server
    server.stop()


@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    yield pw
    pw.stop()


@pytest.fixture(scope="session")
def browser(playwright_instance):
    path = chromium_path()
    need(path is not None, "Chromium (apt-get install chromium, or COUPLE_CHROMIUM=/path)")
    browser = playwright_instance.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


class Watched:
    """A page and what it must never do: dialogs, uncaught errors, CSP violations."""

    def __init__(self, name, context, page):
        self.name = name
        self.context = context
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.violations: list[str] = []
        self.pages = []
        self.page = self._watch(page)

    def _watch(self, page):
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda err: self.errors.append(str(err)))
        # Chromium logs every CSP refusal to the console: an injected inline script or
        # on*= handler shows up here even when CSP stopped it.
        page.on("console", self._console)
        self.pages.append(page)
        return page

    def new_page(self):
        """Another tab of the same person (same cookies), watched the same way."""
        return self._watch(self.context.new_page())

    def _dialog(self, dialog):
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _console(self, message):
        if "Content Security Policy" in message.text:
            self.violations.append(message.text)

    def problems(self) -> list[str]:
        found = [f"{self.name} dialog {d}" for d in self.dialogs]
        found += [f"{self.name} page error {e}" for e in self.errors]
        found += [f"{self.name} CSP violation {v}" for v in self.violations]
        return found


@pytest.fixture
def open_partner(browser):
    """open_partner(name, viewport=PHONE, color_scheme="light") -> Watched (a new context)."""
    made: list[Watched] = []

    def factory(name: str, viewport=None, color_scheme: str = "light") -> Watched:
        context = browser.new_context(viewport=viewport or PHONE, color_scheme=color_scheme,
                                      locale="en-GB", timezone_id="Europe/London")
        context.set_default_timeout(WAIT_MS)
        watched = Watched(name, context, context.new_page())
        made.append(watched)
        return watched

    yield factory
    problems = []
    for w in made:
        problems += w.problems()
        w.context.close()
    assert not problems, "\n".join(problems)


class LatencyLog:
    """Browser-measured delays from an input event in one page to the change in the other's DOM."""

    def __init__(self):
        self.samples: dict[str, list[float]] = {}

    def add(self, kind: str, ms: float) -> None:
        self.samples.setdefault(kind, []).append(round(ms, 1))

    def summary(self) -> dict:
        every = [ms for values in self.samples.values() for ms in values]
        out = {"unit": "ms", "measured": "input event in one partner's page (event.timeStamp) "
               "to the MutationObserver seeing the change in the other partner's page; both pages "
               "in one Chromium, app server `python app.py` (gevent, SQLite) on the same machine",
               "kinds": {}}
        for kind, values in sorted(self.samples.items()):
            out["kinds"][kind] = {"n": len(values), "median": round(statistics.median(values), 1),
                                  "worst": max(values), "samples": values}
        if every:
            out["all"] = {"n": len(every), "median": round(statistics.median(every), 1),
                          "worst": max(every)}
        return out


@pytest.fixture(scope="session")
def latency_log():
    log = LatencyLog()
    yield log
    if not log.samples:
        return
    summary = log.summary()
    summary["recorded_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    summary["machine"] = {"cpus": os.cpu_count()}
    LATENCY_FILE.parent.mkdir(parents=True, exist_ok=True)
    LATENCY_FILE.write_text(json.dumps(summary, indent=2) + "\n")
    lines = ["browser live-update latency, ms (bench/results/browser_latency.json):"]
    for kind, s in summary["kinds"].items():
        lines.append(f"  {kind:<44} n={s['n']:<3} median={s['median']:<7} worst={s['worst']}")
    if "all" in summary:
        a = summary["all"]
        lines.append(f"  {'all':<44} n={a['n']:<3} median={a['median']:<7} worst={a['worst']}")
    add_to_summary("\n".join(lines))


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
