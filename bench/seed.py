"""Create N linked couples in a couple database and print their signed-in browser sessions.

Run by bench/realtime.py before the server starts (its own process, same COUPLE_* environment as
the server). Accounts and couples are made by the app's own operations (sign_up, create_invite,
accept_invite, start_session); only the cookie is assembled here instead of by POST /login, so
that 2,000 log-ins do not cost 2,000 argon2 verifications and the login rate limit. The cookie
is the one Flask would set: the real login-session token, signed with the server's secret key,
plus a CSRF token the way Flask-WTF signs it.

So that the load can make all three kinds of change, each couple also gets, through the same
operations the app's views and sockets call: one daily commitment per partner
(commitments.operations.create_commitment, time zone UTC, starting today: the load marks today)
and one boundary in the couple's shared document (boundaries.operations.receive_update with a
pycrdt update, as an editor's socket message would be; the load types into its text).

Output (JSON on stdout): [{"couple_id", "boundary_id", "a": {"cookie", "csrf", "user_id",
"commitment_id"}, "b": {...}}, ...]
"""
import json
import os
import secrets
import sys

from itsdangerous import URLSafeTimedSerializer

USER_AGENT = "couple-bench/1"


def a_year_of_marks(owner, partner) -> int:
    """A daily commitment as it is after a year of use: made 365 days ago, reworded, paused for
    a week and resumed, every past day marked (one in seven missed), nearly every mark
    acknowledged, each mark in its log. A mark reads the 90-day window of these and sends the
    whole item, so this is what a mark costs once the first weeks are over."""
    from datetime import UTC, datetime, timedelta

    from couple.commitments.models import (
        Acknowledgement,
        Commitment,
        CommitmentChange,
        FollowThrough,
    )
    from couple.extensions import db

    today = datetime.now(UTC).date()
    start = today - timedelta(days=365)
    c = Commitment(couple_id=owner.couple_id, owner_id=owner.id, wording="I call when I am late",
                   schedule="daily", start_on=start, tz="UTC", status="active", version=2)
    db.session.add(c)
    db.session.flush()
    at = datetime.now(UTC)
    db.session.add_all([
        CommitmentChange(commitment_id=c.id, kind="made", wording="I call when late", day=start,
                         at=at),
        CommitmentChange(commitment_id=c.id, kind="reworded", wording=c.wording,
                         previous="I call when late", day=start + timedelta(days=20), at=at),
        CommitmentChange(commitment_id=c.id, kind="paused", wording=c.wording,
                         day=start + timedelta(days=100), at=at),
        CommitmentChange(commitment_id=c.id, kind="resumed", wording=c.wording,
                         day=start + timedelta(days=107), at=at)])
    marks = []
    for n in range(365):
        day = start + timedelta(days=n)
        if start + timedelta(days=100) <= day < start + timedelta(days=107):
            continue
        status = "missed" if n % 7 == 3 else "kept"
        marks.append(FollowThrough(commitment_id=c.id, day=day, status=status, note="",
                                   version=1, marked_at=at))
        db.session.add(CommitmentChange(commitment_id=c.id, kind=status, wording=c.wording,
                                        day=day, at=at))
    db.session.add_all(marks)
    db.session.flush()
    db.session.add_all([
        Acknowledgement(follow_through_id=m.id, user_id=partner.id, note="",
                        seen_status=m.status, at=at)
        for k, m in enumerate(marks) if k % 10])
    db.session.commit()
    return c.id


def main(n: int) -> None:
    from pycrdt import Array, Doc, Map, Text

    from couple import create_app
    from couple.accounts import devices
    from couple.accounts import operations as accounts
    from couple.boundaries.operations import receive_update
    from couple.commitments.operations import create_commitment
    from couple.extensions import db
    from couple.pairing.operations import accept_invite, create_invite

    # A seeded account's password is never checked: the cheapest real argon2 hash will do
    # (couple/accounts/operations.py: hasher; it asks for TESTING, which only this seeding app is).
    app = create_app({"SOCKETIO_ASYNC_MODE": "threading", "TESTING": True,
                      "PASSWORD_HASHER": "cheapest-for-tests"})
    out = []
    with app.app_context():
        if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            # Seeding is not the measured path: skip the per-commit fsync here only.
            db.session.execute(db.text("PRAGMA synchronous=OFF"))
        serializer = app.session_interface.get_signing_serializer(app)
        csrf_signer = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token")
        run = secrets.token_hex(3)
        for i in range(n):
            a = accounts.sign_up(f"bench-{run}-{i}-a@example.com", f"Riley {i}", "bench password 1")
            b = accounts.sign_up(f"bench-{run}-{i}-b@example.com", f"Sam {i}", "bench password 1")
            invite, _token, _code = create_invite(a, "rebuilding")
            accept_invite(invite, b)
            pair = {"couple_id": None}
            for key, user in (("a", a), ("b", b)):
                commitment = create_commitment(user, wording=f"Ask before making plans {i}{key}",
                                               schedule="daily", tz="UTC")
                token = accounts.start_session(user)
                raw_csrf = secrets.token_hex(20)
                with app.test_request_context(environ_base={"REMOTE_ADDR": "127.0.0.1"},
                                              headers={"User-Agent": USER_AGENT}):
                    from flask_login.utils import _create_identifier

                    ident = _create_identifier()
                # As a browser's cookie is after its first request of the day: the device's
                # "last used" day is marked (accounts/devices.py), so the load's requests do
                # not each write it again (one write a day per browser is what people cost).
                session = {"_user_id": token, "_fresh": True, "_id": ident, "csrf_token": raw_csrf,
                           devices.USED_KEY: devices.today().isoformat()}
                cookie_name = app.config["SESSION_COOKIE_NAME"]
                pair[key] = {
                    "user_id": user.id,
                    "cookie": f"{cookie_name}={serializer.dumps(session)}",
                    "csrf": csrf_signer.dumps(raw_csrf),
                    "commitment_id": commitment["id"],
                }
            db.session.refresh(a)
            pair["couple_id"] = a.couple_id
            # One boundary, added the way an editor adds one: a Yjs update through the operation.
            pair["boundary_id"] = f"bench{i:06d}{secrets.token_hex(4)}"
            doc = Doc()
            array = doc.get("boundaries", type=Array)
            with doc.transaction():
                array.append(Map({"id": pair["boundary_id"], "category": "communication",
                                  "text": Text("We take a break when voices rise. "),
                                  "created_by": a.id, "order": 1.0}))
            answer = receive_update(a.couple, a, doc.get_update())
            assert answer.get("ok"), answer
            out.append(pair)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main(int(sys.argv[1]))
