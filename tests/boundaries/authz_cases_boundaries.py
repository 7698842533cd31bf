"""Authorization cases for boundaries (format: tests/support/authz.py), written by the security
review.

The document is chosen by the server from the sender's active couple: a loner gets an error,
a member of another couple can only ever touch their own couple's document, and naming the
owner's boundary id from there finds nothing.
"""
from tests.support.authz import ERROR, LOGIN, OK, REFUSED, SELF, Case, EventCase

FOREIGN = {"anonymous": LOGIN, "loner": 404, "stranger": 404}


def _update_message(text: str, bid: str, user_id: int) -> tuple[bytes, bytes]:
    from pycrdt import Array, Doc, Map, Text, create_update_message

    doc = Doc()
    array = doc.get("boundaries", type=Array)
    with doc.transaction():
        array.append(Map({"id": bid, "category": "communication", "text": Text(text),
                          "created_by": user_id, "order": 1.0}))
    update = doc.get_update()
    return update, create_update_message(update)


def seed(world):
    """A boundary the owner wrote in the owner's couple (couple-shared text)."""
    from couple.boundaries import operations as boundaries

    owner = world.users["owner"]
    update, _message = _update_message(f"no phones {world.shared_text}", "b0a1b2c3d4e5f607",
                                       owner.id)
    boundaries.receive_update(owner.couple, owner, update)
    world.ids["boundary"] = "b0a1b2c3d4e5f607"


def _bid(w):
    return {"boundary_id": w.ids["boundary"]}


def _about_owners_boundary(w):
    return {"id": w.ids["boundary"], "hash": "0" * 64}


CASES = [
    Case("/boundaries", "GET", {"anonymous": LOGIN, "loner": SELF, "stranger": SELF,
                                "partner": SELF, "owner": OK}),
    Case("/boundaries/print", "GET", {"anonymous": LOGIN, "loner": 404, "stranger": SELF,
                                      "partner": SELF, "owner": OK}),
    Case("/boundaries/<boundary_id>/history", "GET", {**FOREIGN, "partner": SELF, "owner": OK},
         params=_bid),
]

NAMING_THE_OWNERS_BOUNDARY = {"anonymous": REFUSED, "loner": ERROR, "stranger": ERROR,
                              "partner": OK, "owner": OK}

EVENT_CASES = [
    # A stranger's update lands in the stranger's own document, never the owner's.
    EventCase("b:y", {"anonymous": REFUSED, "loner": ERROR, "stranger": SELF, "partner": OK,
                      "owner": OK},
              payload=lambda w: _update_message("added", "c0a1b2c3d4e5f608",
                                                w.users["owner"].id)[1]),
    # The stranger's own couple's (empty) document row may be created on first use.
    *[EventCase(name, NAMING_THE_OWNERS_BOUNDARY, payload=_about_owners_boundary,
                may_create=("boundary_docs",))
      for name in ("b:accept", "b:unaccept", "b:remove", "b:keep", "b:settled")],
]
