"""A couple's boundaries document after a year of honest editing.

    .venv/bin/python bench/boundaries_longlived.py [--keystrokes 100000] [--boundaries 50]
                                                   [--database-url URL] [--seed N]

Two partners' tabs (pycrdt documents speaking the same Yjs V1 updates as the browser's Yjs) type
into ~50 boundaries one keystroke per update, with heavy deleting (backspaces, cleared words,
whole rewrites), moves between and within groups, page reloads (a new Yjs client id each time)
and offline stretches whose edits arrive in one step 2 on reconnect. Every message goes through
the real server path (operations.receive_message: the guard, the log, compaction) in one app.

Prints, and writes to bench/results/boundaries_longlived.json: the stored bytes over time (the
log plus snapshot, bounded by compaction), the largest step 2 in either direction, a fresh tab's
time to open (the page's document) and sync (step 1 -> step 2), and a reconnecting offline tab's
handshake (its step 1, the server's step 2, its own step 2 stored).
"""
import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pycrdt import (  # noqa: E402
    Array,
    Doc,
    Map,
    Text,
    create_sync_message,
    create_update_message,
    write_message,
)

GROUPS = ("communication", "behaviour", "privacy", "expectations", "other")
PASSWORD = "correct horse battery staple"
WORDS = ("we", "ask", "before", "sharing", "photos", "of", "each", "other", "and", "say",
         "when", "we", "need", "space", "👍", "no", "phones", "at", "dinner", "💬", "é", "together")


class Tab:
    """One open editor: a Y.Doc, online or not, for one partner."""

    def __init__(self, user, rng):
        self.user = user
        self.rng = rng
        self.doc = Doc()
        self.array = self.doc.get("boundaries", type=Array)
        self.online = True
        self.outbox = 0  # keystrokes made offline

    def reload(self):
        """A page reload: a new Y.Doc (new client id) that syncs from the server."""
        self.doc = Doc()
        self.array = self.doc.get("boundaries", type=Array)

    def items(self):
        return [m for m in self.array if isinstance(m, Map)]


class Sim:
    def __init__(self, couple, users, rng, ops, stats):
        self.couple = couple
        self.users = users
        self.rng = rng
        self.ops = ops
        self.stats = stats
        self.tabs = [Tab(u, rng) for u in users]

    # ---- the wire
    def send(self, tab, message: bytes) -> dict:
        ack = self.ops.receive_message(self.couple, tab.user, message)
        if not ack.get("ok"):
            raise AssertionError(f"refused: {ack}")
        return ack

    def handshake(self, tab) -> dict:
        """Step 1 -> (server step 2 + step 1) -> our step 2: what sync.js does on connect."""
        from couple.boundaries.protocol import parse

        started = time.perf_counter()
        ack = self.send(tab, create_sync_message(tab.doc))
        _kind, server_step2 = parse(ack["replies"][0])
        tab.doc.apply_update(server_step2)
        _kind, server_sv = parse(ack["replies"][1])
        mine = tab.doc.get_update(server_sv)
        sent = 0
        if mine != b"\x00\x00":
            self.send(tab, bytes([0, 1]) + write_message(mine))
            sent = len(mine)
        seconds = time.perf_counter() - started
        self.stats["largest_step2_from_server"] = max(self.stats["largest_step2_from_server"],
                                                      len(server_step2))
        self.stats["largest_step2_from_tab"] = max(self.stats["largest_step2_from_tab"], sent)
        return {"seconds": seconds, "server_step2": len(server_step2), "tab_step2": sent}

    def edit(self, tab, fn) -> None:
        before = tab.doc.get_state()
        with tab.doc.transaction():
            fn()
        update = tab.doc.get_update(before)
        if update == b"\x00\x00":
            return
        if not tab.online:
            tab.outbox += 1
            return
        self.send(tab, create_update_message(update))
        for other in self.tabs:
            if other is not tab and other.online:
                other.doc.apply_update(update)  # the relay, delivered
        self.stats["updates"] += 1

    # ---- what people do
    def add_boundary(self, tab, n) -> None:
        bid = f"b{n:03d}{self.rng.randrange(16**8):08x}"

        def fn():
            tab.array.append(Map({"id": bid, "category": self.rng.choice(GROUPS),
                                  "text": Text(), "created_by": tab.user.id,
                                  "order": float(n)}))
        self.edit(tab, fn)

    def keystroke(self, tab, item) -> None:
        text = item["text"]
        value = str(text)
        roll = self.rng.random()
        caret = self.rng.randint(0, len(value)) if self.rng.random() < 0.1 else len(value)

        def at(index):  # pycrdt indexes UTF-8 bytes: a character index, converted
            return len(value[:index].encode("utf-8"))

        if value and (roll < 0.40 or len(value) > 1200):  # backspace
            caret = max(1, caret)
            self.edit(tab, lambda: text.__delitem__(slice(at(caret - 1), at(caret))))
            self.stats["deletes"] += 1
        elif value and roll < 0.43:  # a cleared word or the whole thing rewritten
            start = self.rng.randint(0, len(value) - 1)
            stop = len(value) if self.rng.random() < 0.3 else min(len(value), start + 12)
            self.edit(tab, lambda: text.__delitem__(slice(at(start), at(stop))))
            self.stats["deletes"] += 1
        else:
            word = self.rng.choice(WORDS)
            ch = word[0] if len(word) > 2 and self.rng.random() < 0.7 else word
            chunk = ch if len(ch) == 1 else " " + ch
            self.edit(tab, lambda: text.insert(at(caret), chunk))
            self.stats["inserts"] += 1

    def move(self, tab, item) -> None:
        def fn():
            if self.rng.random() < 0.4:
                item["category"] = self.rng.choice(GROUPS)
            item["order"] = self.rng.random() * 100
        self.edit(tab, fn)
        self.stats["moves"] += 1

    def run(self, keystrokes: int, boundaries: int, on_sample=None) -> None:
        for tab in self.tabs:
            self.handshake(tab)
        for n in range(boundaries):
            self.add_boundary(self.tabs[n % 2], n)
        done = 0
        sample_every = max(1, keystrokes // 40)
        next_sample = 0
        while done < keystrokes:
            tab = self.rng.choice(self.tabs)
            roll = self.rng.random()
            if roll < 0.03 and tab.online:  # page reload (an offline tab keeps its edits)
                tab.reload()
                tab.online = True
                self.handshake(tab)
                self.stats["reloads"] += 1
                continue
            if roll < 0.10:  # the network drops, or comes back
                if tab.online:
                    tab.online = False
                    tab.outbox = 0
                else:
                    tab.online = True
                    h = self.handshake(tab)
                    self.stats["reconnects"] += 1
                    if tab.outbox:
                        self.stats["offline_handshakes"].append(h)
                continue
            items = tab.items()
            if not items:
                self.handshake(tab)
                continue
            item = self.rng.choice(items)
            if roll < 0.16:
                self.move(tab, item)
                continue
            burst = self.rng.randint(3, 30)
            for _ in range(min(burst, keystrokes - done)):
                self.keystroke(tab, item)
                done += 1
            if done >= next_sample:
                next_sample += sample_every
                if on_sample:
                    on_sample(done)
        for tab in self.tabs:
            tab.online = True
            self.handshake(tab)


def stored_bytes(couple_id: int) -> dict:
    from sqlalchemy import func, select

    from couple.boundaries.models import BoundarySnapshot, BoundaryUpdate
    from couple.extensions import db

    db.session.rollback()
    snap = db.session.scalar(select(func.coalesce(func.sum(func.length(BoundarySnapshot.data)), 0))
                             .where(BoundarySnapshot.couple_id == couple_id))
    rows, log_bytes = db.session.execute(
        select(func.count(BoundaryUpdate.id),
               func.coalesce(func.sum(func.length(BoundaryUpdate.data)), 0))
        .where(BoundaryUpdate.couple_id == couple_id)).one()
    db.session.rollback()
    return {"snapshot": int(snap), "log_rows": int(rows), "log_bytes": int(log_bytes),
            "total": int(snap) + int(log_bytes)}


def fresh_tab(sim, user) -> dict:
    """A new page: the document it starts from, then its socket's step 1 / step 2."""
    from couple.boundaries import operations
    from couple.boundaries.content import read_boundaries
    from couple.boundaries.protocol import parse

    started = time.perf_counter()
    doc = Doc()
    doc.get("boundaries", type=Array)
    page = operations.document_update(sim.couple)
    doc.apply_update(page)
    opened = time.perf_counter() - started
    ack = operations.receive_message(sim.couple, user, create_sync_message(doc))
    _kind, step2 = parse(ack["replies"][0])
    doc.apply_update(step2)
    synced = time.perf_counter() - started
    return {"open_seconds": opened, "open_and_sync_seconds": synced, "page_bytes": len(page),
            "step2_bytes": len(step2), "boundaries": len(read_boundaries(doc)), "doc": doc}


def simulate(app, keystrokes: int, boundaries: int, seed: int, samples: list | None = None):
    """Run the year inside `app` (an app context is pushed); returns the figures."""
    from couple.accounts.models import User
    from couple.accounts.operations import sign_up
    from couple.boundaries import operations
    from couple.boundaries.content import read_boundaries
    from couple.boundaries.store import load_doc
    from couple.extensions import db
    from couple.pairing.operations import accept_invite, create_invite

    tag = f"{seed}-{random.Random(seed).randrange(10**9)}"
    riley = sign_up(f"riley-{tag}@example.com", "Riley", PASSWORD)
    sam = sign_up(f"sam-{tag}@example.com", "Sam", PASSWORD)
    invite, _t, _c = create_invite(riley, "rebuilding")
    accept_invite(invite, sam)
    db.session.expire_all()
    riley = db.session.get(User, riley.id)
    sam = db.session.get(User, sam.id)
    couple = riley.couple
    stats = {"updates": 0, "inserts": 0, "deletes": 0, "moves": 0, "reloads": 0,
             "reconnects": 0, "largest_step2_from_server": 0, "largest_step2_from_tab": 0,
             "offline_handshakes": []}
    sim = Sim(couple, [riley, sam], random.Random(seed), operations, stats)
    samples = samples if samples is not None else []
    peak = {"total": 0}

    def on_sample(done):
        s = stored_bytes(couple.id)
        peak["total"] = max(peak["total"], s["total"])
        samples.append({"keystrokes": done, **s})

    started = time.perf_counter()
    sim.run(keystrokes, boundaries, on_sample)
    elapsed = time.perf_counter() - started
    final = stored_bytes(couple.id)
    fresh = [fresh_tab(sim, sam) for _ in range(5)]
    doc = fresh[-1].pop("doc")
    for f in fresh:
        f.pop("doc", None)
    db.session.rollback()
    same = read_boundaries(doc) == read_boundaries(load_doc(couple.id)) \
        == read_boundaries(sim.tabs[0].doc) == read_boundaries(sim.tabs[1].doc)
    visible = sum(len(b["text"]) for b in read_boundaries(doc))
    offline = stats.pop("offline_handshakes")
    return {
        "keystrokes": keystrokes,
        "boundaries": boundaries,
        "seconds": round(elapsed, 1),
        "stats": stats,
        "stored_bytes_final": final,
        "stored_bytes_peak": max(peak["total"], final["total"]),
        "visible_characters": visible,
        "largest_step2_bytes": max(stats["largest_step2_from_server"],
                                   stats["largest_step2_from_tab"]),
        "fresh_tab": {
            "open_ms_median": round(1000 * statistics.median(f["open_seconds"] for f in fresh), 2),
            "open_and_sync_ms_median": round(
                1000 * statistics.median(f["open_and_sync_seconds"] for f in fresh), 2),
            "page_bytes": fresh[-1]["page_bytes"],
            "step2_bytes": fresh[-1]["step2_bytes"],
        },
        "offline_reconnect": {
            "count": len(offline),
            "handshake_ms_median": round(1000 * statistics.median(
                h["seconds"] for h in offline), 2) if offline else None,
            "handshake_ms_max": round(1000 * max(h["seconds"] for h in offline), 2)
            if offline else None,
            "server_step2_bytes_max": max((h["server_step2"] for h in offline), default=0),
            "tab_step2_bytes_max": max((h["tab_step2"] for h in offline), default=0),
        },
        "all_agree": same,
        "samples": samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keystrokes", type=int, default=100_000)
    parser.add_argument("--boundaries", type=int, default=50)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"
                                             / "boundaries_longlived.json"))
    args = parser.parse_args()

    from couple import create_app
    from couple.extensions import db

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/longlived.sqlite3"
        app = create_app({"TESTING": True, "INSTANCE_PATH": tmp, "SQLALCHEMY_DATABASE_URI": url,
                          "SECRET_KEY": "bench-" + "x" * 32, "SOCKETIO_ASYNC_MODE": "threading",
                          "AUTO_MIGRATE": False, "REDIS_URL": None,
                          "RATELIMIT_STORAGE_URI": "memory://"})
        with app.app_context():
            db.create_all()
            result = simulate(app, args.keystrokes, args.boundaries, args.seed)
            db.session.remove()
            db.engine.dispose()
    result["database"] = "postgresql" if args.database_url and "postgres" in args.database_url \
        else "sqlite"
    result["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    samples = result.pop("samples")
    print(json.dumps({k: v for k, v in result.items()}, indent=2))
    print("stored bytes over time (keystrokes: total / log rows):")
    for s in samples[:: max(1, len(samples) // 10)]:
        print(f"  {s['keystrokes']:>7}: {s['total']:>8} B / {s['log_rows']:>4} rows")
    result["samples"] = samples
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print("written to", args.out)


if __name__ == "__main__":
    main()
