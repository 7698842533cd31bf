"""What a person does in the browser, step by step, and how the suite watches the other page."""
import itertools
import os
import re
import time

from tests.support.servers import PASSWORD

_n = itertools.count(1)
# Every wait in the browser tests polls a condition; this is only how long before it gives up.
# Generous: the CI machine is shared and busy, and a wait that passes costs no more for it.
WAIT_MS = 30000
RUN = os.urandom(3).hex()


def unique_email(name: str) -> str:
    return f"{name.lower()}-{RUN}-{next(_n)}@example.com"


def sign_up(w, base: str, name: str, email: str | None = None) -> str:
    """Create an account through the signup form; ends on the home page."""
    email = email or unique_email(re.sub(r"\W", "", name)[:10] or "person")
    page = w.page
    page.goto(base + "/signup")
    page.get_by_label("What should we call you?").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    # Every sign-up lands on "check your inbox" (it tells nobody who has an account); a new
    # account works at once: log in with the password just chosen.
    page.wait_for_url(re.compile(re.escape(base) + r"/signup/sent"))
    page.get_by_role("link", name="Log in").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base + "/home")
    wait_connected(w)
    return email


def wait_signed_out(w, base: str, timeout: float = 60) -> None:
    """After a quick exit: wait until the server has ended this browser's session. The exit is a
    keepalive request the page sends on its way out; on a busy machine it can reach the server
    after the test has already asked for /login, which then (rightly, still signed in) sends
    the browser to /home. Polls what /login would answer with this context's cookies, without
    following redirects or leaving a page behind."""
    deadline = time.monotonic() + timeout
    while True:
        answer = w.context.request.get(base + "/login", max_redirects=0)
        status = answer.status
        answer.dispose()
        if status == 200:
            return
        assert time.monotonic() < deadline, f"still signed in {timeout} s after the quick exit"
        time.sleep(0.1)


def wait_connected(w) -> None:
    w.page.wait_for_function(
        "() => document.getElementById('conn-status')?.dataset.state === 'connected'")


def invite(w, base: str, role: str) -> str:
    """Choose a role, create the invitation; returns the link shown."""
    page = w.page
    page.goto(base + "/pair")
    label = {"rebuilding": "Rebuilding trust", "supporting": "Supporting healing"}[role]
    page.get_by_role("radio", name=re.compile(label)).check()
    page.get_by_role("button", name="Create invitation").click()
    page.wait_for_url(base + "/pair")
    return page.locator("#invite-link").input_value()


def accept(w, link: str) -> None:
    page = w.page
    page.goto(link)
    page.get_by_role("button", name="Accept and link").click()
    page.wait_for_url(re.compile(r"/home$"))
    wait_connected(w)


def linked_couple(open_partner, base: str, rebuilding_name="Riley", supporting_name="Sam", **ctx):
    """Two people in two browser contexts, signed up and linked through the UI.
    Returns (rebuilding, supporting), both on their home page and connected."""
    r = open_partner("rebuilding", **ctx)
    s = open_partner("supporting", **ctx)
    sign_up(r, base, rebuilding_name)
    sign_up(s, base, supporting_name)
    link = invite(r, base, "rebuilding")
    accept(s, link)
    r.page.goto(base + "/home")
    wait_connected(r)
    return r, s


# --- latency: from an input event in one page to a DOM change in the other ------------------

_ARM_SOURCE = """() => {
  window.__actAt = null;
  const mark = (e) => { if (window.__actAt === null && e.isTrusted)
    window.__actAt = performance.timeOrigin + e.timeStamp; };
  for (const type of ['keydown', 'click'])
    document.addEventListener(type, mark, {capture: true, once: true});
}"""

_ARM_TARGET = """() => {
  window.__seenAt = null;
  const seen = () => { try { return Boolean(%s); } catch (e) { return false; } };
  if (seen()) { window.__seenAt = 'already'; return; }
  const obs = new MutationObserver(() => {
    if (window.__seenAt === null && seen()) {
      window.__seenAt = performance.timeOrigin + performance.now();
      obs.disconnect();
    }
  });
  obs.observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
}"""


def measure(latency_log, kind: str, source, target, action, seen_js: str,
            timeout: float = WAIT_MS) -> float:
    """Run `action()` in the source page; wait until `seen_js` (a JS expression) holds in the
    target page. Records and returns the delay between the input event and the DOM change."""
    target.page.evaluate(_ARM_TARGET % seen_js)
    assert target.page.evaluate("() => window.__seenAt") is None, \
        f"{kind}: already true before the action: {seen_js}"
    source.page.evaluate(_ARM_SOURCE)
    action()
    target.page.wait_for_function("() => window.__seenAt !== null", timeout=timeout)
    seen = target.page.evaluate("() => window.__seenAt")
    acted = source.page.evaluate("() => window.__actAt")
    assert acted is not None, f"{kind}: no trusted keydown/click seen in the source page"
    ms = seen - acted
    latency_log.add(kind, ms)
    return ms


def now_ms() -> float:
    return time.time() * 1000


def badge(page, person_id: int, guide: str, step: int):
    return page.locator(f'[data-progress-key="{person_id}:{guide}:{step}"]')


def user_id(w) -> int:
    return int(w.page.evaluate("() => document.body.dataset.userId"))


# --- accessibility --------------------------------------------------------------------------

AXE_SOURCE = None
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page) -> list[dict]:
    """axe-core (from npm) on the page as it is now: WCAG 2.1 A and AA rules."""
    global AXE_SOURCE
    from tests.support.servers import ROOT

    if AXE_SOURCE is None:
        AXE_SOURCE = (ROOT / "node_modules" / "axe-core" / "axe.min.js").read_text()
    # Evaluated through the DevTools protocol, not a <script> tag: the page's CSP stays on.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE)
    result = page.evaluate("""(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags},
        resultTypes: ['violations']}).then((r) => r.violations.map((v) => ({
          id: v.id, impact: v.impact, help: v.help,
          nodes: v.nodes.slice(0, 5).map((n) => ({target: n.target.join(' '),
                                                  summary: n.failureSummary}))})))""",
                           AXE_TAGS)
    return result
