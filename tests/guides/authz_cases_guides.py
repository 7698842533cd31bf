"""Authorization cases for guides (format: tests/support/authz.py). A step names the requester's
own reflection; nobody can write, share or read another person's private reflection."""
from tests.support.authz import LOGIN, OK, SELF, Case

READ = {"anonymous": LOGIN, "loner": SELF, "stranger": SELF, "partner": SELF, "owner": OK}
# Lee has a guide from the role in Lee's open invitation (the seed of
# tests/pairing/authz_cases_pairing.py).
WRITE = {"anonymous": LOGIN, "loner": SELF, "stranger": SELF, "partner": SELF, "owner": OK}
NO_STEP = {"anonymous": LOGIN, "loner": 404, "stranger": 404, "partner": 404, "owner": 404}

CASES = [
    Case("/guide", "GET", READ),
    Case("/guide/<role>", "GET", READ, params=lambda w: {"role": "rebuilding"}),
    Case("/guide/steps/<int:step>/state", "POST", WRITE, params=lambda w: {"step": 1},
         body=lambda w: {"state": "practising", "user_id": w.users["owner"].id}),
    # Mass assignment: user_id / couple_id / shared_couple_id in the body are ignored.
    Case("/guide/steps/<int:step>/reflection", "POST", WRITE, params=lambda w: {"step": 1},
         body=lambda w: {"text": "mine", "user_id": w.users["owner"].id,
                         "couple_id": w.couple_id, "shared_couple_id": w.couple_id}),
    Case("/guide/steps/<int:step>/share", "POST", WRITE, params=lambda w: {"step": 2},
         body=lambda w: {"shared": False, "user_id": w.users["owner"].id}),
]
# The same three writes on a step that does not exist: 404 for everyone, nothing changes.
CASES += [Case(c.rule, "POST", NO_STEP, params=lambda w: {"step": 999}, body=c.body,
               note="no such step") for c in CASES if c.method == "POST"]
