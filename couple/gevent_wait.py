"""How psycopg waits for PostgreSQL under gevent: one io watcher in gevent's hub.

psycopg drives every query as a generator that says what it waits for (read, write or both) and
is told what is ready. Under gevent psycopg picks `wait_poll`, which goes through gevent's
`select.poll` emulation: a poll object, a registration, watchers and a result list per call,
and a wake-up every 0.1 s to look for Ctrl-C, in Python, for every wait of every round trip.
This waits the way gevent's own sockets do: a libev io watcher for the connection's descriptor,
started with the hub's waiter, and nothing else; a timer only when psycopg gives a timeout. Any
descriptor number works (gevent's `select` emulation breaks past 1024, see
`couple._check_psycopg_wait`). Measured in one gevent process, the two alternated six times on
3,000 `SELECT 1` round trips each: 88 -> 71 us of CPU per round trip (the best of six; a change
makes 5 to 13 round trips).
"""
from time import monotonic

from gevent.hub import Waiter, get_hub
from psycopg import OperationalError
from psycopg import errors as e
from psycopg.waiting import READY_NONE, READY_R, READY_W, Wait

_EVENTS = {Wait.R: 1, Wait.W: 2, Wait.RW: 3}  # libev's (and gevent's) READ and WRITE bits


def wait_gevent(gen, fileno: int, interval: float = 0.0, timeout: float | None = None):
    """psycopg's `waiting.wait` contract: run `gen` until it returns, waiting in the hub.

    `interval` is psycopg's cue to wake up and check for KeyboardInterrupt in a blocked
    thread; a greenlet waiting in the hub is not blocked, so it is not needed here.
    """
    hub = get_hub()
    loop = hub.loop
    deadline = None if timeout is None else monotonic() + timeout
    try:
        wanted = next(gen)
        while True:
            waiter = Waiter(hub)
            io = loop.io(fileno, _EVENTS[wanted])
            io.start(waiter.switch, pass_events=True)
            timer = None
            if deadline is not None:
                timer = loop.timer(max(0.0, deadline - monotonic()))
                timer.start(waiter.switch, 0)
            try:
                events = waiter.get()
            finally:
                io.stop()
                io.close()
                if timer is not None:
                    timer.stop()
                    timer.close()
            ready = (READY_R if events & 1 else 0) | (READY_W if events & 2 else 0)
            if not ready:
                if deadline is not None and monotonic() >= deadline:
                    raise e._WaitTimeout("wait timeout expired")
                if events:  # an error on the descriptor, neither readable nor writable
                    raise OperationalError("connection socket closed")
                ready = READY_NONE
            wanted = gen.send(ready)
    except StopIteration as done:
        return done.value
