"""Which test opened a socket that nobody closed.

With `filterwarnings = error`, a socket left open fails whichever test is running when the
garbage collector finalizes it: usually an innocent one, later, in the same worker, with only
`<socket.socket fd=14, laddr=..., raddr=...>` to go on (a flake of this kind surfaced in two
unrelated pairing tests; it came from a security test's dropped websocket).

This plugin notes, for every socket the test process opens, the test that was running and the
lines that opened it (a few microseconds: frames are only walked, never formatted, until one
leaks). A socket finalized while still open is closed here and reported with those, as the
ResourceWarning the interpreter would have given, so the failure names where to look.
"""

from __future__ import annotations

import _socket
import os
import socket
import sys
import warnings

_DEPTH = 14
# Frames of the test runner itself say nothing about where a socket came from.
_RUNNER = (f"{os.sep}_pytest{os.sep}", f"{os.sep}pluggy{os.sep}", f"{os.sep}xdist{os.sep}",
           f"{os.sep}execnet{os.sep}")

_origins: dict[int, tuple[str | None, list[tuple[str, int, str]]]] = {}
_plain_init = socket.socket.__init__


def _frames() -> list[tuple[str, int, str]]:
    frame, out = sys._getframe(2), []
    while frame is not None and len(out) < _DEPTH:
        out.append((frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name))
        frame = frame.f_back
    return out


def _noting_init(self, *args, **kwargs):
    _plain_init(self, *args, **kwargs)
    _origins[id(self)] = (os.environ.get("PYTEST_CURRENT_TEST"), _frames())


def describe(sock_repr: str, origin) -> str:
    test, frames = origin
    lines = [f"unclosed {sock_repr}, opened during {test or 'no test'} at:"]
    lines += [f"  {path}:{line} in {name}" for path, line, name in frames
              if not any(part in path for part in _RUNNER)]
    return "\n".join(lines)


def _reporting_del(self):
    origin = _origins.pop(id(self), None)
    if origin is not None and self.fileno() != -1:
        text = describe(repr(self), origin)
        _socket.socket.close(self)  # closed here, so the interpreter's own warning stays quiet
        warnings.warn(text, ResourceWarning, stacklevel=2)
        return
    _socket.socket.__del__(self)


socket.socket.__init__ = _noting_init
socket.socket.__del__ = _reporting_del
