"""Run couple: `python app.py` serves http://127.0.0.1:5000 (HOST and PORT override).

gevent holds thousands of open sockets in one process (the threading mode does not: see
docs/architecture.md). The monkey patch must run before anything else is imported.
"""
import os

if os.environ.get("COUPLE_ASYNC_MODE", "gevent") == "gevent":
    from gevent import monkey

    monkey.patch_all()

import signal  # noqa: E402

from couple import create_app  # noqa: E402
from couple.extensions import socketio  # noqa: E402

app = create_app({"SOCKETIO_ASYNC_MODE": os.environ.get("COUPLE_ASYNC_MODE", "gevent")})


def main() -> None:
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))

    def stop(*_):
        # SIGTERM: stop taking new connections; a request already inside a transaction either
        # commits or rolls back, nothing acknowledged is lost (the database decides).
        socketio.stop()

    signal.signal(signal.SIGTERM, stop)
    print(f"couple is running on http://{host}:{port}", flush=True)
    socketio.run(app, host=host, port=port, debug=False, use_reloader=False, log_output=False,
                 allow_unsafe_werkzeug=False)


if __name__ == "__main__":
    main()
