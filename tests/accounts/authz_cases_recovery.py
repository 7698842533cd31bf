"""Authorization cases for recovery and confirmed addresses (format: tests/support/authz.py).

Mailed links are credentials of their own: whoever holds the owner's link can use it (that is
what the link is for, and it only ever goes to the owner's confirmed address), so those cases
are OK for every role; a made-up link changes nothing for anyone. Asking for a recovery link
is open to anyone for any address: it writes the owner's single-use token and mails it to the
owner, never to the one who asked.
"""
from datetime import timedelta

from tests.conftest import PASSWORD
from tests.support.authz import LOGIN, OK, PUBLIC, SELF, Case

SIGNED_IN = {"anonymous": LOGIN, "loner": SELF, "stranger": SELF, "partner": SELF, "owner": OK}
EVERYONE_OK = {r: OK for r in ("anonymous", "loner", "stranger", "partner", "owner")}
EVERYONE_PUBLIC = {r: PUBLIC for r in EVERYONE_OK}
MADE_UP = "x" * 43


def seed(world):
    """A live recovery link and a live confirmation link of the owner (whose address is
    confirmed), as the mail would carry them."""
    import secrets

    from couple.accounts.models import AccountToken, User, token_digest
    from couple.extensions import db
    from couple.models_base import utcnow

    owner = db.session.get(User, world.users["owner"].id)
    owner.email_verified_at = utcnow() - timedelta(days=1)
    for purpose in ("recovery", "verify"):
        token = secrets.token_urlsafe(32)
        db.session.add(AccountToken(user_id=owner.id, purpose=purpose,
                                    token_hash=token_digest(token), email=owner.email,
                                    expires_at=utcnow() + timedelta(days=3650)))
        world.ids[f"{purpose}_token"] = token
    db.session.commit()


CASES = [
    Case("/forgot", "GET", EVERYONE_PUBLIC),
    Case("/forgot", "POST", EVERYONE_OK, json=False,
         body=lambda w: {"email": w.users["owner"].email}),
    Case("/forgot/sent", "GET", EVERYONE_PUBLIC),
    # Opening a link shows a page and changes nothing, real or made up.
    Case("/reset/<token>", "GET", EVERYONE_PUBLIC,
         params=lambda w: {"token": w.ids["recovery_token"]}),
    Case("/reset/<token>", "GET", {r: 404 for r in EVERYONE_OK}, note="made up",
         params=lambda w: {"token": MADE_UP}),
    Case("/reset/<token>", "POST", EVERYONE_OK, json=False,
         params=lambda w: {"token": w.ids["recovery_token"]},
         body=lambda w: {"new_password": "a brand new long passphrase"}),
    Case("/reset/<token>", "POST", {r: 400 for r in EVERYONE_OK}, json=False, note="made up",
         params=lambda w: {"token": MADE_UP},
         body=lambda w: {"new_password": "a brand new long passphrase"}),
    Case("/confirm/<token>", "GET", EVERYONE_PUBLIC,
         params=lambda w: {"token": w.ids["verify_token"]}),
    Case("/confirm/<token>", "POST", EVERYONE_OK, json=False,
         params=lambda w: {"token": w.ids["verify_token"]}, body=lambda w: {}),
    Case("/confirm/<token>", "POST", {r: 400 for r in EVERYONE_OK}, json=False, note="made up",
         params=lambda w: {"token": MADE_UP}, body=lambda w: {}),
    # Signed in: sent home; anonymous: the same "check your inbox" page for everyone.
    Case("/signup/sent", "GET", EVERYONE_PUBLIC),
    # Your own password, your own address: nobody can change another's.
    Case("/account/email", "POST", SIGNED_IN, json=False,
         body=lambda w: {"new_email": "moved@example.com", "email_password": PASSWORD}),
    Case("/account/confirm", "POST", SIGNED_IN, json=False, body=lambda w: {}),
]
