"""A hostile review of conversations (rev14): each test here failed before its fix."""
import pytest

from couple.conversations import operations as ops
from couple.errors import InvalidInput
from tests.conftest import login
from tests.conversations.conversations_helpers import fresh_state, rows, user


def _ask(who, text="Where were you?", title="Friday", kind="question", **kw):
    return ops.open_conversation(user(who), kind=kind, title=title, text=text, **kw)


@pytest.mark.parametrize("kind", ["not_ready", "counsellor"])
def test_half_typed_words_never_reach_the_partner_with_not_ready_yet(
        make_couple, client, kind):
    """The answer form has one text field; pressing "Not ready yet" after starting to type
    sent the half-typed answer along with it, shown to the partner. Choosing not to answer
    must send no words."""
    riley, sam = make_couple()
    cid = _ask(sam)["id"]
    login(client, riley)
    r = client.post(f"/conversations/{cid}/answer",
                    json={"kind": kind, "text": "It was because I was afraid that"})
    assert r.status_code == 200, r.get_data(as_text=True)
    entry = r.get_json()["result"]["rounds"][0]["entries"][0]
    assert (entry["kind"], entry["text"]) == (kind, "")
    state = fresh_state(sam)
    assert "afraid" not in str(state)
    assert "afraid" not in str(rows())


def test_an_op_id_reused_for_another_conversation_is_refused_not_answered_with_the_other(
        make_couple, client):
    """A retried op id answers with the first attempt's stored result. An op id used again for
    a *different* conversation (a client bug, or an old tab after re-linking) was answered with
    that other conversation's item and "ok", while the answer just written was silently dropped
    (the page cleared the field: the words were lost)."""
    riley, sam = make_couple()
    first = _ask(sam, title="First")["id"]
    second = _ask(sam, title="Second", text="And on Saturday?")["id"]
    login(client, riley)
    op = "reused-op-id-0001"
    r = client.post(f"/conversations/{first}/answer",
                    json={"kind": "answer", "text": "At home.", "op_id": op})
    assert r.status_code == 200
    before = rows()
    r = client.post(f"/conversations/{second}/answer",
                    json={"kind": "answer", "text": "Out with friends.", "op_id": op})
    assert r.status_code == 400, r.get_data(as_text=True)
    assert "again" in r.get_json()["error"]
    assert rows() == before
    # The real retry of the first answer is still answered with its first result, once.
    r = client.post(f"/conversations/{first}/answer",
                    json={"kind": "answer", "text": "At home.", "op_id": op})
    assert r.status_code == 200 and r.get_json()["result"]["id"] == first
    assert rows() == before


def test_an_op_id_of_another_capability_is_not_taken_for_a_new_conversation(make_couple, client):
    """Opening a conversation with an op id already used to answer one: refused in words,
    not answered with the answered conversation as if it were the new one."""
    riley, sam = make_couple()
    cid = _ask(sam)["id"]
    op = "reused-op-id-0002"
    ops.answer(user(riley), cid, "answer", "At home.", op_id=op)
    with pytest.raises(InvalidInput):
        ops.open_conversation(user(riley), kind="question", title="Mine", text="Why?", op_id=op)
