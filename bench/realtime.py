"""The realtime benchmark, one command:

    .venv/bin/python bench/realtime.py                  # 50 -> 500 -> 1000 couples, SQLite
    .venv/bin/python bench/realtime.py --db postgres    # PostgreSQL (+ --redis: message queue)
    .venv/bin/python bench/realtime.py --smoke          # 3 couples for a few seconds (CI smoke)

For each load level N: N couples (2N authenticated sockets), each couple making one change every
--interval seconds (partners taking turns) through the real app paths, the kind rotating per
action (--kinds, default all three): guide progress (the socket event `change` with an ack, as
the page sends it while connected, or with --door http a POST with its CSRF token: the login
session, one transaction with the event row, commit with synchronous=FULL / PostgreSQL's fsync,
then the emit), a follow-through mark (the same door to .../days/<today>/mark, a kept/missed
correction with its version, on a commitment with a year of daily marks behind it unless
--history new), and
a boundary edit (a y-protocols update over the socket: checked against the couple's Yjs doc,
appended to its log, committed, then broadcast as "b:y"); measured from the action to the
partner's socket receiving it, overall and per kind (see bench/loadgen.py). The same
load then runs against bench/relay_floor.py (a bare Flask-SocketIO room relay, no database): the
ratio app / floor is what the app adds to the framework. With --durable-floor it runs a third
time against the durable floor (the same relay after one committed write per change, on the
same database: bench/relay_floor.py), which is what keeping a change costs on this stack before
any of the app's own logic. Also: idle memory per connected partner
(each level's own, and what one more partner adds between levels: `marginal_kib_per_partner`),
server CPU (and CPU per change), changes lost (an acknowledged change the partner never received:
must be 0), and the tracebacks the server logged (must be 0; the run's log is kept if not).

The server and the load generator are separate processes (bench/loadgen.py); both only use
127.0.0.1. Figures are printed and written to bench/results/realtime.json, with a plot of latency
against load in bench/results/realtime.png (needs the `bench` extra: matplotlib).
"""
import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
PY = sys.executable
SECRET = "bench-only-" + "s" * 40
POSTGRES_ADMIN = os.environ.get("COUPLE_BENCH_POSTGRES_URL",
                                os.environ.get("COUPLE_TEST_POSTGRES_URL",
                                               "postgresql://postgres@127.0.0.1:5432/test"))
TARGETS = ("app", "durable", "floor")
REDIS = os.environ.get("COUPLE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_seconds(pid: int) -> float:
    return sum(cpu_split(pid))


def pg_commit_counters() -> tuple[int, int] | None:
    """(commits, WAL flushes) of the whole PostgreSQL cluster so far: `pg_stat_database`'s
    `xact_commit` summed and `pg_stat_wal`'s `wal_sync` (every fsync of the WAL, by a committing
    backend or the WAL writer). None without PostgreSQL.

    Their ratio over a level says whether commits that arrive together already share one flush
    (PostgreSQL's own group commit: a backend's flush covers every record written before it),
    which is what an application-level group commit would buy. Backends report these at most
    once a second, so each end of a level's window is off by up to a second, alike at both
    ends under a steady load: a ratio, not a count to the commit."""
    try:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN, autocommit=True, connect_timeout=5) as c:
            commits = c.execute("SELECT sum(xact_commit) FROM pg_stat_database").fetchone()[0]
            flushes = c.execute("SELECT wal_sync FROM pg_stat_wal").fetchone()[0]
        return int(commits), int(flushes)
    except Exception:  # noqa: BLE001  (no PostgreSQL, or one older than 14: no figure)
        return None


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urlopen(url + "/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not healthy within {timeout}s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class Database:
    """Where the app's rows go for this run: a fresh SQLite file or a fresh PostgreSQL database."""

    def __init__(self, kind: str, workdir: Path):
        self.kind = kind
        self.workdir = workdir
        self.pg_name = None
        if kind == "sqlite":
            self.url = f"sqlite:///{workdir / 'instance' / 'couple.sqlite3'}"
        else:
            import psycopg

            self.pg_name = f"couple_bench_{os.getpid()}_{os.urandom(3).hex()}"
            with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{self.pg_name}"')
            # The admin URL's database replaced, its query kept (?host=/var/run/postgresql: a
            # Unix socket instead of TCP).
            base, _, query = POSTGRES_ADMIN.partition("?")
            self.url = base.rsplit("/", 1)[0] + "/" + self.pg_name + ("?" + query if query else "")

    def drop(self):
        if self.pg_name:
            import psycopg

            with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')


def app_env(db: Database, workdir: Path, redis: bool) -> dict:
    env = {**os.environ, "COUPLE_INSTANCE_PATH": str(workdir / "instance"),
           "COUPLE_SECRET_KEY": SECRET, "COUPLE_DATABASE_URL": db.url,
           "COUPLE_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    env.pop("COUPLE_ASYNC_MODE", None)
    env.pop("COUPLE_REDIS_URL", None)
    if redis:
        env["COUPLE_REDIS_URL"] = REDIS
        env["COUPLE_REDIS_CHANNEL"] = f"couple-bench-{os.getpid()}"
    if db.kind == "postgres":
        env["COUPLE_AUTO_MIGRATE"] = "0"
    return env


def seed(db: Database, env: dict, n: int, workdir: Path, history: str = "year") -> Path:
    if db.kind == "postgres":
        subprocess.run([PY, "-m", "flask", "--app", "app", "db", "upgrade", "-d",
                        "couple/migrations", "heads"], cwd=ROOT, env=env, check=True,
                       capture_output=True, timeout=300)
    path = workdir / "seeds.json"
    with open(path, "w") as out:
        subprocess.run([PY, str(BENCH / "seed.py"), str(n), history], cwd=ROOT, env=env,
                       stdout=out,
                       check=True, timeout=1800)
    return path


def run_level(target: str, n: int, args, env: dict | None, seeds: Path | None, log: Path) -> dict:
    """Start the server (app or floor), connect 2N sockets, measure, load, stop.

    With --processes K (the app only, over Redis) K app processes share the couples: partner A
    of every couple on one process and partner B on the next, so every change crosses the
    message queue; CPU and memory are summed over the processes."""
    count = args.processes if target == "app" else 1
    floor_env = {**os.environ, "FLOOR_DATABASE_URL": args.floor_database_url} \
        if target == "durable" else None
    ports = [free_port() for _ in range(count)]
    log_start = log.stat().st_size if log.exists() else 0
    servers = []
    with open(log, "ab") as logf:
        for port in ports:
            if target == "app":
                servers.append(subprocess.Popen(
                    [PY, str(ROOT / "app.py")], cwd=ROOT,
                    env={**env, "HOST": "127.0.0.1", "PORT": str(port)},
                    stdout=logf, stderr=subprocess.STDOUT))
            else:
                servers.append(subprocess.Popen(
                    [PY, str(BENCH / "relay_floor.py"), str(port)], cwd=ROOT, env=floor_env,
                    stdout=logf, stderr=subprocess.STDOUT))
    server = servers[0]
    loadgen = None
    result = None
    try:
        for port, proc in zip(ports, servers, strict=True):
            wait_healthy(f"http://127.0.0.1:{port}", proc)
        base_rss = sum(rss_kib(s.pid) for s in servers)
        cmd = [PY, str(BENCH / "loadgen.py"), "--target", "app" if target == "app" else "floor",
               "--port", ",".join(str(p) for p in ports),
               "--couples", str(n), "--interval", str(args.interval), "--duration",
               str(args.duration), "--warmup", str(args.warmup), "--kinds", args.kinds,
               "--door", args.door]
        if seeds:
            cmd += ["--seeds", str(seeds)]
        loadgen = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   text=True)
        line = loadgen.stdout.readline()
        if not line.startswith("CONNECTED"):
            raise RuntimeError(f"load generator failed: {line!r} (see {log})")
        connected = int(line.split()[1])
        time.sleep(2)  # let the connects' garbage settle before reading idle memory
        idle_rss = sum(rss_kib(s.pid) for s in servers)
        spy = None
        if target == "app" and args.profile:
            # py-spy (not a dependency: give its path) samples the server while under load.
            out = RESULTS / f"profile-{n}.txt"
            spy = subprocess.Popen([args.profile, "record", "--pid", str(server.pid),
                                    "--nonblocking", "--rate", "250", "--format", "raw",
                                    "--duration", str(int(args.warmup + args.duration)),
                                    "-o", str(out)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        on_postgres = target == "durable" or (target == "app" and args.db == "postgres")
        wal0 = pg_commit_counters() if on_postgres else None
        sys0 = sum(cpu_split(s.pid)[1] for s in servers)
        cpu0, t0 = sum(cpu_seconds(s.pid) for s in servers), time.monotonic()
        loadgen.stdin.write("GO\n")
        loadgen.stdin.flush()
        for line in loadgen.stdout:
            if line.startswith("RESULT "):
                result = json.loads(line[len("RESULT "):])
                break
        if result is None:
            raise RuntimeError(f"no result from the load generator (see {log})")
        if spy is not None:
            spy.wait(60)
        elapsed = max(1e-9, time.monotonic() - t0)
        cpu = (sum(cpu_seconds(s.pid) for s in servers) - cpu0) / elapsed
        system = (sum(cpu_split(s.pid)[1] for s in servers) - sys0) / elapsed
        if wal0 is not None:
            wal1 = pg_commit_counters()
            if wal1 is not None:
                commits, flushes = wal1[0] - wal0[0], wal1[1] - wal0[1]
                result["pg_commits_per_s"] = round(commits / elapsed, 1)
                result["pg_wal_flushes_per_commit"] = round(flushes / max(1, commits), 3)
        result.update({
            "target": target,
            "processes": count,
            "connected": connected,
            "server_rss_base_kib": base_rss,
            "server_rss_idle_kib": idle_rss,
            "mem_per_partner_kib": round((idle_rss - base_rss) / max(1, connected), 1),
            "server_cpu_cores": round(cpu, 2),
            # The kernel's part of it (socket reads and writes, the database's round trips,
            # epoll): work no Python-level profile or instruction count sees.
            "server_cpu_system_share": round(system / max(1e-9, cpu), 2),
            # The capacity figure: one gevent process is one core at most (summed over
            # the processes).
            "server_cpu_ms_per_change": round(
                1000 * cpu / max(1e-9, result["throughput_per_s"]), 2),
        })
        return result
    finally:
        if loadgen is not None:
            try:
                loadgen.wait(30)
            except subprocess.TimeoutExpired:
                loadgen.kill()
        for proc in servers:
            stop(proc)
        if result is not None:
            # A fast run that logged errors is not a good run: count the server's tracebacks
            # (e.g. a database connection used by two greenlets at once) into the result.
            with open(log, "rb") as f:
                f.seek(log_start)
                text = f.read().decode("utf-8", "replace")
            result["server_tracebacks"] = text.count("Traceback (most recent call last)")
            result["server_log_errors"] = sum(
                1 for line in text.splitlines() if line.startswith(("ERROR", "CRITICAL")))


def table(levels: list[dict]) -> str:
    head = (f"{'couples':>7} {'target':>7} {'changes':>7} {'lost':>4} {'thr/s':>6} {'p50':>7} "
            f"{'p95':>7} {'p99':>7} {'max':>7} {'ack p99':>8} {'cpu':>5} {'KiB/partner':>11} "
            f"{'errors':>6}")
    # Per app level: the overall row ("app": errors = server tracebacks), then one row per kind
    # of change (errors = refused or failed actions of that kind).
    rows = [head, "-" * len(head)]
    for level in levels:
        for target in TARGETS:
            r = level.get(target)
            if not r:
                continue
            lat, ack = r["latency_ms"], r["ack_ms"]
            rows.append(
                f"{r['couples']:>7} {target:>7} {r['changes_measured']:>7} {r['changes_lost']:>4} "
                f"{r['throughput_per_s']:>6} {lat.get('p50', 0):>7} {lat.get('p95', 0):>7} "
                f"{lat.get('p99', 0):>7} {lat.get('max', 0):>7} {ack.get('p99', 0):>8} "
                f"{r['server_cpu_cores']:>5} {r['mem_per_partner_kib']:>11} "
                f"{r.get('server_tracebacks', 0):>6}")
            for kind, k in (r.get("by_kind") or {}).items() if target == "app" else ():
                lat, ack = k["latency_ms"], k["ack_ms"]
                rows.append(
                    f"{kind:>14} {k['changes_measured']:>7} {k['changes_lost']:>4} "
                    f"{'':>6} {lat.get('p50', 0):>7} {lat.get('p95', 0):>7} {lat.get('p99', 0):>7} "
                    f"{lat.get('max', 0):>7} {ack.get('p99', 0):>8} {'':>5} {'':>11} "
                    f"{k['errors']:>6}")
        if level.get("ratio_p99"):
            rows.append(f"{'':>7} ratio app/floor: p99 {level['ratio_p99']}x, "
                        f"p50 {level['ratio_p50']}x")
        if level.get("ratio_cpu_durable"):
            rows.append(f"{'':>7} CPU per change, app/durable floor: "
                        f"{level['ratio_cpu_durable']}x")
        for target in ("app", "durable"):
            r = level.get(target) or {}
            if "pg_wal_flushes_per_commit" in r:
                rows.append(f"{'':>7} PostgreSQL under the {target}: {r['pg_commits_per_s']} "
                            f"commits/s, {r['pg_wal_flushes_per_commit']} WAL flushes per commit")
    return "\n".join(rows)


def marginal_memory(levels: list[dict]) -> dict:
    """KiB per idle partner *added* from the lowest level to each higher one, app and floor.

    A level's own figure divides everything its connects left behind by its sockets, the fixed
    part too (the database pool's connections, compiled-statement and template caches: several
    MiB, spread over 100 sockets at 50 couples). The slope between two levels (each a fresh
    server) is what one more connected partner costs, which is what capacity is planned with."""
    out = {}
    if len(levels) < 2:
        return out
    low = levels[0]
    for level in levels[1:]:
        row = {}
        for target in TARGETS:
            a, b = low.get(target), level.get(target)
            if a and b and b["connected"] > a["connected"]:
                row[target] = round((b["server_rss_idle_kib"] - a["server_rss_idle_kib"])
                                    / (b["connected"] - a["connected"]), 1)
        if row.get("app") and row.get("floor"):
            row["ratio"] = round(row["app"] / row["floor"], 2)
        if row:
            out[f"{low['couples']}->{level['couples']}"] = row
    return out


def plot(levels: list[dict], path: Path, title: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[bench]'): no plot", file=sys.stderr)
        return False
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for target, color in (("app", "tab:blue"), ("durable", "tab:green"), ("floor", "tab:gray")):
        pts = [(lv["couples"], lv[target]["latency_ms"]) for lv in levels if lv.get(target)]
        if not pts:
            continue
        xs = [p[0] for p in pts]
        for key, style in (("p50", ":"), ("p99", "-")):
            ax.plot(xs, [p[1].get(key, 0) for p in pts], style, marker="o", color=color,
                    label=f"{target} {key}")
    ax.axhline(100, color="tab:red", linewidth=0.8, linestyle="--", label="aim: p99 100 ms")
    ax.set_xlabel("couples (2 sockets each), one change per couple every "
                  f"{levels[0]['app' if levels[0].get('app') else 'floor']['interval_s']} s")
    ax.set_ylabel("partner-to-partner latency (ms, log scale)")
    ax.set_yscale("log")  # the floor's few ms and a saturated app's seconds on one plot
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--couples", default="50,500,1000", help="load levels, comma-separated")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between a couple's changes")
    p.add_argument("--duration", type=float, default=20.0, help="measured seconds per level")
    p.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds first")
    p.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--redis", action="store_true", help="run the app with the Redis message queue")
    p.add_argument("--processes", type=int, default=1,
                   help="app processes (needs --redis for more than one): partner A of each "
                        "couple on one, partner B on the next")
    p.add_argument("--door", choices=["socket", "http"], default="socket",
                   help="progress and marks over the page's socket (`change`, the default) or "
                        "as POSTs (the floor relays through the same door)")
    p.add_argument("--kinds", default="progress,mark,boundary",
                   help="kinds of change the couples rotate through (progress, mark, boundary)")
    p.add_argument("--history", choices=["new", "year"], default="year",
                   help="each partner's commitment as after a year of daily marks (the default: "
                        "what a mark costs once the first weeks are over) or made today")
    p.add_argument("--no-floor", action="store_true")
    p.add_argument("--cpu-per-kind", type=int, metavar="COUPLES",
                   help="then run each kind alone at this many couples: the app's CPU per "
                        "change of each kind (`cpu_per_kind` in the JSON)")
    p.add_argument("--durable-floor", action="store_true",
                   help="also run the durable floor (the relay after one committed write)")
    p.add_argument("--profile", metavar="PY_SPY",
                   help="path of a py-spy binary: sample the app under load into "
                        "bench/results/profile-<couples>.txt (folded stacks)")
    p.add_argument("--smoke", action="store_true", help="3 couples, a few seconds (CI smoke)")
    p.add_argument("--out", default=str(RESULTS / "realtime.json"))
    p.add_argument("--plot", default=str(RESULTS / "realtime.png"))
    args = p.parse_args()
    if args.smoke:
        args.couples, args.duration, args.warmup, args.interval = "3", 3.0, 0.5, 0.5
    if args.processes > 1 and not args.redis:
        p.error("--processes above 1 needs --redis (the processes share events through it)")
    levels_n = [int(x) for x in args.couples.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="couple-bench-"))
    (workdir / "instance").mkdir()
    log = workdir / "servers.log"
    db = Database(args.db, workdir)
    levels = []
    try:
        env = app_env(db, workdir, args.redis)
        args.floor_database_url = db.url
        t = time.monotonic()
        seeds = seed(db, env, max(levels_n), workdir, args.history)
        print(f"seeded {max(levels_n)} couples in {time.monotonic() - t:.1f}s ({args.db})",
              flush=True)
        for n in levels_n:
            level = {"couples": n}
            level["app"] = run_level("app", n, args, env, seeds, log)
            if args.durable_floor:
                level["durable"] = run_level("durable", n, args, None, None, log)
                ca = level["app"]["server_cpu_ms_per_change"]
                cd = level["durable"]["server_cpu_ms_per_change"]
                level["ratio_cpu_durable"] = round(ca / max(cd, 1e-6), 2)
            if not args.no_floor:
                level["floor"] = run_level("floor", n, args, None, None, log)
                fa, ff = level["app"]["latency_ms"], level["floor"]["latency_ms"]
                if fa and ff:
                    level["ratio_p99"] = round(fa["p99"] / max(ff["p99"], 1e-6), 2)
                    level["ratio_p50"] = round(fa["p50"] / max(ff["p50"], 1e-6), 2)
            levels.append(level)
            print(table([level]), flush=True)
        cpu_per_kind = {}
        for kind in (args.kinds.split(",") if args.cpu_per_kind else ()):
            alone = argparse.Namespace(**{**vars(args), "kinds": kind})
            r = run_level("app", args.cpu_per_kind, alone, env, seeds, log)
            cpu_per_kind[kind] = {"couples": args.cpu_per_kind,
                                  "cpu_ms_per_change": r["server_cpu_ms_per_change"],
                                  "cpu_cores": r["server_cpu_cores"],
                                  "cpu_system_share": r["server_cpu_system_share"],
                                  "latency_ms": r["latency_ms"], "changes_lost": r["changes_lost"],
                                  "server_tracebacks": r.get("server_tracebacks", 0)}
            print(f"{kind} alone, {args.cpu_per_kind} couples: "
                  f"{r['server_cpu_ms_per_change']} ms of CPU per change, "
                  f"{round(100 * r['server_cpu_system_share'])}% of it the kernel's "
                  f"(p50 / p99 {r['latency_ms'].get('p50')} / {r['latency_ms'].get('p99')} ms)",
                  flush=True)
    finally:
        db.drop()
    report = {
        "benchmark": "realtime partner-to-partner",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "load_average": os.getloadavg()},
        "config": {"db": args.db, "redis": args.redis, "processes": args.processes,
                   "interval_s": args.interval,
                   "duration_s": args.duration, "warmup_s": args.warmup,
                   "kinds": args.kinds.split(","),
                   "door": args.door,
                   "history": args.history,
                   "paths": {
                       "progress": ("socket 'change' {path: /guide/steps/<n>/state}"
                                    if args.door == "socket" else
                                    "POST /guide/steps/<n>/state")
                                   + " -> commit -> ack, emit 'ev' to couple room",
                       "mark": ("socket 'change' {path: /commitments/<id>/days/<today>/mark}"
                                if args.door == "socket" else
                                "POST /commitments/<id>/days/<today>/mark")
                               + " (kept<->missed, version) -> commit -> ack, emit 'ev' to "
                                 "couple room",
                       "boundary": "socket 'b:y' y-protocols update -> check against the Yjs doc "
                                   "-> append to the log, commit -> emit 'b:y' to the partner",
                       "floor": ("socket 'relay'" if args.door == "socket" else
                                 "POST /relay/<couple>") + " -> emit 'ev' (any kind)",
                       "durable": "the floor's relay -> UPDATE stream seq RETURNING, INSERT "
                                  "event, COMMIT -> emit 'ev'"},
                   "smoke": args.smoke},
        "levels": levels,
        "cpu_per_kind": cpu_per_kind,
        "marginal_kib_per_partner": marginal_memory(levels),
    }
    print()
    print(table(levels))
    for span, row in report["marginal_kib_per_partner"].items():
        print(f"KiB per partner added, {span} couples: " + ", ".join(
            f"{k} {v}" + ("x" if k == "ratio" else "") for k, v in row.items()))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten {out}")
    if not args.smoke and plot(levels, Path(args.plot),
                               f"couple realtime, {args.db}{' + redis' if args.redis else ''}, "
                               f"{os.cpu_count()} cores"):
        print(f"plot {args.plot}")
    if any(lv[t].get("server_tracebacks") for lv in levels for t in TARGETS if lv.get(t)) or any(
            k["server_tracebacks"] for k in cpu_per_kind.values()):
        print(f"the server logged tracebacks: see {log}", file=sys.stderr)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    lost = sum(lv[t]["changes_lost"] for lv in levels for t in TARGETS if lv.get(t)) + sum(
        k["changes_lost"] for k in cpu_per_kind.values())
    sys.exit(1 if lost else 0)


if __name__ == "__main__":
    main()
