"""The floor: a bare Flask-SocketIO room relay on the same stack as the app (gevent, the same
WSGI server, simple-websocket, async_handlers=False), with no database, no login, no CSRF.

    python bench/relay_floor.py PORT

A socket joins room "couple:<n>" from its query string; POST /relay/<n> {"op"}, or the socket
event "relay" {"op"} with an ack, emits "ev" to that room, as the app's guide progress does after
its commit. What the app costs above this is
its own work (authentication, the transaction, the event row); what this costs is the framework's.
"""
from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402

from flask import Flask, jsonify, request  # noqa: E402
from flask_socketio import SocketIO, join_room  # noqa: E402
from gevent import pywsgi  # noqa: E402

app = Flask(__name__)
socketio = SocketIO(app, async_mode="gevent", async_handlers=False, ping_interval=20,
                    ping_timeout=20)
seq = {}


@socketio.on("connect")
def on_connect(auth=None):
    join_room(f"couple:{request.args.get('couple', '0')}")


@app.post("/relay/<int:couple>")
def relay(couple):
    op = (request.get_json(silent=True) or {}).get("op")
    seq[couple] = seq.get(couple, 0) + 1
    socketio.emit("ev", {"stream": "couple", "seq": seq[couple], "type": "relay", "op": op,
                         "data": {}}, to=f"couple:{couple}")
    return jsonify({"ok": True})


@socketio.on("relay")
def relay_event(data=None):
    """The same relay over the socket, with an ack (the app's `change` event's twin)."""
    couple = int(request.args.get("couple", "0"))
    op = data.get("op") if isinstance(data, dict) else None
    seq[couple] = seq.get(couple, 0) + 1
    socketio.emit("ev", {"stream": "couple", "seq": seq[couple], "type": "relay", "op": op,
                         "data": {}}, to=f"couple:{couple}")
    return {"ok": True}


@app.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


if __name__ == "__main__":
    port = int(sys.argv[1])
    print(f"relay floor on http://127.0.0.1:{port}", flush=True)
    pywsgi.WSGIServer(("127.0.0.1", port), app, log=None).serve_forever()
