"""The socket events' login check: a snapshot read in one Core statement
(couple/accounts/signed_in.py) must say what the ORM loader says, on SQLite and PostgreSQL, and
must never take a write it would lose."""
from datetime import timedelta

import pytest
from sqlalchemy import update

from couple.accounts.models import LoginSession, User
from couple.accounts.operations import start_session, user_for_session_token
from couple.accounts.signed_in import CoupleNow, SignedIn, signed_in_for_token
from couple.extensions import db
from couple.models_base import utcnow
from couple.pairing.models import Couple
from tests.support.orm_loads import orm_loads


@pytest.fixture(params=["sqlite", "postgresql"])
def people(request):
    """(app, riley_id, sam_id, alone_id): a linked couple and someone not linked, on each
    database the app runs on."""
    if request.param == "postgresql":
        app, (riley_id, sam_id) = request.getfixturevalue("pg_couple")
        with app.app_context():
            from couple.accounts.operations import sign_up
            from tests.conftest import PASSWORD

            alone_id = sign_up(f"alone-{riley_id}@example.com", "Alex", PASSWORD).id
            db.session.remove()
    else:
        app = request.getfixturevalue("app")
        riley, sam = request.getfixturevalue("make_couple")()
        alone = request.getfixturevalue("make_user")(name="Alex")
        riley_id, sam_id, alone_id = riley.id, sam.id, alone.id
    return app, riley_id, sam_id, alone_id


def _both(token):
    """(snapshot, ORM user) for one token, each read in a fresh session."""
    db.session.remove()
    snapshot = signed_in_for_token(token)
    db.session.remove()
    orm = user_for_session_token(token)
    return snapshot, orm


def test_the_snapshot_says_what_the_orm_loader_says(people):
    app, riley_id, sam_id, alone_id = people
    with app.app_context():
        for uid in (riley_id, sam_id, alone_id):
            token = start_session(db.session.get(User, uid))
            snapshot, orm = _both(token)
            assert isinstance(snapshot, SignedIn) and isinstance(orm, User)
            assert (snapshot.id, snapshot.couple_id, snapshot.last_seq) == (
                orm.id, orm.couple_id, orm.last_seq)
            assert snapshot.login_session_id == orm.login_session_id is not None
            assert snapshot.get_id() == orm.get_id() == token
            assert snapshot.is_authenticated and snapshot.is_active
            assert not snapshot.is_anonymous
            assert snapshot.role == orm.role
            if orm.couple is None:
                assert uid == alone_id
                assert snapshot.couple is None and snapshot.active_couple is None
                assert snapshot.role is None and snapshot.partner is None
                continue
            couple = snapshot.couple
            assert isinstance(couple, CoupleNow)
            assert (couple.id, couple.rebuilding_id, couple.supporting_id, couple.last_seq,
                    couple.ended_at, couple.active) == (
                orm.couple.id, orm.couple.rebuilding_id, orm.couple.supporting_id,
                orm.couple.last_seq, orm.couple.ended_at, orm.couple.active)
            assert couple.member_ids() == orm.couple.member_ids() == [riley_id, sam_id]
            assert snapshot.active_couple is couple
            assert snapshot.role == ("rebuilding" if uid == riley_id else "supporting")
        db.session.remove()


def test_what_the_snapshot_does_not_hold_comes_from_the_orm_object(people):
    app, riley_id, sam_id, _alone_id = people
    with app.app_context():
        token = start_session(db.session.get(User, riley_id))
        db.session.remove()
        snapshot = signed_in_for_token(token)
        with orm_loads(User, Couple) as loaded:
            assert loaded == []
            assert snapshot.display_name == "Riley"  # not in the row: the ORM User, once
            assert snapshot.orm() is db.session.get(User, riley_id)
            assert loaded == ["User"]
            partner = snapshot.partner  # the couple's relationship: its ORM Couple
            assert isinstance(partner, User) and partner.id == sam_id
            assert snapshot.couple.partner_of(snapshot) is partner
            assert isinstance(snapshot.couple.orm(), Couple)
        with pytest.raises(AttributeError):
            snapshot.no_such_field  # noqa: B018
        with pytest.raises(AttributeError):
            snapshot._private  # noqa: B018
        db.session.remove()


def test_a_snapshot_refuses_writes_it_would_lose(people):
    app, riley_id, _sam_id, _alone_id = people
    with app.app_context():
        token = start_session(db.session.get(User, riley_id))
        snapshot = signed_in_for_token(token)
        for name, value in (("display_name", "Someone else"), ("couple_id", None),
                            ("id", 0)):
            with pytest.raises(AttributeError, match="read-only snapshot"):
                setattr(snapshot, name, value)
        with pytest.raises(AttributeError, match="read-only snapshot"):
            snapshot.couple.ended_at = utcnow()
        snapshot.orm().display_name = "Riley R."  # the way to change it
        db.session.commit()
        db.session.remove()
        assert db.session.get(User, riley_id).display_name == "Riley R."
        db.session.remove()


def test_an_ended_expired_or_unknown_session_signs_nobody_in(people):
    app, riley_id, sam_id, _alone_id = people
    with app.app_context():
        token = start_session(db.session.get(User, riley_id))
        assert signed_in_for_token(token) is not None
        # Expiry is checked in the statement, on both databases' datetime storage.
        db.session.execute(update(LoginSession).where(LoginSession.user_id == riley_id)
                           .values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        assert _both(token) == (None, None)
        db.session.execute(update(LoginSession).where(LoginSession.user_id == riley_id)
                           .values(expires_at=utcnow() + timedelta(minutes=1)))
        db.session.commit()
        assert signed_in_for_token(token).id == riley_id
        db.session.execute(LoginSession.__table__.delete()
                           .where(LoginSession.user_id == riley_id))
        db.session.commit()
        assert _both(token) == (None, None)
        # Never issued (tokens are URL-safe ASCII): nobody, and no error, from either loader.
        for bad in (None, "", "x" * 101, 42, b"bytes", "no such token", "\x00", "\ud800",
                    "t\u00e9", ["a"]):
            assert signed_in_for_token(bad) is None, bad
            assert user_for_session_token(bad) is None, bad
        db.session.remove()


def test_an_ended_couple_is_no_active_couple(people):
    app, riley_id, sam_id, _alone_id = people
    with app.app_context():
        token = start_session(db.session.get(User, sam_id))
        couple_id = db.session.get(User, sam_id).couple_id
        db.session.execute(update(Couple).where(Couple.id == couple_id)
                           .values(ended_at=utcnow()))
        db.session.commit()
        snapshot, orm = _both(token)
        assert snapshot.couple is not None and not snapshot.couple.active
        assert snapshot.active_couple is None and orm.active_couple is None
        assert snapshot.role == orm.role == "supporting"  # the role in the couple it was
        db.session.remove()


# ---- on PostgreSQL the check is sent with its transaction's BEGIN (couple/pg_begin.py) ------

def _pg_people(request):
    app, (riley_id, sam_id) = request.getfixturevalue("pg_couple")
    return app, riley_id, sam_id


def test_on_postgresql_the_check_and_its_begin_are_one_round_trip(request):
    """Every socket event's first statement: libpq's trace shows one Query "BEGIN; SELECT ...",
    one ReadyForQuery for both, and no BEGIN of psycopg's own before the next statement."""
    from sqlalchemy import text

    from tests.support.pg_wire import queries, round_trips, wire

    app, riley_id, _sam_id = _pg_people(request)
    with app.app_context():
        token = start_session(db.session.get(User, riley_id))
        db.session.commit()
        db.session.remove()
        with wire(db.engine) as traces:
            snapshot = signed_in_for_token(token)
            assert db.session.execute(text("SELECT 1")).scalar() == 1
            db.session.commit()
        assert snapshot.id == riley_id and snapshot.couple.rebuilding_id == riley_id
        (trace,) = traces
        sent = queries(trace)
        assert sent[0].startswith("BEGIN; SELECT users.id"), sent
        assert sent[1:] == ["SELECT 1", "COMMIT"], sent
        assert round_trips(trace) == 3, trace
        db.session.remove()


def test_on_postgresql_a_check_inside_a_transaction_is_sent_as_usual(request):
    """A check after another statement of the same transaction (a page's own) cannot carry a
    BEGIN: it runs as the plain statement, with the same answer."""
    from sqlalchemy import text

    from tests.support.pg_wire import queries, wire

    app, riley_id, _sam_id = _pg_people(request)
    with app.app_context():
        token = start_session(db.session.get(User, riley_id))
        db.session.commit()
        db.session.remove()
        fast = signed_in_for_token(token)
        db.session.remove()
        with wire(db.engine) as traces:
            db.session.execute(text("SELECT 1"))
            plain = signed_in_for_token(token)
            db.session.rollback()
        sent = queries(traces[0])
        assert sent[0] == "BEGIN" and not any(q.startswith("BEGIN;") for q in sent), sent
        assert any(q.startswith("SELECT users.id") for q in sent), sent
        for name in SignedIn._FIELDS[:3] + ("login_session_id",):
            assert getattr(fast, name) == getattr(plain, name)
        for name in CoupleNow._FIELDS:
            assert getattr(fast.couple, name) == getattr(plain.couple, name)
        db.session.remove()


def test_on_postgresql_an_ended_couples_time_reads_as_the_orm_reads_it(request):
    """The one timestamp the check reads comes back as an aware UTC datetime, equal to the
    ORM's, from both ways of sending the statement."""
    app, _riley_id, sam_id, = _pg_people(request)
    with app.app_context():
        token = start_session(db.session.get(User, sam_id))
        couple_id = db.session.get(User, sam_id).couple_id
        ended = utcnow() - timedelta(days=3, microseconds=7)
        db.session.execute(update(Couple).where(Couple.id == couple_id).values(ended_at=ended))
        db.session.commit()
        snapshot, orm = _both(token)
        assert snapshot.couple.ended_at == orm.couple.ended_at == ended
        assert snapshot.couple.ended_at.utcoffset() == timedelta(0)
        db.session.remove()


def test_hostile_tokens_never_reach_the_statements_text(people):
    """Only the token's SHA-256 (hex) is written into the text: a token made of SQL, quotes or
    format markers signs nobody in and changes nothing, on either database."""
    from sqlalchemy import func, select

    app, riley_id, _sam_id, _alone_id = people
    with app.app_context():
        users = db.session.scalar(select(func.count()).select_from(User))
        for bad in ("'; DROP TABLE users; --", "x' OR '1'='1", "%(digest)s", "%s", "\\'",
                    "$$; COMMIT; $$", "\u0027 OR 1=1 --"):
            db.session.remove()
            assert signed_in_for_token(bad) is None, bad
        db.session.remove()
        assert db.session.scalar(select(func.count()).select_from(User)) == users
        token = start_session(db.session.get(User, riley_id))
        db.session.commit()
        db.session.remove()
        assert signed_in_for_token(token).id == riley_id
        db.session.remove()


def test_only_hex_and_aware_times_are_written_into_a_statement():
    from datetime import UTC, datetime, timezone

    from couple.pg_begin import hex_literal, timestamp_literal

    assert hex_literal("09af") == "'09af'"
    for bad in ("", "09AF", "0x9", "ab'", "ab cd", "ab\x00", "ab;", None, 42, b"ab"):
        with pytest.raises(ValueError):
            hex_literal(bad)
    moment = datetime(2026, 12, 6, 7, 30, 0, 123, tzinfo=timezone(timedelta(hours=2)))
    assert timestamp_literal(moment) == "'2026-12-06 05:30:00.000123'::timestamp"
    assert timestamp_literal(datetime(2026, 1, 2, tzinfo=UTC)) == "'2026-01-02 00:00:00'::timestamp"
    with pytest.raises(ValueError):
        timestamp_literal(datetime(2026, 1, 2))


def test_on_postgresql_a_dropped_connection_under_the_check_discards_the_pool(request):
    """A database restart: the check, the first statement of every socket event, fails as any
    statement does (SQLAlchemy's error, the connection invalidated) and takes every pooled
    connection of that restart with it, so the next event gets a fresh one and succeeds."""
    import psycopg
    from sqlalchemy import exc, text

    app, riley_id, _sam_id = _pg_people(request)
    with app.app_context():
        token = start_session(db.session.get(User, riley_id))
        db.session.commit()
        db.session.remove()
        # Three connections in the pool, each with its backend.
        held = [db.engine.connect() for _ in range(3)]
        pids = [c.execute(text("SELECT pg_backend_pid()")).scalar() for c in held]
        for c in held:
            c.close()
        url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(url, autocommit=True) as killer:
            for pid in pids:
                killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(exc.DBAPIError) as failed:
            signed_in_for_token(token)
        assert failed.value.connection_invalidated
        db.session.remove()
        # Every other connection of the pool was discarded with it: no second failure.
        for _ in range(3):
            assert signed_in_for_token(token).id == riley_id
            db.session.remove()


def test_on_postgresql_a_check_killed_while_it_waits_never_returns_its_connection(request):
    """A greenlet killed while its check waits for PostgreSQL (a timeout, a server going down):
    the exit exception goes on as it is, and the connection, its answer still unread, is
    invalidated rather than given to the next event."""
    import psycopg

    app, riley_id, _sam_id = _pg_people(request)

    class Killed(BaseException):
        pass

    with app.app_context():
        token = start_session(db.session.get(User, riley_id))
        db.session.commit()
        db.session.remove()
        connection = db.session.connection()
        raw = connection.connection.driver_connection

        def killed_while_waiting(gen, *args, **kwargs):
            next(gen)  # the query is sent; its answer is never read
            raise Killed()

        raw.wait = killed_while_waiting
        try:
            with pytest.raises(Killed):
                signed_in_for_token(token)
        finally:
            del raw.wait
        assert connection.invalidated
        assert raw.closed or raw.pgconn.transaction_status != psycopg.pq.TransactionStatus.IDLE
        db.session.remove()
        assert signed_in_for_token(token).id == riley_id  # the next event, on a fresh one
        db.session.remove()
