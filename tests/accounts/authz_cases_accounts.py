"""Authorization cases for accounts (format: tests/support/authz.py). Every account route acts on
the signed-in person only: there is no id to name anybody else's account."""
from tests.conftest import PASSWORD
from tests.support.authz import LOGIN, OK, PUBLIC, SELF, Case

SIGNED_IN = {"anonymous": LOGIN, "loner": SELF, "stranger": SELF, "partner": SELF, "owner": OK}
DOOR = {"anonymous": SELF, "loner": SELF, "stranger": SELF, "partner": SELF, "owner": OK}

CASES = [
    Case("/signup", "GET", DOOR),
    # Signed in: redirected home; anonymous: a new account (nobody else's rows change).
    Case("/signup", "POST", DOOR, json=False,
         body=lambda w: {"display_name": "New", "email": f"new-{id(w)}@example.com",
                         "password": PASSWORD}),
    Case("/login", "GET", DOOR),
    # Trying the owner's email: anonymous gets the same refusal as for any wrong password.
    Case("/login", "POST", {"anonymous": 400, "loner": SELF, "stranger": SELF, "partner": SELF,
                            "owner": OK}, json=False,
         body=lambda w: {"email": w.users["owner"].email, "password": "not the password"}),
    Case("/logout", "POST", SIGNED_IN, json=False),
    Case("/account", "GET", SIGNED_IN),
    Case("/account/export", "GET", SIGNED_IN),
    # The current password is the requester's own: nobody can change another's.
    Case("/account/password", "POST", SIGNED_IN, json=False,
         body=lambda w: {"current_password": PASSWORD,
                         "new_password": "a brand new long passphrase"}),
    # The partner deleting their account ends the couple and drops that couple's event log
    # (copies of both people's shared text); the owner's own rows stay (test_accounts_data.py).
    Case("/account/delete", "POST", {**SIGNED_IN, "partner": OK}, json=False,
         body=lambda w: {"password": PASSWORD, "confirm": "y"}),
    # Where a deletion lands: the same page for anyone (signed in: sent home), naming nobody.
    Case("/account/deleted", "GET", {r: PUBLIC for r in DOOR}),
]
