"""Pairing operations, tested directly: invitations, linking, unlinking."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from couple.accounts.models import User
from couple.errors import InvalidInput, NotFound
from couple.extensions import db
from couple.models_base import utcnow
from couple.pairing import operations as ops
from couple.pairing.models import Couple, Invite


def test_invite_has_unguessable_token_and_short_code(make_user):
    riley = make_user()
    invite, token, code = ops.create_invite(riley, "rebuilding")
    assert len(token) >= 43  # 32 random bytes, url-safe
    assert len(code) == ops.CODE_LENGTH and set(code) <= set(ops.CODE_ALPHABET)
    # Only digests are stored.
    assert token not in invite.token_hash and code not in invite.code_hash
    assert invite.expires_at - invite.created_at == timedelta(hours=72)


def test_invite_role_must_be_one_of_the_two(make_user):
    with pytest.raises(InvalidInput):
        ops.create_invite(make_user(), "boss")
    assert db.session.scalar(select(func.count()).select_from(Invite)) == 0


def test_a_new_invite_voids_the_older_one(make_user):
    riley = make_user()
    _, old_token, _ = ops.create_invite(riley, "rebuilding")
    _, new_token, _ = ops.create_invite(riley, "supporting")
    with pytest.raises(NotFound):
        ops.find_open_invite(token=old_token)
    assert ops.find_open_invite(token=new_token).inviter_role == "supporting"


def test_accept_links_both_in_their_roles(make_user):
    riley, sam = make_user(name="Riley"), make_user(name="Sam")
    invite, token, code = ops.create_invite(riley, "supporting")
    couple = ops.accept_invite(ops.find_open_invite(code=code.lower()), sam)
    assert couple.supporting_id == riley.id and couple.rebuilding_id == sam.id
    riley, sam = db.session.get(User, riley.id), db.session.get(User, sam.id)
    assert riley.role == "supporting" and sam.role == "rebuilding"
    assert riley.partner.id == sam.id and sam.partner.id == riley.id


def test_invite_is_single_use(make_user):
    riley, sam, alex = make_user(), make_user(), make_user()
    invite, token, _ = ops.create_invite(riley, "rebuilding")
    ops.accept_invite(ops.find_open_invite(token=token), sam)
    with pytest.raises(NotFound):
        ops.find_open_invite(token=token)
    with pytest.raises(InvalidInput):  # even holding the object, the inviter is linked now
        ops.accept_invite(invite, alex)
    assert db.session.get(User, alex.id).couple_id is None


def test_no_self_link_and_no_second_couple(make_user, make_couple):
    riley = make_user()
    invite, _, _ = ops.create_invite(riley, "rebuilding")
    with pytest.raises(InvalidInput):
        ops.accept_invite(invite, riley)
    a, b = make_couple()
    with pytest.raises(InvalidInput):
        ops.accept_invite(invite, b)
    with pytest.raises(InvalidInput):
        ops.create_invite(a, "rebuilding")


def test_expired_declined_and_revoked_invites_do_not_open(make_user):
    riley, sam = make_user(), make_user()
    invite, token, code = ops.create_invite(riley, "rebuilding")
    invite.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    with pytest.raises(NotFound):
        ops.find_open_invite(token=token)
    invite, token, _ = ops.create_invite(riley, "rebuilding")
    ops.decline_invite(invite, sam)
    with pytest.raises(NotFound):
        ops.find_open_invite(token=token)
    invite, token, _ = ops.create_invite(riley, "rebuilding")
    ops.revoke_invite(riley)
    with pytest.raises(NotFound):
        ops.find_open_invite(token=token)


def test_garbage_tokens_and_codes_are_not_found(make_user):
    for bad in ["", "x" * 500, "not-a-token"]:
        with pytest.raises(NotFound):
            ops.find_open_invite(token=bad)
    for bad in ["", "ABC", "0" * 10, "é" * 10]:
        with pytest.raises(NotFound):
            ops.find_open_invite(code=bad)


def test_unlink_ends_the_couple_for_both(make_couple):
    riley, sam = make_couple()
    couple_id = riley.couple_id
    ops.unlink(sam)
    riley, sam = db.session.get(User, riley.id), db.session.get(User, sam.id)
    assert riley.couple_id is None and sam.couple_id is None
    assert db.session.get(Couple, couple_id).ended_at is not None
    with pytest.raises(InvalidInput):
        ops.unlink(riley)


def test_after_unlink_both_can_link_again(make_couple, make_user):
    riley, sam = make_couple()
    ops.unlink(riley)
    alex = make_user()
    invite, _, _ = ops.create_invite(db.session.get(User, riley.id), "rebuilding")
    couple = ops.accept_invite(invite, alex)
    assert couple.member_ids() == [riley.id, alex.id]


@pytest.mark.postgres
def test_two_redemptions_at_once_make_exactly_one_couple(app_factory, postgres_url):
    """Two people redeem one invitation at the same instant (PostgreSQL, real row locks)."""
    app = app_factory(SQLALCHEMY_DATABASE_URI=postgres_url)
    from couple.accounts.operations import sign_up

    with app.app_context():
        inviter = sign_up("inviter@example.com", "Inviter", "correct horse battery staple")
        racers = [sign_up(f"r{i}@example.com", f"Racer {i}", "correct horse battery staple")
                  for i in range(2)]
        _, token, _ = ops.create_invite(inviter, "rebuilding")
        racer_ids = [r.id for r in racers]

    barrier = threading.Barrier(2)
    outcomes = []

    def redeem(user_id):
        with app.app_context():
            user = db.session.get(User, user_id)
            invite = ops.find_open_invite(token=token)
            barrier.wait()
            try:
                ops.accept_invite(invite, user)
                outcomes.append("linked")
            except (NotFound, InvalidInput) as err:
                outcomes.append(type(err).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=redeem, args=(uid,)) for uid in racer_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["NotFound", "linked"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Couple)) == 1
        linked = db.session.scalar(
            select(func.count()).select_from(User).where(User.couple_id.is_not(None)))
        assert linked == 2


def test_active_couple_is_the_one_test_of_linked(make_couple, login_as):
    """`user.active_couple`: the couple, unless it has ended. Between a couple ending and its
    members' rows being cleared (one transaction, but a page may hold the objects), every page
    and operation that asks must see "not linked"."""
    riley, _sam = make_couple()
    assert riley.active_couple is riley.couple is not None
    riley.couple.ended_at = utcnow()
    assert riley.active_couple is None
    db.session.rollback()
    ops.unlink(db.session.get(User, riley.id))
    assert db.session.get(User, riley.id).active_couple is None
