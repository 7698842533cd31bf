"""Keystroke to partner on the real app path: `python app.py` (gevent + SQLite), two tabs (the
real Yjs and static/src/boundaries/sync.js in Node over socket.io-client), one character per
update at a typing pace; the time from A's keystroke until B's document holds it.

    .venv/bin/python bench/keystroke_latency.py [--n 300]

Runs twice: with TCP_NODELAY on accepted sockets (what app.py and gunicorn.conf.py do) and
without (COUPLE_TCP_NODELAY=0, the "before"); with --baseline-root DIR (e.g. `git archive
<commit> | tar -x -C DIR`) also the server code before issue 11. Prints and writes
bench/results/keystroke_latency.json.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.servers import cookie_header, link_couple, signup, start_server  # noqa: E402


def measure(nodelay: bool, n: int, app_root: Path | None = None) -> dict:
    import tests.support.servers as servers

    with tempfile.TemporaryDirectory() as tmp:
        if app_root is not None:  # another checkout's app.py (and its couple package)
            servers.ROOT, saved = app_root, servers.ROOT
        try:
            server = start_server(Path(tmp), env={"COUPLE_TCP_NODELAY": "1" if nodelay else "0"})
        finally:
            if app_root is not None:
                servers.ROOT = saved
        try:
            riley = signup(server.url, "Riley", "riley@example.com")
            sam = signup(server.url, "Sam", "sam@example.com")
            link_couple(server.url, riley, sam)
            ids = [s.get(server.url + "/api/state").json()["data"]["couple"]["info"]["me"]["id"]
                   for s in (riley, sam)]
            config = {"url": server.url, "n": n,
                      "a": {"cookie": cookie_header(riley), "userId": ids[0]},
                      "b": {"cookie": cookie_header(sam), "userId": ids[1]}}
            proc = subprocess.run(["node", str(ROOT / "bench" / "keystroke_latency.mjs"),
                                   json.dumps(config)], cwd=ROOT, capture_output=True, text=True,
                                  timeout=600)
            if proc.returncode:
                raise RuntimeError(proc.stderr[-2000:])
            return {k: (round(v, 2) if isinstance(v, float) else v)
                    for k, v in json.loads(proc.stdout).items()}
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--baseline-root", default=None,
                        help="a checkout of the code before this change (git archive), "
                             "measured too")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "keystroke_latency.json"))
    args = parser.parse_args()
    load_before = os.getloadavg()
    before = measure(False, args.n)
    after = measure(True, args.n)
    result = {"before_no_tcp_nodelay_ms": before, "after_tcp_nodelay_ms": after,
              "server": "python app.py (gevent + SQLite), loopback",
              "python": platform.python_version(),
              # The machine is shared: a load average near or above its cores makes every
              # figure here noisier (and slower) than on a quiet machine.
              "load_average_1m_at_start": round(load_before[0], 2), "cpus": os.cpu_count()}
    if args.baseline_root:
        result["baseline_previous_code_ms"] = measure(False, args.n, Path(args.baseline_root))
    print(json.dumps(result, indent=2))
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print("written to", args.out)


if __name__ == "__main__":
    main()
