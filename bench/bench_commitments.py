"""Commitments with a long history: how long the pages take when a couple has five years of
daily marks on ten commitments, compared in the same run with the same pages for a couple whose
ten commitments have no history at all.

    .venv/bin/python bench/bench_commitments.py [--runs 15] [--database-url URL]

Prints a table and writes bench/results/commitments.json. Measured through the real app (test
client: routing, login, queries, templates), median of --runs after one warm-up. The point is
the ratios: the pages query the window they show (90 days of marks, N weeks of trend), so five
years of history should cost about what exactly 90 days cost; the empty history is the floor
(no marks at all to show).
"""
import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from couple import create_app  # noqa: E402
from couple.extensions import db  # noqa: E402

PASSWORD = "correct horse battery staple"
YEARS = 5
COMMITMENTS = 10
TZ = "Europe/Berlin"


def seed_couple(tag: str, history_days: int):
    """A linked couple; the rebuilding partner has COMMITMENTS daily commitments that started
    `history_days` ago, every past day marked (kept mostly, a missed day every so often, every
    tenth mark acknowledged by the partner)."""
    from couple.accounts.operations import sign_up
    from couple.commitments.models import (
        Acknowledgement,
        Commitment,
        CommitmentChange,
        FollowThrough,
    )
    from couple.commitments.schedule import local_today
    from couple.pairing.operations import accept_invite, create_invite

    riley = sign_up(f"riley-{tag}@example.com", "Riley", PASSWORD)
    sam = sign_up(f"sam-{tag}@example.com", "Sam", PASSWORD)
    invite, _t, _c = create_invite(riley, "rebuilding")
    accept_invite(invite, sam)
    couple_id = db.session.get(type(riley), riley.id).couple_id
    today = local_today(TZ)
    start = today - timedelta(days=history_days)
    now = datetime.now(UTC)
    for n in range(COMMITMENTS):
        # Seeded directly: the app only lets a new commitment start within the last 90 days.
        c = Commitment(couple_id=couple_id, owner_id=riley.id, wording=f"Commitment number {n + 1}",
                       schedule="daily", start_on=start, tz=TZ, status="active", version=1,
                       created_at=now)
        db.session.add(c)
        db.session.flush()
        db.session.add(CommitmentChange(commitment_id=c.id, kind="made", wording=c.wording,
                                        day=start, at=now))
        marks = [
            {"commitment_id": c.id, "day": start + timedelta(days=i),
             "status": "missed" if (i + n) % 9 == 0 else "kept",
             "note": "a note" if i % 5 == 0 else "", "version": 1, "marked_at": now}
            for i in range(history_days)
        ]
        if marks:
            db.session.execute(insert(FollowThrough), marks)
            # Each mark made through the app also leaves a row in the commitment's history.
            db.session.execute(insert(CommitmentChange), [
                {"commitment_id": c.id, "kind": m["status"], "wording": c.wording,
                 "day": m["day"], "at": now} for m in marks])
            ids = db.session.scalars(select(FollowThrough.id).where(
                FollowThrough.commitment_id == c.id).order_by(FollowThrough.day)).all()
            db.session.execute(insert(Acknowledgement), [
                {"follow_through_id": mid, "user_id": sam.id, "note": "I noticed",
                 "seen_status": "kept", "at": now} for mid in ids[::10]])
    db.session.commit()
    first = db.session.scalar(select(Commitment.id).where(Commitment.owner_id == riley.id)
                              .order_by(Commitment.id))
    return riley, first


def timed(fn, runs: int) -> dict:
    fn()  # warm-up: template compilation, caches
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return {"median_ms": round(statistics.median(samples), 2),
            "min_ms": round(min(samples), 2), "max_ms": round(max(samples), 2), "runs": runs}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "commitments.json"))
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-commitments-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    app = create_app({
        "INSTANCE_PATH": str(tmp / "instance"), "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "bench-only-" + "x" * 32, "SOCKETIO_ASYNC_MODE": "threading",
        "AUTO_MIGRATE": False, "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": "couple.bench", "LOG_LEVEL": "WARNING",
    })
    from couple.commitments.models import FollowThrough
    from couple.commitments.reading import weekly_trend

    results = {}
    with app.app_context():
        db.create_all()
        t0 = time.perf_counter()
        cases = {}
        # "window_only": exactly the 90 days the pages show; five years should cost about that.
        for name, days in (("five_years", YEARS * 365 + 1), ("window_only", 90),
                           ("empty_history", 0)):
            user, first_id = seed_couple(name, days)
            cases[name] = (user.email, user.id, user.couple_id, first_id)
        seeded_s = time.perf_counter() - t0
        marks = db.session.scalar(select(func.count(FollowThrough.id)))
        db.session.remove()
    # Requests run outside that app context, as in a server: each gets its own.
    for name, (email, user_id, couple_id, first_id) in cases.items():
        client = app.test_client()
        r = client.post("/login", data={"email": email, "password": PASSWORD})
        assert r.status_code == 303, r.status_code

        def get(path, client=client):
            def go():
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)
                return response
            return go

        def trend(couple_id=couple_id, user_id=user_id):
            with app.app_context():
                weekly_trend(couple_id, user_id, 52)

        page = get("/commitments")()
        results[name] = {
            "page_bytes": len(page.data),
            "commitments_page": timed(get("/commitments"), args.runs),
            "commitments_page_52_week_trend": timed(get("/commitments?weeks=52"), args.runs),
            "commitment_detail_page": timed(get(f"/commitments/{first_id}"), args.runs),
            "trend_chart_data_52_weeks": timed(get(f"/commitments/trend/{user_id}?weeks=52"),
                                               args.runs),
            "trend_chart_compute_52_weeks": timed(trend, args.runs),
            "state_json": timed(get("/api/state"), args.runs),
        }
    out = {
        "what": f"{COMMITMENTS} daily commitments, {YEARS} years of daily marks (every 10th "
                "acknowledged) vs the same commitments with no history",
        "marks_in_database": marks,
        "seeding_seconds": round(seeded_s, 1),
        "database": url.split(":", 1)[0],
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "results": results,
        "ratio_five_years_over_empty": {
            k: round(results["five_years"][k]["median_ms"]
                     / results["empty_history"][k]["median_ms"], 2)
            for k in results["five_years"] if isinstance(results["five_years"][k], dict)
        },
        "ratio_five_years_over_window_only": {
            k: round(results["five_years"][k]["median_ms"]
                     / results["window_only"][k]["median_ms"], 2)
            for k in results["five_years"] if isinstance(results["five_years"][k], dict)
        },
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"{marks} marks seeded in {seeded_s:.1f}s ({out['database']}); "
          f"median of {args.runs} runs, ms:")
    print(f"{'':32} {'5 years':>9} {'90 days':>9} {'empty':>9} {'5y/90d':>7} {'5y/empty':>8}")
    for k, ratio in out["ratio_five_years_over_empty"].items():
        print(f"{k:32} {results['five_years'][k]['median_ms']:>9} "
              f"{results['window_only'][k]['median_ms']:>9} "
              f"{results['empty_history'][k]['median_ms']:>9} "
              f"{out['ratio_five_years_over_window_only'][k]:>7} {ratio:>8}")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
