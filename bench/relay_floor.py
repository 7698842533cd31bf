"""The floor: a bare Flask-SocketIO room relay on the same stack as the app (gevent, the same
WSGI server, simple-websocket, async_handlers=False), with no database, no login, no CSRF.

    python bench/relay_floor.py PORT
    FLOOR_DATABASE_URL=postgresql://... python bench/relay_floor.py PORT   # the durable floor

The durable floor relays the same way after one durable write per change, the least a relay
that keeps what it relays can do on this stack: SQLAlchemy Core on the app's driver and wait
function (psycopg, couple/gevent_wait.py), one transaction that takes the stream's next seq
(`UPDATE ... RETURNING`), inserts the event row and commits, then the emit. No login check, no
authorization, no operation: what the app costs above the durable floor is its own logic.

Its WebSockets are opened without permessage-deflate, as the app's are (couple/web.py
`socket_io_middleware`): the same stack for browsers, which all offer it.
`FLOOR_WEBSOCKET_DEFLATE=1` keeps the framework's default (accepted), for
bench/socket_memory.py.

A socket joins room "couple:<n>" from its query string; POST /relay/<n> {"op"}, or the socket
event "relay" {"op"} with an ack, emits "ev" to that room, as the app's guide progress does after
its commit. What the app costs above this is
its own work (authentication, the transaction, the event row); what this costs is the framework's.
"""
from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import sys  # noqa: E402

from flask import Flask, jsonify, request  # noqa: E402
from flask_socketio import SocketIO, join_room  # noqa: E402
from gevent import pywsgi  # noqa: E402

app = Flask(__name__)
socketio = SocketIO(app, async_mode="gevent", async_handlers=False, ping_interval=20,
                    ping_timeout=20)
seq = {}


class DurableStreams:
    """The durable floor's store: a counter row per couple and an event row per change."""

    def __init__(self, url: str):
        from sqlalchemy import (
            Column,
            Integer,
            MetaData,
            String,
            Table,
            bindparam,
            create_engine,
            insert,
            update,
        )

        meta = MetaData()
        self.streams = Table("floor_streams", meta, Column("id", Integer, primary_key=True),
                             Column("seq", Integer, nullable=False))
        self.events = Table("floor_events", meta, Column("id", Integer, primary_key=True),
                            Column("stream", Integer, nullable=False),
                            Column("seq", Integer, nullable=False),
                            Column("op", String(100)), Column("data", String(2000)))
        if url.startswith("postgresql"):
            sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            from psycopg import waiting

            from couple.gevent_wait import wait_gevent

            waiting.wait = wait_gevent  # as the app does under gevent (couple/__init__.py)
            url = url.replace("postgresql://", "postgresql+psycopg://", 1)
            self.engine = create_engine(url, pool_size=10, max_overflow=10)
        else:  # SQLite as the app runs it under gevent: one connection, WAL, synchronous=FULL
            from sqlalchemy import event

            self.engine = create_engine(url, pool_size=1, max_overflow=0)

            @event.listens_for(self.engine, "connect")
            def _pragmas(dbapi_connection, _record):
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=FULL")
                cursor.close()
        meta.drop_all(self.engine)
        meta.create_all(self.engine)
        self.next_seq = (update(self.streams).where(self.streams.c.id == bindparam("stream"))
                         .values(seq=self.streams.c.seq + 1).returning(self.streams.c.seq))
        self.insert = insert(self.events)
        self.known = set()

    def write(self, couple: int, op, data: str) -> int:
        """One transaction: the stream's next seq and the event row, committed."""
        with self.engine.begin() as conn:
            if couple not in self.known:  # tables are new, and this is their one writer
                conn.execute(self.streams.insert(), {"id": couple, "seq": 0})
                self.known.add(couple)
            n = conn.execute(self.next_seq, {"stream": couple}).scalar_one()
            conn.execute(self.insert, {"stream": couple, "seq": n, "op": op, "data": data})
        return n


DURABLE = DurableStreams(os.environ["FLOOR_DATABASE_URL"]) \
    if os.environ.get("FLOOR_DATABASE_URL") else None


def _next(couple: int, op) -> int:
    if DURABLE is not None:
        return DURABLE.write(couple, op if isinstance(op, str) else None, "{}")
    seq[couple] = seq.get(couple, 0) + 1
    return seq[couple]


@socketio.on("connect")
def on_connect(auth=None):
    join_room(f"couple:{request.args.get('couple', '0')}")


@app.post("/relay/<int:couple>")
def relay(couple):
    op = (request.get_json(silent=True) or {}).get("op")
    n = _next(couple, op)
    socketio.emit("ev", {"stream": "couple", "seq": n, "type": "relay", "op": op,
                         "data": {}}, to=f"couple:{couple}")
    return jsonify({"ok": True})


@socketio.on("relay")
def relay_event(data=None):
    """The same relay over the socket, with an ack (the app's `change` event's twin)."""
    couple = int(request.args.get("couple", "0"))
    op = data.get("op") if isinstance(data, dict) else None
    n = _next(couple, op)
    socketio.emit("ev", {"stream": "couple", "seq": n, "type": "relay", "op": op,
                         "data": {}}, to=f"couple:{couple}")
    return {"ok": True}


@app.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


if not os.environ.get("FLOOR_WEBSOCKET_DEFLATE"):
    _wsgi = app.wsgi_app

    def _no_deflate(environ, start_response):
        environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return _wsgi(environ, start_response)

    app.wsgi_app = _no_deflate


if __name__ == "__main__":
    port = int(sys.argv[1])
    print(f"relay floor on http://127.0.0.1:{port}", flush=True)
    pywsgi.WSGIServer(("127.0.0.1", port), app, log=None).serve_forever()
