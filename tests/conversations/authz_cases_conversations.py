"""Authorization cases for conversations (format: tests/support/authz.py).

Anyone outside the couple gets 404 for every conversation door. Inside it: only the partner
answers the owner's question (403 for the owner), only the owner (the asker) hears it back,
only the writer withdraws their own words (403 for the partner); either partner may take a
break, and close.
"""
from tests.support.authz import LOGIN, OK, SELF, Case

FOREIGN = {"anonymous": LOGIN, "loner": 404, "stranger": 404}


def seed(world):
    """Three conversations of the owner, whose words are couple-shared text: a question waiting
    for the partner's answer, one answered (waiting for the owner to hear it back), and one
    waiting for the partner's confirmation of what the owner heard."""
    from couple.conversations import operations as conv

    owner, partner = world.users["owner"], world.users["partner"]
    waiting = conv.open_conversation(owner, kind="question", title=f"t {world.shared_text}",
                                     text=f"where {world.shared_text}")
    answered = conv.open_conversation(owner, kind="question", title="Friday",
                                      text=f"why {world.shared_text}")
    conv.answer(partner, answered["id"], "answer", f"because {world.shared_text}")
    checking = conv.open_conversation(owner, kind="question", title="Sunday",
                                      text=f"how {world.shared_text}")
    conv.answer(partner, checking["id"], "answer", f"so {world.shared_text}")
    conv.hear_back(owner, checking["id"], f"heard {world.shared_text}")
    world.ids["conv_waiting"] = waiting["id"]
    world.ids["conv_answered"] = answered["id"]
    world.ids["conv_checking"] = checking["id"]


def _id(name):
    return lambda w: {"conversation_id": w.ids[name]}


def _later(_w):
    from tests.conversations.conversations_helpers import later

    return {"until": later(), "tz": "Europe/London", "note": "a break"}


CASES = [
    Case("/conversations", "GET", {"anonymous": LOGIN, "loner": SELF, "stranger": SELF,
                                   "partner": SELF, "owner": OK}),
    # Another couple's id asked for is simply not among one's own: the stranger gets their own
    # (empty) summary, never the owner's words (the canary check on every answer).
    Case("/conversations/print", "GET", {"anonymous": LOGIN, "loner": 404, "stranger": SELF,
                                         "partner": SELF, "owner": OK},
         params=lambda w: {"c": w.ids["conv_waiting"]}),
    # Mass assignment: opener_id / couple_id in the body are ignored.
    Case("/conversations", "POST", {"anonymous": LOGIN, "loner": 404, "stranger": SELF,
                                    "partner": SELF, "owner": OK},
         body=lambda w: {"kind": "question", "title": "t", "text": "a question",
                         "opener_id": w.users["owner"].id, "couple_id": w.couple_id}),
    Case("/conversations/<int:conversation_id>/answer", "POST",
         {**FOREIGN, "partner": OK, "owner": 403}, params=_id("conv_waiting"),
         body=lambda w: {"kind": "answer", "text": "an answer"}),
    Case("/conversations/<int:conversation_id>/heard", "POST",
         {**FOREIGN, "partner": 403, "owner": OK}, params=_id("conv_answered"),
         body=lambda w: {"text": "what I heard"}),
    Case("/conversations/<int:conversation_id>/confirm", "POST",
         {**FOREIGN, "partner": OK, "owner": 403}, params=_id("conv_checking"),
         body=lambda w: {"text": ""}),
    Case("/conversations/<int:conversation_id>/round", "POST",
         {**FOREIGN, "partner": 400, "owner": 400}, params=_id("conv_waiting"),
         body=lambda w: {"kind": "question", "text": "next"}, note="the round is still going"),
    Case("/conversations/<int:conversation_id>/withdraw", "POST",
         {**FOREIGN, "partner": 403, "owner": OK}, params=_id("conv_waiting")),
    Case("/conversations/<int:conversation_id>/pause", "POST",
         {**FOREIGN, "partner": OK, "owner": OK}, params=_id("conv_waiting"), body=_later),
    Case("/conversations/<int:conversation_id>/resume", "POST",
         {**FOREIGN, "partner": SELF, "owner": SELF}, params=_id("conv_waiting"),
         note="not on a break: nothing changes"),
    Case("/conversations/<int:conversation_id>/close", "POST",
         {**FOREIGN, "partner": OK, "owner": OK}, params=_id("conv_waiting")),
]
