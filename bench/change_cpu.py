"""CPU per change, in one process, split by part: what bench/realtime.py's "cpu" column is made of.

    .venv/bin/python bench/change_cpu.py                 # PostgreSQL (a fresh database), 400 each
    .venv/bin/python bench/change_cpu.py --db sqlite -n 200

bench/realtime.py measures a change end to end (the HTTP request or socket frame, the operation,
the emit to the partner) as server CPU divided by changes, under load and with everything else
the process does. This one takes the parts apart, each timed by `time.process_time()` (this
process's CPU: Python and the system calls it makes, not PostgreSQL's own) over N repetitions in
the gevent-patched process the server runs in, after a warm-up, each repetition ending its
session as a request or socket event does:

- `login check`: the per-socket-event lookup of the signed-in user (one Core statement into a
  snapshot, couple/accounts/signed_in.py; a page's request loads the ORM User instead);
- `progress`, `mark`, `keystroke`: the operation alone (guides.set_step_state,
  commitments.mark_follow_through as a kept/missed correction, boundaries.receive_message with a
  one-character y-protocols update), commit and after-commit emit included, no user lookup;
- `mark, a year in` (and `socket mark, a year in`): the same mark on a commitment with a year of
  daily marks and acknowledgements behind it (bench/seed.py `a_year_of_marks`): what a mark
  costs once the first weeks are over, with ~90 marks in its window;
- `http <kind>` / `socket <kind>`: the whole door as the app's own test clients drive it
  (Flask's test client: request parsing, session cookie, CSRF, login check, view, JSON answer;
  Flask-SocketIO's test client: the event dispatch, request context, login check, handler, ack;
  progress and mark over the socket are the `change` event, couple/socket_changes.py).

Figures are printed and written to bench/results/change_cpu.json (the median of 10 batches, in ms).
`--cprofile PART` also prints cProfile's top functions for one part. CPU_BATCHES=1 prints every
batch's figure (the spread on a shared machine); CPU_NO_GEVENT=1 runs without gevent's monkey
patch, to see what waiting through gevent's hub costs.
"""
import os as _os

if _os.environ.get("CPU_NO_GEVENT") != "1":
    from gevent import monkey

    monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"


PROFILE = {"part": None}


def timed(fn, n: int, batches: int = 10, name: str = "") -> float:
    """The median, over `batches`, of the CPU ms per call of fn(i)."""
    for i in range(max(20, n // 10)):  # warm-up: compiled-statement caches, pools
        fn(i)
    if name and name == PROFILE["part"]:
        import cProfile
        import pstats

        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for i in range(n):
            fn(10**7 + i)
        profiler.disable()
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(45)
    per_batch = []
    k = 10**6  # op ids apart from the warm-up's and the profile's (a repeat is a cheaper path)
    for _ in range(batches):
        t0 = time.process_time()
        for _ in range(n // batches):
            fn(k)
            k += 1
        per_batch.append((time.process_time() - t0) * 1000 / (n // batches))
    if os.environ.get("CPU_BATCHES"):
        print(name, [round(x, 2) for x in per_batch], file=sys.stderr)
    return round(statistics.median(per_batch), 3)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    p.add_argument("-n", type=int, default=400)
    p.add_argument("--out", default=str(RESULTS / "change_cpu.json"))
    p.add_argument("--cprofile", metavar="PART", help="also print cProfile's top functions for "
                   "one part (e.g. progress), by own time")
    args = p.parse_args()

    from bench.realtime import Database

    workdir = Path(tempfile.mkdtemp(prefix="couple-cpu-"))
    (workdir / "instance").mkdir()
    database = Database(args.db, workdir)
    os.environ.update({"COUPLE_DATABASE_URL": database.url,
                       "COUPLE_INSTANCE_PATH": str(workdir / "instance"),
                       "COUPLE_SECRET_KEY": "bench-only-" + "s" * 40,
                       "COUPLE_LOG_LEVEL": "WARNING"})
    os.environ.pop("COUPLE_REDIS_URL", None)
    PROFILE["part"] = args.cprofile
    try:
        figures = run(args)
    finally:
        database.drop()
    out = {"benchmark": "CPU per change, by part", "when": datetime.now(UTC).isoformat(),
           "db": args.db, "n": args.n,
           "unit": "ms of this process's CPU per change (median of 10 batches)",
           "load_average": os.getloadavg(), "parts": figures}
    print(f"{'part':<22} {'ms CPU':>8}")
    for name, ms in figures.items():
        print(f"{name:<22} {ms:>8.3f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"written to {args.out}")


def run(args) -> dict:
    from flask_migrate import upgrade

    from bench.seed import one_couple_to_change, signed_in_client
    from couple import MIGRATIONS, create_app
    from couple.accounts.signed_in import signed_in_for_token
    from couple.boundaries.operations import receive_message
    from couple.commitments.operations import mark_follow_through
    from couple.extensions import db, socketio
    from couple.guides.operations import set_step_state

    app = create_app({"SOCKETIO_ASYNC_MODE": "gevent", "TESTING": True,
                      "PASSWORD_HASHER": "cheapest-for-tests", "RATELIMIT_ENABLED": False,
                      "WTF_CSRF_ENABLED": True})
    figures = {}
    with app.app_context():
        if args.db == "postgres":
            upgrade(directory=str(MIGRATIONS), revision="heads")
        else:
            db.create_all()
        world = one_couple_to_change("cpu")
    token, cid, year_cid, typist = world.token, world.cid, world.year_cid, world.typist

    today = datetime.now(UTC).date().isoformat()
    version = {"v": None}
    states = ("working", "practising")

    def user():  # what a socket event's login check reads
        return signed_in_for_token(token)

    def login_check(i):
        with app.app_context():
            assert user() is not None
            db.session.commit()

    def progress(i, u=None):
        set_step_state(u or user(), 3, states[i % 2], f"cpu-progress-{i:08d}")

    def mark(i, u=None):
        item = mark_follow_through(u or user(), cid, today, ("kept", "missed")[i % 2], "",
                                   version["v"], f"cpu-mark-{i:08d}")
        version["v"] = item["version"]

    year_version = {"v": None}

    def year_mark(i, u=None):
        item = mark_follow_through(u or user(), year_cid, today, ("kept", "missed")[i % 2], "",
                                   year_version["v"], f"cpu-ymark-{i:08d}")
        year_version["v"] = item["version"]

    def keystroke(i, u=None):
        u = u or user()
        answer = receive_message(u.couple, u, typist.message())
        assert answer.get("ok", True) and "error" not in answer, answer

    def with_login(fn):
        def call(i):
            with app.app_context():  # as a request or socket event: login check, then the op
                fn(i, user())
        return call

    with app.app_context():
        figures["login check"] = timed(login_check, args.n, name="login check")
    for name, fn in (("progress", progress), ("mark", mark), ("mark, a year in", year_mark),
                     ("keystroke", keystroke)):
        # The operation's own CPU: the same call with the login check, less the login check.
        total = timed(with_login(fn), args.n, name=name)
        figures[name] = round(total - figures["login check"], 3)

    # The whole door, as the app's test clients drive it.
    client, headers = signed_in_client(app, token)

    def http_progress(i):
        r = client.post("/guide/steps/3/state", json={"state": states[i % 2],
                                                      "op_id": f"cpu-hprogress-{i:08d}"},
                        headers=headers)
        assert r.status_code == 200, r.get_data(as_text=True)

    def http_mark(i):
        r = client.post(f"/commitments/{cid}/days/{today}/mark",
                        json={"status": ("kept", "missed")[i % 2], "version": version["v"],
                              "op_id": f"cpu-hmark-{i:08d}"}, headers=headers)
        assert r.status_code == 200, r.get_data(as_text=True)
        version["v"] = r.get_json()["result"]["version"]

    figures["http progress"] = timed(http_progress, args.n, name="http progress")
    figures["http mark"] = timed(http_mark, args.n, name="http mark")

    sio = socketio.test_client(app, flask_test_client=client)
    assert sio.is_connected()

    def socket_keystroke(i):
        answer = sio.emit("b:y", typist.message(), callback=True)
        assert isinstance(answer, dict) and "error" not in answer, answer
        sio.get_received()

    figures["socket keystroke"] = timed(socket_keystroke, args.n, name="socket keystroke")
    for name, path, body in (
            ("socket progress", "/guide/steps/3/state",
             lambda i: {"state": states[i % 2], "op_id": f"cpu-sprogress-{i:08d}"}),
            ("socket mark", f"/commitments/{cid}/days/{today}/mark",
             lambda i: {"status": ("kept", "missed")[i % 2], "version": version["v"],
                        "op_id": f"cpu-smark-{i:08d}"}),
            ("socket mark, a year in", f"/commitments/{year_cid}/days/{today}/mark",
             lambda i: {"status": ("kept", "missed")[i % 2], "version": year_version["v"],
                        "op_id": f"cpu-symark-{i:08d}"})):

        def call(i, path=path, body=body, versions=year_version if "year" in name else version):
            answer = sio.emit("change", {"path": path, "body": body(i)}, callback=True)
            assert isinstance(answer, dict) and answer.get("ok"), answer
            if "version" in answer["result"]:
                versions["v"] = answer["result"]["version"]
            sio.get_received()

        figures[name] = timed(call, args.n, name=name)
    sio.disconnect()
    return figures


if __name__ == "__main__":
    main()
