"""A real SMTP server for the tests (aiosmtpd on 127.0.0.1, a free port) and ways to read
what arrived. Nothing is mocked: the app talks SMTP to it over a real socket.

    def test_x(app_factory, smtp_server):          # the fixture is in tests/conftest.py
        app = app_factory(SMTP_URL=smtp_server.url)
        ...
        message = smtp_server.wait_for(to="a@example.com")   # an email.message.EmailMessage
        link = link_in(message, "/reset/")

`smtp_server.fail_next(n)` makes the next n messages fail with a temporary SMTP error (451),
`smtp_server.stop()` / `.start()` take it away and bring it back on the same port.
"""
import email
import email.policy
import re
import threading
import time

from aiosmtpd.controller import Controller

from tests.support.servers import free_port

_LINK = re.compile(r"https?://\S+")


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        with self.sink.lock:
            if self.sink.failures > 0:
                self.sink.failures -= 1
                return "451 4.3.0 Try again later"
            message = email.message_from_bytes(envelope.original_content or envelope.content,
                                               policy=email.policy.default)
            self.sink.messages.append(message)
            self.sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


class SmtpSink:
    """`tls=(certfile, keyfile)`: the server offers STARTTLS with that certificate and refuses
    mail without it."""

    def __init__(self, tls: tuple[str, str] | None = None):
        self.tls = tls
        self.lock = threading.Lock()
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.failures = 0
        self.port = free_port()
        self.controller = None

    @property
    def url(self) -> str:
        scheme = "smtp" if self.tls else "smtp+plain"
        return f"{scheme}://127.0.0.1:{self.port}?timeout=10"

    def start(self):
        extra = {}
        if self.tls:
            import ssl

            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*self.tls)
            extra = {"tls_context": context, "require_starttls": True}
        for _ in range(20):
            self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port,
                                         ready_timeout=60, **extra)
            try:
                self.controller.start()
                return self
            except (TimeoutError, OSError, RuntimeError):
                # Another run took the port between free_port() and the bind: pick another.
                self.controller = None
                self.port = free_port()
        raise RuntimeError("could not start the test SMTP server")

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def fail_next(self, n: int = 1) -> None:
        with self.lock:
            self.failures = n

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.envelopes.clear()

    def to(self, address: str) -> list:
        with self.lock:
            return [m for m in self.messages if address.lower() in m["To"].lower()]

    def wait_for(self, *, to: str | None = None, count: int = 1, timeout: float = 60):
        """The `count`-th message (to `to`, if given), waiting for it to arrive (the app sends
        after its commit, in the background). Returns the last of them."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                found = [m for m in self.messages
                         if to is None or to.lower() in m["To"].lower()]
            if len(found) >= count:
                return found[count - 1]
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no message #{count} to {to!r} within {timeout}s; got "
                    f"{[(m['To'], m['Subject']) for m in self.messages]}")
            time.sleep(0.05)


def body_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def link_in(message, path: str = "") -> str:
    """The first link in the message whose path contains `path`."""
    for url in _LINK.findall(body_of(message)):
        if path in url:
            return url
    raise AssertionError(f"no link with {path!r} in:\n{body_of(message)}")


def everything_sent(message) -> str:
    """Headers and body as one string (for 'never in any mail' checks)."""
    return message.as_string() + "\n" + body_of(message)


def self_signed_certificate(folder) -> tuple[str, str]:
    """(certfile, keyfile) for 127.0.0.1, made with the openssl command."""
    import subprocess
    from pathlib import Path

    cert, key = Path(folder) / "smtp-cert.pem", Path(folder) / "smtp-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return str(cert), str(key)
