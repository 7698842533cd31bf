"""Page weight: the JavaScript and CSS each page loads (bytes as served, and gzipped) and the
server's time to first byte, for the anonymous pages and a linked partner's pages.

    python bench/page_weight.py              # starts `python app.py` on a free port, measures
    python bench/page_weight.py --url URL    # measures a running server (signs up two people)

Prints a table and writes bench/results/page_weight.json. The e2e suite runs `measure()` against
its own server as well, and checks in Chromium that a page loads nothing this count misses.
"""
import argparse
import gzip
import json
import os
import re
import statistics
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from tests.support.servers import link_couple, post_json, signup, start_server  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "page_weight.json"
ANONYMOUS = ["/", "/login", "/signup", "/safety"]
SIGNED_IN = ["/home", "/guide", "/commitments", "/boundaries", "/pair", "/account", "/safety"]
TTFB_RUNS = 7


class Assets(HTMLParser):
    """The scripts and stylesheets a page asks for (head and body)."""

    def __init__(self):
        super().__init__()
        self.scripts: list[str] = []
        self.styles: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"])
        elif tag == "link" and "stylesheet" in (a.get("rel") or "").split() and a.get("href"):
            self.styles.append(a["href"])


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6, mtime=0))


def ttfb(session: requests.Session, url: str) -> list[float]:
    """Milliseconds from sending the request to the response headers (the first byte)."""
    times = []
    for _ in range(TTFB_RUNS):
        start = time.perf_counter()
        with session.get(url, stream=True, allow_redirects=False) as response:
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (url, response.status_code)
            response.content  # noqa: B018  (read it all, so the connection is reused)
    return times


def measure_page(session: requests.Session, base: str, path: str, cache: dict) -> dict:
    url = base + path
    html = session.get(url).content
    parser = Assets()
    parser.feed(html.decode("utf-8", "replace"))
    out = {"html": {"bytes": len(html), "gzip": gz(html)}, "js": [], "css": []}
    for kind, refs in (("js", parser.scripts), ("css", parser.styles)):
        for ref in refs:
            asset_url = urljoin(url, ref)
            if asset_url not in cache:
                body = session.get(asset_url).content
                cache[asset_url] = {"bytes": len(body), "gzip": gz(body)}
                if kind == "js":
                    # A bundle that pulled in another chunk would load more than counted here.
                    assert not re.search(rb"\bimport\s*\(|^import\s", body, re.M), (
                        f"{ref} imports more code")
            out[kind].append({"path": urlsplit(asset_url).path, **cache[asset_url]})
    for kind in ("js", "css"):
        out[f"{kind}_total"] = {"bytes": sum(a["bytes"] for a in out[kind]),
                                "gzip": sum(a["gzip"] for a in out[kind])}
    times = ttfb(session, url)
    out["ttfb_ms"] = {"median": round(statistics.median(times), 1), "worst": round(max(times), 1),
                      "runs": len(times)}
    return out


def people(base: str) -> dict:
    """An anonymous visitor and a linked partner (with a commitment, so its page is not empty)."""
    tag = os.urandom(3).hex()
    rebuilding = signup(base, "Riley", f"riley-weight-{tag}@example.com")
    supporting = signup(base, "Sam", f"sam-weight-{tag}@example.com")
    link_couple(base, rebuilding, supporting)
    post_json(rebuilding, base, "/commitments", {
        "wording": "Tell you when I will be late", "schedule": "daily", "tz": "UTC",
        "start": time.strftime("%Y-%m-%d"), "weekdays": []})
    return {"anonymous": requests.Session(), "partner": rebuilding}


def measure(base: str) -> dict:
    sessions = people(base)
    cache: dict = {}
    pages = {}
    for who, paths in (("anonymous", ANONYMOUS), ("partner", SIGNED_IN)):
        for path in paths:
            pages[f"{who} {path}"] = measure_page(sessions[who], base, path, cache)
    for s in sessions.values():
        s.close()
    return {
        "measured": "bytes each page's HTML, scripts and stylesheets weigh as served, and gzipped "
                    "(level 6); TTFB = request sent to response headers, median of "
                    f"{TTFB_RUNS}, `python app.py` (gevent, SQLite) on the same machine",
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count()},
        "pages": pages,
    }


def table(result: dict) -> str:
    lines = [f"{'page':<26}{'JS gz':>9}{'CSS gz':>9}{'HTML gz':>9}{'JS raw':>9}"
             f"{'TTFB med':>10}{'worst':>8}"]
    for name, p in result["pages"].items():
        lines.append(f"{name:<26}{p['js_total']['gzip']:>9}{p['css_total']['gzip']:>9}{p['html']['gzip']:>9}"
                     f"{p['js_total']['bytes']:>9}{p['ttfb_ms']['median']:>9.1f}{p['ttfb_ms']['worst']:>8.1f}")
    return "\n".join(lines)


def write(result: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server (default: start one)")
    args = parser.parse_args()
    server = None
    base = args.url
    if not base:
        workdir = Path(tempfile.mkdtemp(prefix="couple-weight-"))
        server = start_server(workdir, name="weight", env={"COUPLE_RATELIMIT": "0"})
        base = server.url
    try:
        result = measure(base.rstrip("/"))
    finally:
        if server:
            server.stop()
    write(result)
    print(table(result))
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
