"""Instructions per change, counted by valgrind's callgrind: a figure that does not move with
what else the machine is doing (bench/change_cpu.py's milliseconds move by +-30% on a shared
2-core machine, more than most single changes to the path).

    .venv/bin/python bench/change_instructions.py             # mark a year in, mark, progress
    .venv/bin/python bench/change_instructions.py --parts progress -n 60
    .venv/bin/python bench/change_instructions.py --baseline ../old   # and another checkout

Each part runs in its own process under `valgrind --tool=callgrind`, PostgreSQL (a fresh
database) and gevent's monkey patch as the server runs: set-up and 30 warm-up calls are not
counted; then N calls of the part (the signed-in user's login check, then the operation, as a
socket event runs them) are, and the total is divided by N. `--baseline DIR` measures a second
checkout the same way, alternately, and prints the ratio: compare builds in one run, never
against a figure from another day. Needs valgrind (Debian's package). Figures are printed and
written to bench/results/change_instructions.json.

Parts: `mark` (a kept/missed correction of today's mark on a commitment made today), `mark a
year in` (the same on a commitment with a year of daily marks behind it, bench/seed.py),
`progress` (a guide step's state) and `keystroke` (one character typed into a boundary, a
y-protocols update message; building that message in the bench is counted too, as a small
constant part). `login check` is the check alone, the part of every other part that every
socket event and request pays (with the app context and the transaction around it).
`socket progress`, `socket mark a year in` and `socket keystroke` are whole socket events as
the app's Socket.IO test client sends them (the request context, the session, the login check,
the handler, its ack and emit; not the network, engine.io or frame decoding).
`durable floor` is bench/relay_floor.py's durable write (the stream's next seq, the event row,
commit: SQLAlchemy Core on the same driver), the least any change that is kept costs on this
stack: a part's instructions above it are the app's own.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PARTS = {"mark a year in": "year", "mark": "mark", "progress": "progress",
         "keystroke": "keystroke", "login check": "login", "durable floor": "durable",
         "socket progress": "socket progress", "socket mark a year in": "socket year",
         "socket keystroke": "socket keystroke"}


def _own(name: str):
    """bench/<name>.py of this file's checkout, whichever checkout is measured: the same
    yardstick (the durable floor) and the same signed-in client for both."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parent /
                                                  f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def child(part: str, n: int) -> None:
    """Inside callgrind: set up, warm up, then run the counted calls inside functools.reduce
    (callgrind collects only inside that C function: --toggle-collect=functools_reduce)."""
    from gevent import monkey

    monkey.patch_all()
    import functools

    sys.path.insert(0, os.getcwd())
    from bench.realtime import Database

    workdir = Path(tempfile.mkdtemp(prefix="couple-instr-"))
    (workdir / "instance").mkdir()
    database = Database("postgres", workdir)
    os.environ.update({"COUPLE_DATABASE_URL": database.url,
                       "COUPLE_INSTANCE_PATH": str(workdir / "instance"),
                       "COUPLE_SECRET_KEY": "bench-only-" + "s" * 40,
                       "COUPLE_LOG_LEVEL": "WARNING"})
    os.environ.pop("COUPLE_REDIS_URL", None)
    from flask_migrate import upgrade

    from bench.seed import one_couple_to_change
    from couple import MIGRATIONS, create_app
    from couple.accounts import operations as accounts
    from couple.boundaries.operations import receive_message
    from couple.commitments.operations import mark_follow_through
    from couple.guides.operations import set_step_state
    try:  # what a socket event's login check reads (a checkout from before it: the ORM User)
        from couple.accounts.signed_in import signed_in_for_token as login_check
    except ImportError:
        login_check = accounts.user_for_session_token

    app = create_app({"SOCKETIO_ASYNC_MODE": "gevent", "TESTING": True,
                      "PASSWORD_HASHER": "cheapest-for-tests", "RATELIMIT_ENABLED": False})
    try:
        with app.app_context():
            upgrade(directory=str(MIGRATIONS), revision="heads")
            world = one_couple_to_change("instr")

        today = datetime.now(UTC).date().isoformat()
        version = {"v": None}
        token = world.token
        target = world.year_cid if part == "year" else world.cid

        if part == "durable":
            streams = _own("relay_floor").DurableStreams(database.url)
        if part.startswith("socket"):
            # The whole socket event as the app's Socket.IO test client drives it: the request
            # context Flask-SocketIO pushes, the session, the login check, the handler, the
            # ack and the partner's emit (not the network, engine.io or the frame decoding).
            from couple.extensions import socketio

            client, _headers = _own("seed").signed_in_client(app, token)
            sio = socketio.test_client(app, flask_test_client=client)
            assert sio.is_connected()
            socket_path = (f"/commitments/{world.year_cid}/days/{today}/mark"
                           if part == "socket year" else "/guide/steps/3/state")

        def one(i):
            if part == "durable":
                streams.write(1, f"d-{i:08d}", '{"set": {"progress": {}}}')
                return
            if part == "socket keystroke":
                answer = sio.emit("b:y", world.typist.message(), callback=True)
                assert isinstance(answer, dict) and "error" not in answer, answer
                sio.get_received()
                return
            if part.startswith("socket"):
                body = ({"status": ("kept", "missed")[i % 2], "version": version["v"]}
                        if part == "socket year" else
                        {"state": ("working", "practising")[i % 2]})
                answer = sio.emit("change", {"path": socket_path,
                                             "body": {**body, "op_id": f"s-{i:08d}"}},
                                  callback=True)
                assert isinstance(answer, dict) and answer.get("ok"), answer
                version["v"] = answer["result"].get("version")
                sio.get_received()
                return
            with app.app_context():
                user = login_check(token)
                if part == "login":
                    assert user is not None and user.couple is not None
                    return
                if part == "progress":
                    set_step_state(user, 3, ("working", "practising")[i % 2], f"p-{i:08d}")
                    return
                if part == "keystroke":
                    answer = receive_message(user.couple, user, world.typist.message())
                    assert answer.get("ok", True) and "error" not in answer, answer
                    return
                item = mark_follow_through(user, target, today, ("kept", "missed")[i % 2], "",
                                           version["v"], f"m-{i:08d}")
                version["v"] = item["version"]

        for i in range(30):
            one(i)
        functools.reduce(lambda acc, i: (one(10**6 + i), acc)[1], range(n), 0)
    finally:
        database.drop()


def count(checkout: Path, part: str, n: int) -> int:
    out = Path(tempfile.mkdtemp(prefix="couple-callgrind-")) / "callgrind.out"
    python = checkout / ".venv" / "bin" / "python"
    if not python.exists():
        python = Path(sys.executable)
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", "--collect-atstart=no",
         "--toggle-collect=functools_reduce", f"--callgrind-out-file={out}",
         # This file's child, importing the app (and bench/realtime.py) from `checkout`.
         str(python), str(Path(__file__).resolve()), "--child", part,
         "-n", str(n)],
        cwd=checkout, capture_output=True, text=True)
    totals = [line for line in out.read_text().splitlines() if line.startswith("totals:")] \
        if out.exists() else []
    shutil.rmtree(out.parent, ignore_errors=True)
    if run.returncode != 0 or not totals:
        raise SystemExit(f"{checkout}: {part} failed:\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}")
    return int(totals[0].split()[1]) // n


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--parts", default=",".join(PARTS), help="comma-separated, of: " +
                   ", ".join(PARTS))
    p.add_argument("-n", type=int, default=40, help="counted calls per part")
    p.add_argument("--baseline", type=Path, help="another checkout to measure the same way")
    p.add_argument("--out", default=str(RESULTS / "change_instructions.json"))
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child, args.n)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed (apt-get install -y valgrind)")
    parts = [name.strip() for name in args.parts.split(",") if name.strip()]
    unknown = [name for name in parts if name not in PARTS]
    if unknown:
        raise SystemExit(f"unknown parts: {unknown}; known: {list(PARTS)}")
    figures, baseline = {}, {}
    # The two checkouts side by side, one core each: instructions do not depend on the timing.
    with ThreadPoolExecutor(max_workers=2) as pool:
        for name in parts:
            if args.baseline:
                theirs = pool.submit(count, args.baseline.resolve(), PARTS[name], args.n)
            figures[name] = count(ROOT, PARTS[name], args.n)
            if args.baseline:
                baseline[name] = theirs.result()
    print(f"{'part':<18} {'instructions':>14}" + (f" {'baseline':>14} {'ratio':>7}"
                                                  if baseline else ""))
    for name, value in figures.items():
        line = f"{name:<18} {value:>14,}"
        if baseline:
            line += f" {baseline[name]:>14,} {value / baseline[name]:>7.3f}"
        print(line)
    out = {"benchmark": "instructions per change (callgrind), login check included",
           "when": datetime.now(UTC).isoformat(), "db": "postgres", "n": args.n,
           "parts": figures}
    if baseline:
        out["baseline"] = {"checkout": str(args.baseline), "parts": baseline}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
