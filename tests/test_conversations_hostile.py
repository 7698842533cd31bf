"""A hostile review of conversations (rev14): each test here failed before its fix."""
import pytest

from couple.conversations import operations as ops
from couple.errors import InvalidInput
from tests.conftest import login
from tests.conversations_helpers import fresh_state, rows, user


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
