"""Load generator (its own process, never the server's): 2N Socket.IO sockets and N couples making
changes at a fixed rate; measures partner-to-partner latency.

    python bench/loadgen.py --target app|floor --port P --couples N --interval S --duration D \
        --seeds seeds.json

Protocol with the parent (bench/realtime.py): prints "CONNECTED <n>" once every socket is in,
then waits for a line "GO" on stdin (the parent measures idle memory in between), runs the load,
and prints one JSON line "RESULT {...}".

Every couple takes turns: partner A, then partner B, changes something through a real path,
the kind rotating per action (--kinds, default progress,mark,boundary), all authenticated by the
seeded session cookie (and CSRF token for HTTP):
- progress: `change` {path: /guide/steps/<n>/state, body} over the actor's socket, acked after
  the commit, as the page sends it while connected (--door http: a POST of the same body to that
  path, the page's path without a socket); with an op id; done when the partner's socket gets the
  "ev" carrying that op id;
- mark: the same door to /commitments/<own commitment>/days/<today>/mark, toggling kept/missed
  with the version last seen (read from GET /api/state at connect, then from each answer), so
  every mark is a real correction the server accepts (a refusal is counted as an error); done
  when the partner's socket gets the "ev" carrying the op id;
- boundary: the actor's socket sends a y-protocols update (a binary "b:y" event, with an ack)
  typing a unique marker into the seeded boundary's Y.Text; done when the partner's socket gets
  the "b:y" broadcast whose bytes contain that marker.
Floor: a "relay" event with an ack (--door http: POST /relay/<couple>) for every action (the
relay carries any payload; kind does not
matter to it). The clock starts just before the request or socket frame is written. Only
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
from datetime import UTC, datetime  # noqa: E402

import gevent  # noqa: E402
import websocket  # noqa: E402
from gevent.event import AsyncResult, Event  # noqa: E402
from gevent.lock import BoundedSemaphore  # noqa: E402
from pycrdt import Array, Doc, create_sync_message, create_update_message  # noqa: E402

HOST = "127.0.0.1"
USER_AGENT = "couple-bench/1"
STATES = ("not_started", "working", "practising")
KINDS = ("progress", "mark", "boundary")
MAX_TEXT = 600  # bytes of boundary text the load lets build up (the server's limit is 2,000)
BINARY_HEADER = '["b:y",{"_placeholder":true,"num":0}]'


def _read_var_uint(buf: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    for _ in range(10):
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            break
    return value, pos


def sync_payload(message: bytes) -> tuple[int, bytes]:
    """(subtype, payload) of a y-protocols sync message: 0 step 1, 1 step 2, 2 update."""
    assert message[0] == 0, "not a sync message"
    length, pos = _read_var_uint(message, 2)
    return message[1], bytes(message[pos:pos + length])


def fill(value, attachments: list):
    """Put a binary packet's attachments back where its placeholders are."""
    if isinstance(value, dict):
        if value.get("_placeholder") is True and "num" in value:
            return attachments[value["num"]]
        return {k: fill(v, attachments) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, attachments) for v in value]
    return value


class Replica:
    """A couple's copy of its boundaries document, kept by the load generator.

    One per couple, shared by both partners' sockets (they live in this same process and a couple
    acts one change at a time): filled from the server's state once, by sync step 1/2 on partner
    A's socket at connect, and every edit this process makes is applied to it as it is made, so
    its updates build on the server's document. Each partner writes under a Yjs client id of its
    own, as a browser tab does (the server refuses structs under someone else's client id), so
    each has its own Doc; the actor's edit is applied to the other's Doc here rather than from
    the broadcast (the same update).
    """

    def __init__(self, boundary_id: str):
        self.boundary_id = boundary_id
        self.docs = {"a": Doc(), "b": Doc()}
        for doc in self.docs.values():
            doc.get("boundaries", type=Array)
        self.doc = self.docs["a"]

    def fill(self, update: bytes) -> None:
        for doc in self.docs.values():
            doc.apply_update(update)

    def text(self, role: str = "a"):
        for item in self.docs[role].get("boundaries", type=Array):
            if item.get("id") == self.boundary_id:
                return item["text"]
        raise KeyError(self.boundary_id)

    def type_marker(self, marker: str, role: str = "a") -> bytes:
        """Type the marker at the end of the boundary's text; the y-protocols update message."""
        doc = self.docs[role]
        before = doc.get_state()
        text = self.text(role)
        length = len(str(text).encode("utf-8"))
        with self.doc.transaction():
            if length > MAX_TEXT:
                # The server keeps a boundary under 2,000 characters: a long run types over the
                # start instead of growing the text without end (the update carries both).
                del text[0:len(marker.encode("utf-8"))]
                length -= len(marker.encode("utf-8"))
            # pycrdt indexes Text by UTF-8 bytes: the end is the encoded length.
            text.insert(length, marker)
        update = doc.get_update(before)
        self.docs["b" if role == "a" else "a"].apply_update(update)
        return create_update_message(update)


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
        self.send_lock = BoundedSemaphore(1)  # a binary event is two frames: keep them together
        self.acks = {}  # ack id -> AsyncResult
        self.next_ack = 0
        self.mark = None  # (status, version) of this partner's own mark today, as last answered
        ports = run.ports
        self.port = ports[(couple_index * 2 + (role == "b")) % len(ports)]

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
        # Offered as Chromium offers it; the server declines (websocket-client could not read
        # a compressed frame), so the figures are what a browser's socket costs.
        header = [f"User-Agent: {USER_AGENT}",
                  "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"]
        if self.seed.get("cookie"):
            header.append(f"Cookie: {self.seed['cookie']}")
        self.ws = websocket.create_connection(
            f"ws://{HOST}:{self.port}/socket.io/?{query}", header=header, timeout=30,
            suppress_origin=True, enable_multithread=True)
        assert not (self.ws.getheaders() or {}).get("sec-websocket-extensions")
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
        gevent.spawn(self.read_loop)
        if self.run.target == "app" and self.seed.get("commitment_id"):
            self.prime()
        self.connected.set()

    def prime(self):
        """Before the load: what this partner's page would know on opening (unmeasured)."""
        status, body = self.request("GET", "/api/state")
        assert status == 200, f"GET /api/state answered {status}"
        marks = json.loads(body)["data"].get("commitment_marks", {})
        mark = marks.get(f"{self.seed['commitment_id']}:{self.run.today}")
        self.mark = (mark["status"], mark["version"]) if mark else (None, 0)
        replica = self.run.replicas.get(self.couple_index)
        if self.role == "a" and replica is not None:
            # Sync step 1 -> the server's step 2 (its whole document for an empty replica).
            answer = self.emit_binary(create_sync_message(replica.doc), timeout=60)
            assert isinstance(answer, dict) and answer.get("ok"), answer
            kind, update = sync_payload(bytes(answer["replies"][0]))
            assert kind == 1, kind
            replica.fill(update)
            replica.text()  # the seeded boundary is there
        if self.run.door == "socket" and self.http is not None:
            # What an idle tab holds is its socket: the server closes a kept-alive HTTP
            # connection after COUPLE_KEEPALIVE seconds (app.py), so idle memory is measured
            # without it.
            self.http.close()
            self.http = None

    def emit_json(self, name: str, data, timeout: float = 30):
        """Send an event with an ack id; return the ack's payload (None on timeout)."""
        body = json.dumps([name, data], separators=(",", ":"))
        return self._with_ack(lambda ack_id: [f"42{ack_id}{body}"], timeout)

    def emit_binary(self, message: bytes, timeout: float = 30):
        """Send a "b:y" binary event with an ack id; return the ack's payload (None on timeout)."""
        return self._with_ack(lambda ack_id: [f"451-{ack_id}{BINARY_HEADER}", message], timeout)

    def _with_ack(self, frames_for, timeout: float):
        """Send the frames `frames_for(ack_id)` together; wait for that ack (None on timeout)."""
        with self.send_lock:
            self.next_ack += 1
            ack_id = self.next_ack
            result = self.acks[ack_id] = AsyncResult()
            for frame in frames_for(ack_id):
                if isinstance(frame, bytes):
                    self.ws.send_binary(frame)
                else:
                    self.ws.send(frame)
        try:
            return result.get(timeout=timeout)
        except gevent.Timeout:
            return None
        finally:
            self.acks.pop(ack_id, None)

    def read_loop(self):
        while not self.run.finished:
            try:
                msg = self.ws.recv()
            except Exception:  # noqa: BLE001
                self.run.socket_errors += 1
                return
            if not msg or isinstance(msg, bytes):
                continue  # a binary frame outside a binary packet: not ours to read
            if msg == "2":
                with self.send_lock:
                    self.ws.send("3")
                continue
            if msg.startswith("42"):
                name, payload = json.loads(msg[2:])[:2]
                if name == "ev":
                    self.run.received(self, payload.get("op"))
            elif msg.startswith("43"):  # ack: 43<id>[...]
                self.acked(msg[2:])
            elif msg[:2] in ("45", "46"):  # binary event / ack: 45<n>-<id?>[...] + n frames
                count, _, rest = msg[2:].partition("-")
                attachments = []
                for _ in range(int(count)):
                    frame = self.ws.recv()
                    if isinstance(frame, str):
                        frame = frame.encode("latin-1")
                    attachments.append(frame)
                if msg[1] == "6":
                    self.acked(rest, attachments)
                    continue
                start = rest.index("[")
                name, *args = json.loads(rest[start:])
                if name == "b:y" and attachments:
                    self.run.received_bytes(self, attachments[0])

    def acked(self, rest: str, attachments=()):
        start = rest.index("[")
        ack_id = int(rest[:start]) if rest[:start] else None
        waiter = self.acks.get(ack_id)
        if waiter is not None:
            args = fill(json.loads(rest[start:]), list(attachments))
            waiter.set(args[0] if args else None)

    def post(self, path: str, body: dict) -> int:
        return self.request("POST", path, body)[0]

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        for attempt in range(2):  # a kept-alive connection the server closed is re-opened once
            try:
                if self.http is None:
                    self.http = http.client.HTTPConnection(HOST, self.port, timeout=30)
                self.http.request(method, path, None if body is None else json.dumps(body),
                                  self.headers())
                r = self.http.getresponse()
                return r.status, r.read()
            except (http.client.HTTPException, OSError):
                self.http = None
                if attempt:
                    raise
        return 0, b""


class Run:
    def __init__(self, args, seeds):
        self.args = args
        self.target = args.target
        self.ports = [int(p) for p in str(args.port).split(",")]
        self.port = self.ports[0]
        self.kinds = [k for k in args.kinds.split(",") if k] if args.target == "app" else ["relay"]
        self.door = args.door
        assert all(k in KINDS for k in self.kinds) or self.target == "floor", args.kinds
        if self.target == "app" and not seeds:
            self.kinds = ["progress"]  # marks and boundaries need seeded rows
        # The seeded commitments are in UTC: "today" is UTC's (a run across midnight would see a
        # few "not due yet"/version errors, counted as errors, never hidden).
        self.today = datetime.now(UTC).date().isoformat()
        self.finished = False
        self.socket_errors = 0
        self.sent = {}  # op -> (t0, receiving partner, measured, kind)
        self.latency = []  # seconds, partner-to-partner
        self.latency_by_kind = {k: [] for k in self.kinds}
        self.ack = []  # seconds, action to HTTP answer / socket ack
        self.ack_by_kind = {k: [] for k in self.kinds}
        self.http_errors = 0
        self.errors_by_kind = {k: 0 for k in self.kinds}
        self.error_samples = []
        self.acked = set()
        self.delivered = set()
        self.markers = {}  # receiving partner -> {marker bytes: op} (boundary edits in flight)
        self.replicas = {}
        self.couples = []
        for i in range(args.couples):
            seed = seeds[i] if seeds else None
            if seed and seed.get("boundary_id") and "boundary" in self.kinds:
                self.replicas[i] = Replica(seed["boundary_id"])
            self.couples.append((Partner(self, i, "a", seed and seed["a"]),
                                 Partner(self, i, "b", seed and seed["b"]),
                                 seed and seed["couple_id"]))

    def received(self, partner, op):
        entry = self.sent.get(op)
        if entry is None or entry[1] is not partner or op in self.delivered:
            return
        self.delivered.add(op)
        if entry[2]:  # measured (not warm-up)
            elapsed = time.perf_counter() - entry[0]
            self.latency.append(elapsed)
            self.latency_by_kind[entry[3]].append(elapsed)

    def received_bytes(self, partner, data: bytes):
        """A "b:y" broadcast: which of the edits this partner waits for does it carry?"""
        waiting = self.markers.get(partner)
        if not waiting:
            return
        for marker in [m for m in waiting if m in data]:
            self.received(partner, waiting.pop(marker))

    def connect_all(self):
        # A bounded number of connects in flight, as browsers arriving over a few seconds.
        pool = gevent.pool.Pool(50)
        for a, b, _ in self.couples:
            pool.spawn(a.connect)
            pool.spawn(b.connect)
        pool.join(timeout=300, raise_error=True)
        n = sum(p.connected.is_set() for a, b, _ in self.couples for p in (a, b))
        return n

    def error(self, kind: str, what: str):
        self.http_errors += 1
        self.errors_by_kind[kind] += 1
        if len(self.error_samples) < 10:
            self.error_samples.append(f"{kind}: {what}")

    def act(self, couple, n: int, measured: bool):
        a, b, couple_id = couple
        actor, other = (a, b) if n % 2 == 0 else (b, a)
        # Both partners make each kind in turn; couples start at different kinds so that every
        # moment of the run (and the measured window) carries an even mix.
        kind = self.kinds[(n // 2 + actor.couple_index) % len(self.kinds)]
        op = uuid.uuid4().hex
        t0 = time.perf_counter()
        self.sent[op] = (t0, other, measured, kind)
        ok, what = False, ""
        try:
            if kind == "boundary":
                marker = f"~{op[:12]}~"
                message = self.replicas[actor.couple_index].type_marker(marker, actor.role)
                self.markers.setdefault(other, {})[marker.encode()] = op
                t0 = time.perf_counter()  # the clock starts as the frame is written
                self.sent[op] = (t0, other, measured, kind)
                answer = actor.emit_binary(message)
                ok = isinstance(answer, dict) and answer.get("ok") is True
                what = repr(answer)[:200]
                if not ok:
                    self.markers.get(other, {}).pop(marker.encode(), None)
            else:
                if kind == "progress":
                    step = random.randint(1, 8)
                    path = f"/guide/steps/{step}/state"
                    body = {"state": random.choice(STATES), "op_id": op}
                elif kind == "mark":
                    status, version = actor.mark
                    path = (f"/commitments/{actor.seed['commitment_id']}/days/{self.today}"
                            "/mark")
                    body = {"status": "missed" if status == "kept" else "kept",
                            "version": version, "op_id": op}
                else:
                    path, body = f"/relay/{actor.couple_index}", {"op": op}
                if self.door == "socket":
                    # The page's outbox while its socket is connected (couple/socket_changes.py);
                    # the floor's socket relays the same way.
                    answer = (actor.emit_json("relay", body) if kind == "relay"
                              else actor.emit_json("change", {"path": path, "body": body}))
                    answer = answer if isinstance(answer, dict) else {}
                    ok = answer.get("ok") is True
                    what = f"ack {answer!r}"[:200]
                else:
                    status_code, raw = actor.request("POST", path, body)
                    ok = status_code == 200
                    what = f"{status_code} {raw[:200]!r}"
                    answer = json.loads(raw) if raw[:1] == b"{" else {}
                if kind == "mark":
                    item = answer.get("result") if ok else answer.get("current")
                    if isinstance(item, dict) and "version" in item:
                        actor.mark = (item["status"], item["version"])
        except Exception as exc:  # noqa: BLE001
            ok, what = False, repr(exc)[:200]
        if ok:
            self.acked.add(op)
            if measured:
                elapsed = time.perf_counter() - t0
                self.ack.append(elapsed)
                self.ack_by_kind[kind].append(elapsed)
        else:
            self.error(kind, what)
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
        measured = [op for op, entry in self.sent.items() if entry[2]]
        lost = [op for op in measured if op in self.acked and op not in self.delivered]
        by_kind = {}
        for kind in self.kinds:
            ops = [op for op in measured if self.sent[op][3] == kind]
            by_kind[kind] = {
                "changes_measured": len(ops),
                "changes_acked": sum(1 for op in ops if op in self.acked),
                "changes_lost": sum(1 for op in ops
                                    if op in self.acked and op not in self.delivered),
                "errors": self.errors_by_kind[kind],
                "latency_ms": summary(self.latency_by_kind[kind]),
                "ack_ms": summary(self.ack_by_kind[kind]),
            }
        return {
            "target": self.target,
            "couples": self.args.couples,
            "sockets": 2 * self.args.couples,
            "interval_s": self.args.interval,
            "duration_s": self.args.duration,
            "kinds": self.kinds,
            "changes_measured": len(measured),
            "changes_acked": sum(1 for op in measured if op in self.acked),
            "changes_lost": len(lost),
            "http_errors": self.http_errors,
            "error_samples": self.error_samples,
            "socket_errors": self.socket_errors,
            "throughput_per_s": round(len(self.latency) / self.args.duration, 1),
            "latency_ms": summary(self.latency),
            "ack_ms": summary(self.ack),
            "by_kind": by_kind,
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
    p.add_argument("--port", required=True,
                   help="the server's port; several, comma-separated, for several processes "
                        "(partner A of each couple on one, partner B on the next)")
    p.add_argument("--couples", type=int, required=True)
    p.add_argument("--interval", type=float, default=2.0)
    p.add_argument("--duration", type=float, default=20.0)
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--drain", type=float, default=5.0)
    p.add_argument("--seeds")
    p.add_argument("--door", choices=["socket", "http"], default="socket",
                   help="how progress and marks (and the floor's relay) travel: the page's "
                        "socket (`change` with an ack) or a POST")
    p.add_argument("--kinds", default=",".join(KINDS),
                   help="changes to rotate through per action: progress,mark,boundary")
    args = p.parse_args()
    seeds = None
    if args.seeds:
        with open(args.seeds) as f:
            seeds = json.load(f)
        assert len(seeds) >= args.couples, "not enough seeded couples"
    run = Run(args, seeds)
    n = run.connect_all()
    print(f"CONNECTED {n}", flush=True)
    # The parent measures idle memory, then says GO; read in a thread so sockets keep answering
    # pings.
    line = gevent.get_hub().threadpool.apply(sys.stdin.readline)
    if line.strip() != "GO":
        return
    result = run.load()
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    import gevent.pool  # noqa: F401

    main()
