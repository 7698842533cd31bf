"""Create N linked couples in a couple database and print their signed-in browser sessions.

Run by bench/realtime.py before the server starts (its own process, same COUPLE_* environment as
the server). Accounts and couples are made by the app's own operations (sign_up, create_invite,
accept_invite, start_session); only the cookie is assembled here instead of by POST /login, so
that 2,000 log-ins do not cost 2,000 argon2 verifications and the login rate limit. The cookie
is the one Flask would set: the real login-session token, signed with the server's secret key,
plus a CSRF token the way Flask-WTF signs it.

So that the load can make all three kinds of change, each couple also gets, through the same
operations the app's views and sockets call:
- one daily commitment per partner: by default as it is after a year of use (`a_year_of_marks`:
  a year of daily marks and acknowledgements, written with bulk inserts; the load marks today),
  or with `new` as the second argument made today (commitments.operations.create_commitment,
  time zone UTC);
- one boundary in the couple's shared document (boundaries.operations.receive_update with a
  pycrdt update, as an editor's socket message would be; the load types into its text).

    python bench/seed.py N [year|new]

Output (JSON on stdout): [{"couple_id", "boundary_id", "a": {"cookie", "csrf", "user_id",
"commitment_id"}, "b": {...}}, ...]
"""
import json
import os
import secrets
import sys

from itsdangerous import URLSafeTimedSerializer

USER_AGENT = "couple-bench/1"


def a_year_of_marks(owner, partner, wording: str = "I call when I am late") -> int:
    """A daily commitment as it is after a year of use; returns its id.

    Made 365 days ago, reworded, paused for a week and resumed; every past day marked (one in
    seven missed), nine marks in ten acknowledged by the partner, each mark in its log. A mark
    reads the 90-day window of these and sends the whole item, so this is what a mark costs once
    the first weeks are over. Written with bulk inserts (seeding 1,000 of these for
    bench/realtime.py --history year is ~1M rows); committed."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert

    from couple.commitments.models import (
        Acknowledgement,
        Commitment,
        CommitmentChange,
        FollowThrough,
    )
    from couple.extensions import db

    today = datetime.now(UTC).date()
    start = today - timedelta(days=365)
    first_words = wording + " (first words)"
    c = Commitment(couple_id=owner.couple_id, owner_id=owner.id, wording=wording,
                   schedule="daily", start_on=start, tz="UTC", status="active", version=2)
    db.session.add(c)
    db.session.flush()
    at = datetime.now(UTC)
    pause = (start + timedelta(days=100), start + timedelta(days=107))
    changes = [
        {"kind": "made", "wording": first_words, "previous": None, "day": start},
        {"kind": "reworded", "wording": wording, "previous": first_words,
         "day": start + timedelta(days=20)},
        {"kind": "paused", "wording": wording, "previous": None, "day": pause[0]},
        {"kind": "resumed", "wording": wording, "previous": None, "day": pause[1]}]
    marks = []
    for n in range(365):
        day = start + timedelta(days=n)
        if not pause[0] <= day < pause[1]:
            marks.append({"commitment_id": c.id, "day": day, "note": "", "version": 1,
                          "status": "missed" if n % 7 == 3 else "kept", "marked_at": at,
                          "corrected_at": None})
    changes += [{"kind": m["status"], "wording": wording, "previous": None, "day": m["day"]}
                for m in marks]
    conn = db.session.connection()
    conn.execute(insert(CommitmentChange.__table__),
                 [{"commitment_id": c.id, "at": at, **ch} for ch in changes])
    ids = conn.execute(insert(FollowThrough.__table__).returning(
        FollowThrough.__table__.c.id, sort_by_parameter_order=True), marks).scalars().all()
    conn.execute(insert(Acknowledgement.__table__), [
        {"follow_through_id": mark_id, "user_id": partner.id, "note": "", "at": at,
         "seen_status": m["status"]}
        for k, (mark_id, m) in enumerate(zip(ids, marks, strict=True)) if k % 10])
    db.session.commit()
    return c.id


class Typist:
    """A partner typing into the couple's one boundary: each message() is one character added
    at its end (the oldest dropped past 400), as a y-protocols update message."""

    def __init__(self, doc):
        from pycrdt import Array

        self.doc = doc
        self.text = doc.get("boundaries", type=Array)[0]["text"]

    def message(self) -> bytes:
        from pycrdt import create_update_message

        before = self.doc.get_state()
        with self.doc.transaction():
            if len(str(self.text)) > 400:
                del self.text[0:1]
            self.text.insert(len(str(self.text).encode()), "x")
        return create_update_message(self.doc.get_update(before))


def one_couple_to_change(tag: str):
    """What the per-change benchmarks (change_cpu.py, change_instructions.py) change, made with
    the app's operations in the caller's app context and committed: a linked couple, Riley's
    login session token, a daily commitment made today and one a year old, and the couple's
    boundaries document with one boundary (its Typist types into it)."""
    from types import SimpleNamespace

    from pycrdt import Array, Doc, Map, Text

    from couple.accounts import operations as accounts
    from couple.boundaries.operations import receive_update
    from couple.commitments.operations import create_commitment
    from couple.extensions import db
    from couple.pairing.operations import accept_invite, create_invite

    a = accounts.sign_up(f"{tag}-a@example.com", "Riley", "bench password 1")
    b = accounts.sign_up(f"{tag}-b@example.com", "Sam", "bench password 1")
    invite, _token, _code = create_invite(a, "rebuilding")
    accept_invite(invite, b)
    cid = create_commitment(a, wording="Call when I am late", schedule="daily", tz="UTC")["id"]
    token = accounts.start_session(a)
    year_cid = a_year_of_marks(a, b)
    doc = Doc()
    with doc.transaction():
        doc.get("boundaries", type=Array).append(Map({
            "id": f"{tag}-boundary-1", "category": "communication",
            "text": Text("We take a break. "), "created_by": a.id, "order": 1.0}))
    assert receive_update(a.couple, a, doc.get_update()).get("ok")
    db.session.remove()
    return SimpleNamespace(token=token, cid=cid, year_cid=year_cid, typist=Typist(doc))


def signed_in_client(app, token: str):
    """(Flask test client, JSON headers): a browser signed in with this login-session token,
    its cookie and CSRF token signed as the app signs them (what a page would hold)."""
    from itsdangerous import URLSafeTimedSerializer

    from couple.accounts import devices

    client = app.test_client()
    serializer = app.session_interface.get_signing_serializer(app)
    raw_csrf = "c" * 40
    session = {"_user_id": token, "_fresh": True, "csrf_token": raw_csrf,
               devices.USED_KEY: devices.today().isoformat()}
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], serializer.dumps(session))
    headers = {"Accept": "application/json", "X-CSRFToken":
               URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw_csrf)}
    return client, headers


def main(n: int, history: str = "year") -> None:
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
            for key, user, other in (("a", a, b), ("b", b, a)):
                wording = f"Ask before making plans {i}{key}"
                if history == "year":
                    commitment = {"id": a_year_of_marks(user, other, wording)}
                else:
                    commitment = create_commitment(user, wording=wording, schedule="daily",
                                                   tz="UTC")
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
    main(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "year")
