"""Where a socket event's CPU goes, part by part: py-spy samples one part of
bench/change_instructions.py (the same set-up, the same calls) and the samples are sorted into
the pieces every change is made of.

    .venv/bin/python bench/change_profile.py --py-spy PATH/TO/py-spy
    .venv/bin/python bench/change_profile.py --py-spy PATH --parts "socket progress" -n 3000

py-spy is a tool, not a dependency (pip install py-spy into a venv of its own). Each part runs
in its own process, on PostgreSQL under gevent, its calls through the app's Socket.IO test
client (no network, no engine.io: what bench/realtime.py adds, the bare relay pays too). A
sample goes to the first piece, in the order below, whose function is on its stack:

- the login check (the snapshot's one statement, with the transaction's BEGIN);
- the emit after commit (the event to the couple's room);
- the stream's lock and next seq;
- the change's last statement (its pending writes, event rows and op id);
- COMMIT;
- the operation's other statements (its reads; progress's upsert; a keystroke's append);
- the operation's own Python (checks, the item it sends, the document's merge);
- Socket.IO and Flask around the handler (packet, request context, session, ack);
- the test client's own work (decoding what it receives: not in a server).

Shares are printed and written to bench/results/change_profile.json; they move by a few
points between runs (sampling), which the instruction counts do not.
"""
import argparse
import collections
import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PARTS = {"socket progress": "socket progress", "socket mark a year in": "socket year",
         "socket keystroke": "socket keystroke"}
OPERATIONS = ("_run (couple/socket_changes.py", "on_yjs_message (couple/boundaries/sockets.py")
PIECES = (
    ("the login check", "LoginManager._load_user"),
    ("the emit after commit", "_run_after_commit (couple/realtime.py"),
    ("the stream's lock and next seq", "next_seq (couple/events.py"),
    ("the change's last statement", "_write_pending_and_op (couple/events.py"),
    ("COMMIT", "scoped_session.commit"),
)
OTHER_STATEMENTS = "the operation's other statements"
OWN_PYTHON = "the operation's own Python"
AROUND = "Socket.IO and Flask around the handler"
HARNESS = "the test client's own work"
COUNTED = "child.<locals>.one (change_instructions.py"


def classify(stack: str) -> str:
    for name, marker in PIECES:
        if marker in stack:
            return name
    if any(op in stack for op in OPERATIONS):
        return OTHER_STATEMENTS if "Connection.execute (sqlalchemy" in stack else OWN_PYTHON
    if "SocketIOTestClient.__init__.<locals>._mock_send" in stack or \
            "SocketIOTestClient.get_received" in stack:
        return HARNESS
    return AROUND


def shares(raw: Path) -> dict:
    counts, total = collections.Counter(), 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if COUNTED not in stack:  # set-up and migrations are not a change
            continue
        counts[classify(stack)] += int(n)
        total += int(n)
    order = [name for name, _ in PIECES] + [OTHER_STATEMENTS, OWN_PYTHON, AROUND, HARNESS]
    return {"samples": total,
            "share": {name: round(counts[name] / max(total, 1), 3) for name in order}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--py-spy", required=True, help="path to py-spy")
    p.add_argument("--parts", default=",".join(PARTS), help="of: " + ", ".join(PARTS))
    p.add_argument("-n", type=int, default=2500, help="calls per part")
    p.add_argument("--out", default=str(RESULTS / "change_profile.json"))
    args = p.parse_args()
    parts = [x.strip() for x in args.parts.split(",") if x.strip()]
    report = {"benchmark": "share of a socket event's samples, by piece",
              "measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "parts": {}}
    for part in parts:
        if part not in PARTS:
            raise SystemExit(f"unknown part {part!r}; known: {list(PARTS)}")
        raw = Path(tempfile.mkdtemp(prefix="couple-profile-")) / "raw.txt"
        run = subprocess.run(
            [args.py_spy, "record", "--rate", "500", "--format", "raw", "-o", str(raw), "--",
             sys.executable, str(ROOT / "bench" / "change_instructions.py"), "--child",
             PARTS[part], "-n", str(args.n)], cwd=ROOT, capture_output=True, text=True)
        if run.returncode != 0 or not raw.exists():
            raise SystemExit(f"{part}: py-spy failed\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
        result = report["parts"][part] = shares(raw)
        print(f"{part} ({result['samples']} samples)")
        for name, share in result["share"].items():
            print(f"  {100 * share:5.1f}%  {name}")
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
