"""psycopg cursors whose `description` builds its Column objects only when they are read.

After every statement SQLAlchemy asks the cursor for its description, and for a compiled
statement whose result it has seen before (nearly every statement the app runs: they are
cached) it only checks that it is not None, to know rows came back; its cached result metadata
does the rest. psycopg builds a `Column` per result column on each call, in Python: a tenth of
a mark's CPU (py-spy, PostgreSQL under gevent; a mark reads 9 to 22 columns per statement).
Here the description is a sequence of the same length that builds them on first use, from the
result it was made for (not whatever result the cursor holds by then).
"""
from collections.abc import Sequence
from types import SimpleNamespace

import psycopg
from psycopg.pq import ExecStatus

_ROWS = (ExecStatus.TUPLES_OK, ExecStatus.SINGLE_TUPLE, ExecStatus.TUPLES_CHUNK)


class LazyDescription(Sequence):
    __slots__ = ("_result", "_encoding", "_adapters", "_columns")

    def __init__(self, cursor: psycopg.Cursor):
        self._result = cursor.pgresult
        self._encoding = cursor._encoding
        self._adapters = cursor.adapters
        self._columns: list | None = None

    def _built(self) -> list:
        if self._columns is None:
            # What psycopg.Column reads of a cursor, pinned to this description's result.
            source = SimpleNamespace(pgresult=self._result, _encoding=self._encoding,
                                     adapters=self._adapters)
            self._columns = [psycopg.Column(source, i) for i in range(self._result.nfields)]
        return self._columns

    def __len__(self) -> int:
        return self._result.nfields

    def __getitem__(self, index):
        return self._built()[index]

    def __iter__(self):
        return iter(self._built())

    def __eq__(self, other) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented

    __hash__ = None

    def __repr__(self) -> str:
        return repr(self._built())


class Cursor(psycopg.Cursor):
    @property
    def description(self) -> LazyDescription | None:
        # psycopg's own rule: columns, or a result that said it has tuples ("SELECT ;").
        result = self.pgresult
        if result and (result.nfields or result.status in _ROWS):
            return LazyDescription(self)
        return None


def use_lazy_description(dbapi_connection) -> None:
    if isinstance(dbapi_connection, psycopg.Connection):
        dbapi_connection.cursor_factory = Cursor
