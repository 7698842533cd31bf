"""Load generator (its own process, never the server's): 2N Socket.IO sockets and N couples making
changes at a fixed rate; measures partner-to-partner latency.

    python bench/loadgen.py --target app|floor --port P --couples N --interval S --duration D \
        --seeds seeds.json

Protocol with the parent (bench/realtime.py): prints "CONNECTED <n>" once every socket is in,
then waits for a line "GO" on stdin (the parent measures idle memory in between), runs the load,
and prints one JSON line "RESULT {...}".

Every couple takes turns: partner A, then partner B, changes something through the real path
(app: POST /guide/steps/<n>/state with an op id, authenticated by the seeded session cookie and
CSRF token; floor: POST /relay/<couple>); the clock starts just before the request is written
and stops when the *other* partner's socket receives the event carrying that op id. Only
127.0.0.1 is ever contacted. Every loop is bounded in count and time.
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

import gevent  # noqa: E402
import websocket  # noqa: E402
from gevent.event import Event  # noqa: E402

HOST = "127.0.0.1"
USER_AGENT = "couple-bench/1"
STATES = ("not_started", "working", "practising")


class Partner:
    """One tab: a raw Engine.IO v4 WebSocket (no polling) and a keep-alive HTTP connection."""

    def __init__(self, run, couple_index: int, role: str, seed: dict | None):
        self.run = run
        self.couple_index = couple_index
        self.role = role
        self.seed = seed or {}
        self.ws = None
        self.http = None
        self.connected = Event()

    def headers(self) -> dict:
        h = {"User-Agent": USER_AGENT, "Accept": "application/json",
             "Content-Type": "application/json"}
        if self.seed.get("cookie"):
            h["Cookie"] = self.seed["cookie"]
            h["X-CSRFToken"] = self.seed["csrf"]
        return h

    def connect(self):
        query = "EIO=4&transport=websocket"
        if self.run.target == "floor":
            query += f"&couple={self.couple_index}"
        header = [f"User-Agent: {USER_AGENT}"]
        if self.seed.get("cookie"):
            header.append(f"Cookie: {self.seed['cookie']}")
        self.ws = websocket.create_connection(
            f"ws://{HOST}:{self.run.port}/socket.io/?{query}", header=header, timeout=30,
            suppress_origin=True, enable_multithread=True)
        opened = self.ws.recv()
        assert opened.startswith("0"), opened
        self.ws.send("40")
        answer = self.ws.recv()
        for _ in range(10):  # a slow connect may see the server's ping before the answer
            if answer != "2":
                break
            self.ws.send("3")
            answer = self.ws.recv()
        assert answer.startswith("40"), answer
        self.ws.settimeout(None)
        self.connected.set()
        gevent.spawn(self.read_loop)

    def read_loop(self):
        while not self.run.finished:
            try:
                msg = self.ws.recv()
            except Exception:  # noqa: BLE001
                self.run.socket_errors += 1
                return
            if not msg:
                continue
            if msg == "2":
                self.ws.send("3")
                continue
            if msg.startswith("42"):
                name, payload = json.loads(msg[2:])[:2]
                if name == "ev":
                    self.run.received(self, payload.get("op"))

    def post(self, path: str, body: dict) -> int:
        for attempt in range(2):  # a kept-alive connection the server closed is re-opened once
            try:
                if self.http is None:
                    self.http = http.client.HTTPConnection(HOST, self.run.port, timeout=30)
                self.http.request("POST", path, json.dumps(body), self.headers())
                r = self.http.getresponse()
                r.read()
                return r.status
            except (http.client.HTTPException, OSError):
                self.http = None
                if attempt:
                    raise
        return 0


class Run:
    def __init__(self, args, seeds):
        self.args = args
        self.target = args.target
        self.port = args.port
        self.finished = False
        self.socket_errors = 0
        self.sent = {}  # op -> (t0, receiving partner)
        self.latency = []  # seconds, partner-to-partner
        self.ack = []  # seconds, action to HTTP answer
        self.http_errors = 0
        self.acked = set()
        self.delivered = set()
        self.couples = []
        for i in range(args.couples):
            seed = seeds[i] if seeds else None
            self.couples.append((Partner(self, i, "a", seed and seed["a"]),
                                 Partner(self, i, "b", seed and seed["b"]),
                                 seed and seed["couple_id"]))

    def received(self, partner, op):
        entry = self.sent.get(op)
        if entry is None or entry[1] is not partner or op in self.delivered:
            return
        self.delivered.add(op)
        if entry[2]:  # measured (not warm-up)
            self.latency.append(time.perf_counter() - entry[0])

    def connect_all(self):
        # A bounded number of connects in flight, as browsers arriving over a few seconds.
        pool = gevent.pool.Pool(50)
        for a, b, _ in self.couples:
            pool.spawn(a.connect)
            pool.spawn(b.connect)
        pool.join(timeout=300, raise_error=True)
        n = sum(p.connected.is_set() for a, b, _ in self.couples for p in (a, b))
        return n

    def act(self, couple, n: int, measured: bool):
        a, b, couple_id = couple
        actor, other = (a, b) if n % 2 == 0 else (b, a)
        op = uuid.uuid4().hex
        if self.target == "app":
            step = random.randint(1, 8)
            path, body = f"/guide/steps/{step}/state", {"state": random.choice(STATES), "op_id": op}
        else:
            path, body = f"/relay/{actor.couple_index}", {"op": op}
        t0 = time.perf_counter()
        self.sent[op] = (t0, other, measured)
        try:
            status = actor.post(path, body)
        except Exception:  # noqa: BLE001
            status = 0
        if status == 200:
            self.acked.add(op)
            if measured:
                self.ack.append(time.perf_counter() - t0)
        else:
            self.http_errors += 1
            self.sent.pop(op, None)

    def couple_loop(self, couple, start: float, warmup_end: float, end: float):
        interval = self.args.interval
        next_at = start + random.uniform(0, interval)
        n = 0
        max_changes = int((end - start) / interval) + 2  # bound in count as well as time
        while n < max_changes:
            now = time.perf_counter()
            if next_at >= end:
                return
            if next_at > now:
                gevent.sleep(next_at - now)
            self.act(couple, n, measured=next_at >= warmup_end)
            n += 1
            next_at += interval

    def load(self):
        start = time.perf_counter()
        warmup_end = start + self.args.warmup
        end = warmup_end + self.args.duration
        loops = [gevent.spawn(self.couple_loop, c, start, warmup_end, end) for c in self.couples]
        gevent.joinall(loops, timeout=self.args.warmup + self.args.duration + 120)
        elapsed_end = time.perf_counter()
        # Stragglers: every acknowledged change must reach the partner; wait a bounded while.
        deadline = time.monotonic() + self.args.drain
        while time.monotonic() < deadline and not self.acked <= self.delivered:
            gevent.sleep(0.05)
        self.finished = True
        measured = [op for op, (_t, _p, m) in self.sent.items() if m]
        lost = [op for op in measured if op in self.acked and op not in self.delivered]
        return {
            "target": self.target,
            "couples": self.args.couples,
            "sockets": 2 * self.args.couples,
            "interval_s": self.args.interval,
            "duration_s": self.args.duration,
            "changes_measured": len(measured),
            "changes_acked": sum(1 for op in measured if op in self.acked),
            "changes_lost": len(lost),
            "http_errors": self.http_errors,
            "socket_errors": self.socket_errors,
            "throughput_per_s": round(len(self.latency) / self.args.duration, 1),
            "latency_ms": summary(self.latency),
            "ack_ms": summary(self.ack),
            "load_wall_s": round(elapsed_end - start, 2),
        }


def summary(values):
    if not values:
        return {}
    v = sorted(values)

    def pct(p):
        return round(1000 * v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))], 2)

    return {"n": len(v), "p50": pct(50), "p95": pct(95), "p99": pct(99),
            "max": round(1000 * v[-1], 2), "mean": round(1000 * sum(v) / len(v), 2)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--target", choices=["app", "floor"], required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--couples", type=int, required=True)
    p.add_argument("--interval", type=float, default=2.0)
    p.add_argument("--duration", type=float, default=20.0)
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--drain", type=float, default=5.0)
    p.add_argument("--seeds")
    args = p.parse_args()
    seeds = None
    if args.seeds:
        with open(args.seeds) as f:
            seeds = json.load(f)
        assert len(seeds) >= args.couples, "not enough seeded couples"
    run = Run(args, seeds)
    n = run.connect_all()
    print(f"CONNECTED {n}", flush=True)
    # The parent measures idle memory, then says GO; read in a thread so sockets keep answering pings.
    line = gevent.get_hub().threadpool.apply(sys.stdin.readline)
    if line.strip() != "GO":
        return
    result = run.load()
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    import gevent.pool  # noqa: F401

    main()
