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
