"""Helpers for the several-process and crash tests: migrations run once, a live client that
behaves like static/src/live.js, and a steady writer of acknowledged changes.

Built on tests/support/servers.py (real `python app.py` processes). Everything here is bounded in
count and time: a helper that waits takes a timeout and fails loudly when it runs out.
"""
import os
import subprocess
import sys
import threading
import time
import uuid

import requests
import socketio

from couple.realtime import apply_event
from tests.support.servers import ROOT, cookie_header, post_json

STEP_STATES = ("not_started", "working", "practising")


def migrate(database_url: str, timeout: float = 60) -> None:
    """Upgrade a database to the latest schema once, before any app process starts (on
    PostgreSQL several processes must not race auto-migration): the command docs/deploy.md gives.
    """
    env = {**os.environ, "COUPLE_DATABASE_URL": database_url, "COUPLE_AUTO_MIGRATE": "0",
           "COUPLE_SECRET_KEY": "migrate-only-" + "m" * 32, "COUPLE_LOG_LEVEL": "WARNING"}
    env.pop("COUPLE_REDIS_URL", None)
    out = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade", "-d", "couple/migrations",
         "heads"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def shared_env(database_url: str, redis_url: str | None, channel: str | None) -> dict:
    """What every process of one deployment shares: the database, the queue, the secret."""
    env = {"COUPLE_DATABASE_URL": database_url, "COUPLE_AUTO_MIGRATE": "0"}
    if redis_url:
        env["COUPLE_REDIS_URL"] = redis_url
        env["COUPLE_REDIS_CHANNEL"] = channel
    return env


def wait_until(predicate, timeout: float, what: str, interval: float = 0.02):
    """Poll `predicate` until it is true. A deadline only bounds how long a failure takes, so it
    is never under 60 s: on a busy 2-core CI machine 15 s was once too short for a healthy run."""
    timeout = max(timeout, 60)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def apply_patch(state: dict, data: dict) -> None:
    """Apply an event's patch with the app's own reducer (the twin of live.js applyEvent)."""
    apply_event(state, {"data": data})


class LiveClient:
    """One partner's tab, as live.js runs it: starts from /api/state, applies "ev" events in
    sequence order, asks "sync" on (re)connect and on a gap, and never applies a seq twice.

    `live` counts events that arrived by the socket; `replayed` those that came through sync.
    """

    def __init__(self, base_url: str, session: requests.Session, *, heartbeat: bool = False,
                 reconnect: bool = True):
        self.base_url = base_url
        self.session = session
        self.lock = threading.RLock()
        self.applied: dict[str, list[dict]] = {"user": [], "couple": []}
        self.live: list[dict] = []
        self.replayed: list[dict] = []
        self.connects = 0
        self.resets = 0
        r = session.get(base_url + "/api/state", headers={"Accept": "application/json"})
        assert r.status_code == 200, r.text[:500]
        fresh = r.json()
        self.state = fresh["data"]
        self.seqs = dict(fresh["seqs"])
        self.couple_id = fresh["data"]["pairing"]["status"]["couple_id"]
        self.sio = socketio.Client(reconnection=reconnect, reconnection_delay=0.2,
                                   reconnection_delay_max=1, randomization_factor=0.2)
        self.sio.on("connect", self._on_connect)
        self.sio.on("ev", self._on_ev)
        self.yjs: list[bytes] = []  # "b:y" pushes (boundaries), for YjsSocket
        self.sio.on("b:y", lambda message: self.yjs.append(message))
        self.sio.connect(base_url, headers={"Cookie": cookie_header(session)},
                         transports=["websocket"], wait_timeout=10)

    # --- socket callbacks -------------------------------------------------------------------
    def _on_connect(self):
        self.connects += 1
        # Not from inside the callback: an ack needs the client's read loop, which is this one.
        threading.Thread(target=self._sync_quietly, daemon=True).start()

    def _sync_quietly(self):
        try:
            self.sync()
        except Exception:  # noqa: BLE001  (the next reconnect or explicit sync tries again)
            pass

    def _on_ev(self, ev):
        with self.lock:
            self.live.append(ev)
            gap = self._receive(ev)
        if gap:
            threading.Thread(target=self._sync_quietly, daemon=True).start()

    def _receive(self, ev) -> bool:
        """Apply one event if it is the next one; True when a gap was seen."""
        last = self.seqs.get(ev["stream"])
        if last is None or ev["seq"] <= last:
            return False
        if ev["seq"] > last + 1:
            return True
        self.seqs[ev["stream"]] = ev["seq"]
        self.applied[ev["stream"]].append(ev)
        apply_patch(self.state, ev["data"])
        return False

    # --- what the page does -----------------------------------------------------------------
    def sync(self, timeout: float = 10) -> dict:
        with self.lock:
            ask = {"user": self.seqs.get("user"), "couple": self.seqs.get("couple"),
                   "couple_id": self.couple_id}
        answer = self.sio.call("sync", ask, timeout=timeout)
        with self.lock:
            # As live.js: every stream's events first, then one reset if any stream asked.
            reset = False
            for stream in ("user", "couple"):
                part = answer.get(stream) or {}
                if part.get("reset"):
                    reset = True
                    continue
                for ev in part.get("events", []):
                    self.replayed.append(ev)
                    self._receive(ev)
            if reset:
                # The state is reloaded whole: `applied` then lacks what the reset brought in,
                # so a test that counts ops must also check `resets`.
                self.resets += 1
                self.reset()
        return answer

    def reset(self):
        fresh = self.session.get(self.base_url + "/api/state",
                                 headers={"Accept": "application/json"}).json()
        self.state = fresh["data"]
        self.seqs = dict(fresh["seqs"])

    def ops_applied(self, stream: str = "couple") -> list[str]:
        with self.lock:
            return [ev["op"] for ev in self.applied[stream]]

    def has_op(self, op_id: str, stream: str = "couple") -> bool:
        return op_id in self.ops_applied(stream)

    def close(self):
        try:
            self.sio.disconnect()
        except Exception:  # noqa: BLE001
            pass
        # engineio's client forgets, without closing, a connection the server dropped (a
        # server that stopped): close what is left, or its ResourceWarning fails a later test.
        for name in ("ws", "http"):
            thing = getattr(self.sio.eio, name, None)
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # noqa: BLE001
                    pass


class YjsSocket:
    """What tests/boundaries/boundaries_helpers.Editor expects of a socket (emit with an ack,
    get_received), over a LiveClient's real Socket.IO connection to a real process."""

    def __init__(self, live: LiveClient):
        self.live = live

    def emit(self, name, data, callback=False):
        return self.live.sio.call(name, data, timeout=10)

    def get_received(self):
        taken, self.live.yjs[:] = list(self.live.yjs), []
        return [{"name": "b:y", "args": [m]} for m in taken]


def new_op() -> str:
    return uuid.uuid4().hex


def set_step(session: requests.Session, base_url: str, step: int, state: str,
             op_id: str | None = None) -> requests.Response:
    return post_json(session, base_url, f"/guide/steps/{step}/state",
                     {"state": state, "op_id": op_id or new_op()})


class SteadyWriter(threading.Thread):
    """A partner making a steady stream of guide-progress changes, each with its own op id,
    retried with the *same* op id until the server answers (the page's outbox). Records which
    ops were acknowledged. Bounded: stops after `max_ops` acknowledged changes or `stop()`.
    """

    def __init__(self, base_url: str, session: requests.Session, steps: int, *,
                 max_ops: int = 400, pause: float = 0.01, give_up_after: float = 30):
        super().__init__(daemon=True)
        self.base_url = base_url
        self.session = session
        self.steps = steps
        self.max_ops = max_ops
        self.pause = pause
        self.give_up_after = give_up_after
        self.acked: list[tuple[str, int, str]] = []  # (op_id, step, state)
        self.retries = 0
        self.errors: list[str] = []
        self._halt = threading.Event()
        self._csrf = None

    def stop(self):
        self._halt.set()

    def _post(self, step: int, state: str, op_id: str) -> requests.Response:
        if self._csrf is None:
            from tests.support.servers import csrf_from

            self._csrf = csrf_from(self.session.get(self.base_url + "/safety", timeout=5).text)
        return self.session.post(
            self.base_url + f"/guide/steps/{step}/state", json={"state": state, "op_id": op_id},
            headers={"X-CSRFToken": self._csrf, "Accept": "application/json"}, timeout=5,
        )

    def run(self):
        n = 0
        while not self._halt.is_set() and len(self.acked) < self.max_ops:
            step = n % self.steps + 1
            state = STEP_STATES[(n // self.steps + 1) % len(STEP_STATES)]
            op_id = new_op()
            started = time.monotonic()
            while True:
                try:
                    r = self._post(step, state, op_id)
                except requests.RequestException:
                    # No answer: maybe committed, maybe not. Retry the same op id once the
                    # server is back; the applied_ops row makes a committed one a no-op.
                    self.retries += 1
                    self._csrf = None
                    if time.monotonic() - started > self.give_up_after:
                        self.errors.append(f"gave up on {op_id}")
                        return
                    time.sleep(0.05)
                    continue
                if r.status_code == 200:
                    self.acked.append((op_id, step, state))
                    break
                if r.status_code in (502, 503) and time.monotonic() - started < self.give_up_after:
                    time.sleep(0.05)
                    continue
                self.errors.append(f"{r.status_code}: {r.text[:200]}")
                return
            n += 1
            time.sleep(self.pause)
