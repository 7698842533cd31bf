"""Memory per idle browser socket, with permessage-deflate accepted (the framework's default)
and declined (what the app and bench/relay_floor.py do: couple/web.py `socket_io_middleware`).

    .venv/bin/python bench/socket_memory.py            # 300 sockets each way
    .venv/bin/python bench/socket_memory.py -n 500

Each way starts a fresh bare relay (bench/relay_floor.py, the app's stack without its logic),
opens N WebSockets by hand as Chromium opens them (the handshake offers
`permessage-deflate; client_max_window_bits`; the Socket.IO connect is sent as a compressed
frame when the extension was agreed, as Chromium compresses what it sends), waits, and divides
the server's added resident memory by N. bench/loadgen.py cannot be used with the extension
agreed: websocket-client reads no compressed frame. Figures are printed and written to
bench/results/socket_memory.json.
"""
import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
OFFER = "permessage-deflate; client_max_window_bits"
sys.path.insert(0, str(ROOT))
from bench.realtime import free_port, rss_kib, wait_healthy  # noqa: E402


def _frame(text: str, compressed: bool) -> bytes:
    payload, first = text.encode(), 0x81
    if compressed:
        c = zlib.compressobj(wbits=-15)
        payload, first = (c.compress(payload) + c.flush(zlib.Z_SYNC_FLUSH))[:-4], 0xC1
    mask = os.urandom(4)
    return (bytes([first, 0x80 | len(payload)]) + mask
            + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def _open(port: int, couple: int) -> tuple[socket.socket, bool]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /socket.io/?EIO=4&transport=websocket&couple={couple} HTTP/1.1\r\n"
                  "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  f"Sec-WebSocket-Extensions: {OFFER}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    agreed = b"permessage-deflate" in head.split(b"\r\n\r\n")[0].lower()
    sock.sendall(_frame("40", agreed))
    return sock, agreed


def measure(n: int, deflate: bool) -> dict:
    port = free_port()
    env = {**os.environ, "FLOOR_WEBSOCKET_DEFLATE": "1" if deflate else ""}
    env.pop("FLOOR_DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "relay_floor.py"), str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        base = rss_kib(proc.pid)
        opened = [_open(port, i // 2) for i in range(n)]
        time.sleep(2)
        for sock, _ in opened:  # read what the server sent, so nothing waits in its buffers
            sock.settimeout(0.2)
            try:
                sock.recv(65536)
            except OSError:
                pass
        time.sleep(1)
        idle = rss_kib(proc.pid)
        agreed = sum(1 for _, a in opened if a)
        for sock, _ in opened:
            sock.close()
        return {"sockets": n, "deflate_agreed": agreed,
                "kib_per_idle_socket": round((idle - base) / n, 1)}
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-n", type=int, default=300, help="sockets each way")
    p.add_argument("--out", default=str(RESULTS / "socket_memory.json"))
    args = p.parse_args()
    accepted = measure(args.n, deflate=True)
    declined = measure(args.n, deflate=False)
    for name, r in (("deflate accepted (framework default)", accepted),
                    ("deflate declined (the app)", declined)):
        print(f"{name:38} {r['kib_per_idle_socket']:>7} KiB per idle socket "
              f"({r['deflate_agreed']} of {r['sockets']} agreed)")
    ratio = round(accepted["kib_per_idle_socket"] / max(declined["kib_per_idle_socket"], 1e-9),
                  2)
    print(f"accepted / declined: {ratio}x")
    report = {"benchmark": "memory per idle browser socket, bare relay",
              "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
              "accepted": accepted, "declined": declined, "ratio": ratio}
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
