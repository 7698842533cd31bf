"""What the app's PostgreSQL connections say on the wire: libpq's own trace of each connection
while it is checked out of the pool, one list of messages per checkout.

A round trip is one ReadyForQuery from the server (it ends every simple Query and every Sync):
`round_trips(trace)` counts them, which statement counting (SQLAlchemy's events) cannot see.
"""
import contextlib
import os
import re
import tempfile

from psycopg import pq
from sqlalchemy import event


@contextlib.contextmanager
def wire(engine):
    """Yields a list that, on exit, holds one trace (a list of lines) per checkout."""
    traces: list[list[str]] = []
    open_traces: dict[int, tuple] = {}

    def start(dbapi_connection, _record, _proxy):
        fd, path = tempfile.mkstemp(prefix="couple-wire-")
        dbapi_connection.pgconn.trace(fd)
        dbapi_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS
                                                | pq.Trace.REGRESS_MODE)
        open_traces[id(dbapi_connection)] = (dbapi_connection, fd, path)

    def stop(dbapi_connection, _record=None):
        found = open_traces.pop(id(dbapi_connection), None)
        if found is None:
            return
        _conn, fd, path = found
        dbapi_connection.pgconn.untrace()  # flushes what libpq buffered
        os.close(fd)
        with open(path) as f:
            traces.append(f.read().splitlines())
        os.unlink(path)

    event.listen(engine, "checkout", start)
    event.listen(engine, "checkin", stop)
    try:
        yield traces
    finally:
        event.remove(engine, "checkout", start)
        event.remove(engine, "checkin", stop)
        for conn, _fd, _path in list(open_traces.values()):
            stop(conn)


def round_trips(trace: list[str]) -> int:
    return sum(1 for line in trace if line.split("\t")[:1] == ["B"] and "ReadyForQuery" in line)


def queries(trace: list[str]) -> list[str]:
    """What the client sent, as statement texts: simple Queries and extended-protocol Parses;
    a prepared statement executed again sends only Bind: shown as 'BIND'."""
    out, previous = [], None
    for line in trace:
        parts = line.split("\t")
        if parts[:1] != ["F"] or len(parts) < 3:
            continue
        kind, rest = parts[2], (parts[3] if len(parts) > 3 else "")
        if kind == "Query":
            out.append(rest.strip().strip('"'))
        elif kind == "Parse":  # Parse "name" "text" ...
            found = re.match(r'\s*"[^"]*"\s*"([^"]*)', rest)
            out.append(found.group(1).strip() if found else rest)
        elif kind == "Bind" and previous != "Parse":
            out.append("BIND")
        previous = kind
    return out
