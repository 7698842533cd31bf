"""Authorization cases for commitments (format: tests/support/authz.py), written by the security
review.

Only the owner marks, rewords, pauses, resumes or ends a commitment, or sets its private
reminder (403 for the partner, nothing changes); only the partner acknowledges a mark; anyone
outside the couple gets 404.
"""
from tests.support.authz import LOGIN, OK, SELF, Case

FOREIGN = {"anonymous": LOGIN, "loner": 404, "stranger": 404}


def seed(world):
    """The owner's commitment (its wording is couple-shared text), marked kept today."""
    from couple.commitments import operations as commitments
    from couple.commitments.schedule import local_today

    owner = world.users["owner"]
    item = commitments.create_commitment(owner, wording=f"walk {world.shared_text}",
                                         schedule="daily")
    today = local_today("UTC").isoformat()
    commitments.mark_follow_through(owner, item["id"], today, "kept", f"note {world.shared_text}")
    world.ids["commitment"] = item["id"]
    world.ids["today"] = today


def _cid(w):
    return {"commitment_id": w.ids["commitment"]}


def _day(w):
    return {"commitment_id": w.ids["commitment"], "day": w.ids["today"]}


OWNER_ONLY = {**FOREIGN, "partner": 403, "owner": OK}

CASES = [
    Case("/commitments", "GET", {"anonymous": LOGIN, "loner": SELF, "stranger": SELF,
                                 "partner": SELF, "owner": OK}),
    # Mass assignment: owner_id / couple_id in the body are ignored.
    Case("/commitments", "POST", {"anonymous": LOGIN, "loner": 404, "stranger": SELF,
                                  "partner": SELF, "owner": OK},
         body=lambda w: {"wording": "call my sister", "schedule": "daily",
                         "owner_id": w.users["owner"].id, "couple_id": w.couple_id}),
    Case("/commitments/<int:commitment_id>", "GET",
         {**FOREIGN, "partner": SELF, "owner": OK}, params=_cid),
    Case("/commitments/trend/<int:person_id>", "GET",
         {**FOREIGN, "partner": SELF, "owner": OK},
         params=lambda w: {"person_id": w.users["owner"].id}),
    Case("/commitments/<int:commitment_id>/reword", "POST", OWNER_ONLY, params=_cid,
         body=lambda w: {"wording": "walk every evening"}),
    Case("/commitments/<int:commitment_id>/pause", "POST", OWNER_ONLY, params=_cid),
    Case("/commitments/<int:commitment_id>/resume", "POST", {**OWNER_ONLY, "owner": SELF},
         params=_cid, note="already active"),
    Case("/commitments/<int:commitment_id>/end", "POST", OWNER_ONLY, params=_cid),
    Case("/commitments/<int:commitment_id>/days/<day>/mark", "POST", OWNER_ONLY, params=_day,
         body=lambda w: {"status": "missed", "note": "overwritten?"}),
    Case("/commitments/<int:commitment_id>/days/<day>/acknowledge", "POST",
         {**FOREIGN, "partner": OK, "owner": 403}, params=_day,
         body=lambda w: {"note": "I noticed"}),
    # The owner's private reminder: the partner can neither set it nor learn whether it is on.
    Case("/commitments/<int:commitment_id>/reminder", "POST", OWNER_ONLY, params=_cid,
         body=lambda w: {"enabled": "on", "time": "07:30"}),
]
