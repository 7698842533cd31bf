"""A transaction's first statement sent with its BEGIN: one round trip instead of two.

psycopg opens a transaction by sending BEGIN on its own and waiting for the answer before the
first statement (`BaseConnection._start_query`): a whole round trip, ~70-90 us of a gevent
process's CPU (a waiter, an io watcher, two switches through the hub, the kernel's side). Every
socket event pays it before its login check (couple/accounts/signed_in.py), the event's first
statement: a third of the check's CPU, 6% of a progress event's (bench/change_profile.py).

PostgreSQL's simple query protocol takes several statements in one message, answered with one
ReadyForQuery: "BEGIN; SELECT ..." is one round trip, and the transaction it opens is the one
psycopg would have opened (the same BEGIN text, with the connection's isolation level). psycopg
then sees the connection in a transaction and sends no BEGIN of its own; COMMIT and ROLLBACK
are its own as before, and so is everything SQLAlchemy does with the connection next.

The simple protocol carries no parameters: the caller writes its values into the text, so this
is only for values `hex_literal` and `timestamp_literal` write (they refuse anything else).
PostgreSQL parses the text anew each time (the plain statement was prepared): measured on the
login check with BEGIN and ROLLBACK, the backend's CPU 410-417 -> 420-427 us per check.
Only used when the connection is idle, outside a pipeline and not in autocommit; otherwise the
caller runs its statement as usual (`NOT_SENT`). An error is SQLAlchemy's, as for any
statement: a connection the server dropped discards the pool.
"""
import re
from datetime import UTC, datetime

from psycopg import Connection, errors, generators, pq
from psycopg.adapt import Transformer

NOT_SENT = object()
_HEX = re.compile(r"[0-9a-f]+")
_IDLE = pq.TransactionStatus.IDLE
_OK = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)


def hex_literal(value: str) -> str:
    """A string of lowercase hex digits as an SQL literal; anything else is refused."""
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise ValueError("only hex digits are written into a statement")
    return f"'{value}'"


def timestamp_literal(moment: datetime) -> str:
    """An aware datetime as the naive UTC timestamp the app stores (models_base.UTCDateTime)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; use couple.models_base.utcnow()")
    return f"'{moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=' ')}'::timestamp"


def read_with_begin(connection, select_text: str):
    """BEGIN and `select_text` in one round trip on this SQLAlchemy connection: the first row
    as a tuple (None when there is none), or NOT_SENT when the connection cannot take it now.
    """
    raw = connection.connection.driver_connection
    if (not isinstance(raw, Connection) or raw.autocommit or raw._pipeline is not None
            or raw.pgconn.transaction_status != _IDLE):
        return NOT_SENT
    command = raw._get_tx_start_command() + b"; " + select_text.encode()
    try:
        with raw.lock:
            raw.pgconn.send_query(command)
            results = raw.wait(generators.execute(raw.pgconn))
        for result in results:
            if result.status not in _OK:
                raise errors.error_from_result(result, encoding=raw.pgconn._encoding)
    except BaseException as exc:
        # What SQLAlchemy does when a statement fails: its own exception, and a connection
        # the server dropped discards the whole pool (a database restart costs the events in
        # flight, not one failure per pooled connection); a greenlet killed while it waits
        # (an exit exception, re-raised as it is) leaves its connection invalidated, never
        # back in the pool with the query half-read. Always raises.
        connection._handle_dbapi_exception(exc, command.decode(), {}, None, None)
    if len(results) != 2:
        raise errors.InternalError(f"BEGIN and a SELECT answered {len(results)} results")
    rows = results[1]
    if not rows.ntuples:
        return None
    loader = Transformer(raw)
    loader.set_pgresult(rows)
    return loader.load_row(0, tuple)
