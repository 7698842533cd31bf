"""A conversation step reaching the partner's page after a year of conversations: `python
app.py` (gevent + SQLite, as `make run` starts it), two Chromium pages, the couple's history
made through the app's own routes first (--history conversations, each asked, answered, heard,
confirmed and closed), then --n rounds of one open conversation: one partner clicks Send, and
the time until the other's page shows the new round (the input event's timestamp to a
MutationObserver seeing it, as tests/e2e/ui.py `measure`). Also what the partner's page asked
the server for on each step, in bytes.

    .venv/bin/python bench/conversations_year.py [--history 300] [--n 12] [--baseline-root DIR]

With --baseline-root DIR (e.g. `git worktree add DIR <commit>`) the same runs on that
checkout's server and page first, then on this one; both are printed and written to
bench/results/conversations_year.json.
"""
import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import chromium_path  # noqa: E402
from tests.e2e.conftest import CHROMIUM_ARGS, DESKTOP, PHONE  # noqa: E402
from tests.e2e.ui import measure  # noqa: E402
from tests.support.servers import link_couple, post_json, signup, start_server  # noqa: E402


class Log:
    def __init__(self):
        self.samples = []

    def add(self, kind, ms):
        self.samples.append(ms)


def _ok(r):
    assert r.status_code == 200, r.text
    return r.json()["result"]


def seed_history(url, riley, sam, history: int) -> int:
    """`history` closed conversations, each one whole round; returns an open one's id."""
    for n in range(history):
        asker, other = (riley, sam) if n % 2 else (sam, riley)
        c = _ok(post_json(asker, url, "/conversations", {
            "kind": "question", "title": f"Talk {n}",
            "text": "I keep coming back to that evening and what it meant for us both."}))
        cid = c["id"]
        _ok(post_json(other, url, f"/conversations/{cid}/answer", {
            "kind": "answer", "text": "I was afraid to say it, and I am sorry I did not."}))
        _ok(post_json(asker, url, f"/conversations/{cid}/heard", {
            "text": "You were afraid, and you are sorry."}))
        _ok(post_json(other, url, f"/conversations/{cid}/confirm", {"text": ""}))
        _ok(post_json(asker, url, f"/conversations/{cid}/close", {}))
    c = _ok(post_json(riley, url, "/conversations", {
        "kind": "feeling", "title": "This week", "text": "I felt alone on Sunday."}))
    _ok(post_json(sam, url, f"/conversations/{c['id']}/heard", {"text": "You felt alone."}))
    _ok(post_json(riley, url, f"/conversations/{c['id']}/confirm", {"text": ""}))
    return c["id"]


def run(app_root: Path | None, history: int, n: int) -> dict:
    from playwright.sync_api import sync_playwright

    import tests.support.servers as servers

    with tempfile.TemporaryDirectory() as tmp:
        saved = servers.ROOT
        if app_root is not None:
            servers.ROOT = app_root
        try:
            server = start_server(Path(tmp), name="convyear")
        finally:
            servers.ROOT = saved
        try:
            url = server.url
            riley = signup(url, "Riley", "riley@example.com")
            sam = signup(url, "Sam", "sam@example.com")
            link_couple(url, riley, sam)
            t0 = time.perf_counter()
            cid = seed_history(url, riley, sam, history)
            seeded = time.perf_counter() - t0
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
                pages = {}
                for who, session, viewport in (("r", riley, DESKTOP), ("s", sam, PHONE)):
                    context = browser.new_context(viewport=viewport)
                    context.add_cookies([{"name": c.name, "value": c.value, "url": url}
                                         for c in session.cookies])
                    page = context.new_page()
                    page.goto(url + "/conversations")
                    page.wait_for_function("() => document.getElementById('conn-status')"
                                           "?.dataset.state === 'connected'")
                    fetched = []
                    page.on("requestfinished", lambda req, f=fetched: f.append(req)
                            if req.method == "GET" and "/conversations" in req.url
                            and req.resource_type == "fetch" else None)
                    pages[who] = type("W", (), {"page": page, "fetched": fetched})
                    pages[who].page_bytes = len(page.content())
                log, asked = Log(), []
                for k in range(n):
                    src, dst = (pages["r"], pages["s"]) if k % 2 == 0 else (pages["s"], pages["r"])
                    number = k + 2
                    card = src.page.locator(f'article[data-conv="{cid}"]')
                    card.get_by_label("What you would like to ask or share").fill(
                        f"Round {number}: how was today for you?")
                    before = len(dst.fetched)
                    measure(log, "round", src, dst,
                            lambda c=card: c.get_by_role("button", name="Send", exact=True).click(),
                            f"document.querySelector('article[data-conv=\"{cid}\"] "
                            f".round[data-round=\"{number}\"]') !== null")
                    # The listener answers (not timed) so the next round can be asked.
                    dcard = dst.page.locator(f'article[data-conv="{cid}"]')
                    dcard.get_by_label("Your answer, openly and honestly").fill("It was calmer.")
                    dcard.get_by_role("button", name="Send my answer").click()
                    src.page.locator(f'article[data-conv="{cid}"]').get_by_label(
                        "What I heard, in my own words").wait_for()
                    scard = src.page.locator(f'article[data-conv="{cid}"]')
                    scard.get_by_label("What I heard, in my own words").fill("Calmer today.")
                    scard.get_by_role("button", name="Send what I heard").click()
                    dcard.get_by_role("button", name="Yes, that's it").click()
                    src.page.locator(f'article[data-conv="{cid}"] .round[data-round="{number}"]'
                                     ' .round-status').filter(has_text="Heard").wait_for()
                    time.sleep(0.3)
                    for req in dst.fetched[before:before + 1]:
                        asked.append(len(req.response().body()))
                browser.close()
            return {"history": history, "seeded_s": round(seeded, 1),
                    "page_bytes": pages["s"].page_bytes, "n": len(log.samples),
                    "median_ms": round(statistics.median(log.samples), 1),
                    "worst_ms": round(max(log.samples), 1),
                    "samples_ms": [round(x, 1) for x in log.samples],
                    "asked_bytes_median": int(statistics.median(asked)) if asked else None}
        finally:
            server.stop()


def _commit(root: Path) -> str:
    return subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip()


def _dirty() -> bool:
    return bool(subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--",
                                "couple", "static", "templates"],
                               capture_output=True, text=True).stdout.strip())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--history", type=int, default=300)
    ap.add_argument("--n", type=int, default=12)
    ap.add_argument("--baseline-root", type=Path)
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/conversations_year.json")
    args = ap.parse_args()
    runs = {}
    if args.baseline_root:
        runs["baseline"] = run(args.baseline_root.resolve(), args.history, args.n)
        runs["baseline"]["commit"] = _commit(args.baseline_root)
        print("baseline", json.dumps(runs["baseline"]))
    runs["this"] = run(None, args.history, args.n)
    runs["this"]["commit"] = _commit(ROOT) + (" with changes" if _dirty() else "")
    print("this    ", json.dumps(runs["this"]))
    out = {"measured": __doc__.split("\n\n")[0].replace("\n", " "),
           "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
           "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "runs": runs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
