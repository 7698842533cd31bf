"""Real app processes for tests that must cross a real socket: `python app.py` on a free port.

Used by the origin / unauthenticated-connect tests, the Yjs convergence run, the two-process
and kill -9 tests. Each server gets its own instance folder; pass COUPLE_DATABASE_URL and
COUPLE_REDIS_URL in `env` to share a database or a message queue between processes.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"'
                   r'|<meta name="csrf-token" content="([^"]+)">')


def healthz(url: str, timeout: float = 5) -> bool:
    """True when `url`/healthz answers 200. Every socket it opens is closed before it returns,
    whatever happens (a timed-out or refused `requests.get` left one for the garbage collector,
    and pytest's filterwarnings=error turned its ResourceWarning into a failure: issue 10)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("GET", "/healthz", headers={"Connection": "close"})
        response = conn.getresponse()
        try:
            response.read()
            return response.status == 200
        finally:
            response.close()
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def wait_healthy(url: str, proc, describe, timeout: float = 60) -> None:
    """Poll /healthz (generously: the CI machine is busy) until it answers, the process
    exits, or the deadline passes; `describe()` gives the log for the failure message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}:\n{describe()}")
        if healthz(url, timeout=min(5, max(0.5, deadline - time.monotonic()))):
            return
        time.sleep(0.1)
    raise RuntimeError(f"did not answer /healthz within {timeout}s:\n{describe()}")


# Every requests session signup() and login() hand out. When a server stops, their pooled
# keep-alive connections to it are dead; left open, the garbage collector finds them later,
# in whatever test runs then, and filterwarnings=error turns the ResourceWarning into that
# test's failure (the CI flake of issue 10 was one). Closing a session only empties its pools:
# it stays usable, against a restarted server too.
_SESSIONS: "weakref.WeakSet[requests.Session]" = weakref.WeakSet()


def _close_sessions() -> None:
    for session in list(_SESSIONS):
        session.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    port: int
    proc: subprocess.Popen
    env: dict
    log_path: Path
    instance: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig=signal.SIGTERM, timeout: float = 10) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        _close_sessions()
        return self.proc.returncode

    def kill9(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        _close_sessions()


def start_server(workdir: Path, *, env: dict | None = None, port: int | None = None,
                 name: str = "server", timeout: float = 60) -> Server:
    """Start `python app.py` and wait until /healthz answers."""
    port = port or free_port()
    instance = workdir / f"{name}-instance"
    instance.mkdir(parents=True, exist_ok=True)
    full_env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "COUPLE_INSTANCE_PATH": str(instance),
        "COUPLE_SECRET_KEY": "servers-test-" + "k" * 32,
        "COUPLE_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    full_env.pop("COUPLE_ASYNC_MODE", None)
    full_env.update(env or {})
    log_path = workdir / f"{name}.log"
    with open(log_path, "ab") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=full_env,
                                stdout=log, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", port, proc, full_env, log_path, instance)
    try:
        wait_healthy(server.url, proc, server.log, timeout)
    except RuntimeError as exc:
        server.stop()
        raise RuntimeError(f"{name}: {exc}") from None
    return server


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def signup(base_url: str, name: str, email: str, password: str = PASSWORD) -> requests.Session:
    """A requests session signed up, then signed in, on a running server (sign-up itself signs
    nobody in: it answers "check your inbox" for every address, issue 13)."""
    s = requests.Session()
    _SESSIONS.add(s)
    token = csrf_from(s.get(base_url + "/signup").text)
    r = s.post(base_url + "/signup", data={"csrf_token": token, "display_name": name,
                                           "email": email, "password": password},
               allow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    token = csrf_from(s.get(base_url + "/login").text)
    r = s.post(base_url + "/login", data={"csrf_token": token, "email": email,
                                          "password": password}, allow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    return s


def login(base_url: str, email: str, password: str = PASSWORD) -> requests.Session:
    s = requests.Session()
    _SESSIONS.add(s)
    token = csrf_from(s.get(base_url + "/login").text)
    r = s.post(base_url + "/login",
               data={"csrf_token": token, "email": email, "password": password},
               allow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    return s


def post_json(session: requests.Session, base_url: str, path: str, body: dict) -> requests.Response:
    """A JSON mutation as the page's fetch sends it (CSRF header from the page's meta tag)."""
    token = csrf_from(session.get(base_url + "/safety").text)
    return session.post(base_url + path, json=body,
                        headers={"X-CSRFToken": token, "Accept": "application/json"})


def link_couple(base_url: str, rebuilding: requests.Session, supporting: requests.Session) -> int:
    """Invite as the rebuilding partner, accept as the supporting one; returns the couple id."""
    r = post_json(rebuilding, base_url, "/pair/invite", {"role": "rebuilding"})
    assert r.status_code == 200, r.text
    page = rebuilding.get(base_url + "/pair").text
    token = re.search(r"/pair/join/([A-Za-z0-9_-]+)", page).group(1)
    r = post_json(supporting, base_url, "/pair/accept", {"token": token})
    assert r.status_code == 200, r.text
    return r.json()["result"]["couple_id"]


def cookie_header(session: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)
