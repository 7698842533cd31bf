"""The cap of three waiting questions under a race, on PostgreSQL: one partner's two tabs open
a conversation at the same instant when two are already waiting (threads behind a barrier, real
transactions). Exactly one gets in; the other is the worded 400; never four waiting. Also a
withdrawal racing its answer: exactly one wins, and the words that were answered stay."""
import pytest

from couple.accounts.models import User
from couple.conversations import operations as ops
from couple.extensions import db
from tests.conftest import login
from tests.support.race import race

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(pg_couple):
    return pg_couple


def _tab(app, uid):
    c = app.test_client()
    with app.app_context():
        login(c, db.session.get(User, uid))
    return c


def _waiting(app, uid):
    with app.app_context():
        u = db.session.get(User, uid)
        return ops.waiting_count(u.couple_id, uid)


@pytest.mark.parametrize("attempt", range(3))
def test_two_tabs_opening_at_once_never_pass_the_cap(pg, attempt):
    app, (riley, sam) = pg
    with app.app_context():
        for n in range(ops.MAX_WAITING - 1):
            ops.open_conversation(db.session.get(User, sam), kind="question", title=f"Q{n}",
                                  text="Why?")
        db.session.remove()
    tabs = [_tab(app, sam), _tab(app, sam)]
    answers = race([(tab, "/conversations", {"kind": "question", "title": f"Race {i}",
                                              "text": "And then?"})
                     for i, tab in enumerate(tabs)])
    codes = sorted(code for code, _body in answers)
    assert codes == [200, 400], answers
    refused = next(body for code, body in answers if code == 400)
    assert "already waiting" in refused["error"]
    assert _waiting(app, sam) == ops.MAX_WAITING


@pytest.mark.parametrize("attempt", range(3))
def test_a_withdrawal_racing_the_answer(pg, attempt):
    app, (riley, sam) = pg
    with app.app_context():
        cid = ops.open_conversation(db.session.get(User, sam), kind="question", title="Friday",
                                    text="Where were you?")["id"]
        db.session.remove()
    answers = race([(_tab(app, sam), f"/conversations/{cid}/withdraw", {}),
                     (_tab(app, riley), f"/conversations/{cid}/answer",
                      {"kind": "answer", "text": "At home."})])
    codes = [code for code, _b in answers]
    assert sorted(codes) == [200, 400], answers
    with app.app_context():
        item = ops.item_for(ops.conversation_for(db.session.get(User, sam), cid),
                            db.session.get(User, sam).couple)
        rnd = item["rounds"][0]
        if codes[0] == 200:  # withdrawn first: no answer was written
            assert (rnd["status"], rnd["text"], rnd["entries"]) == ("withdrawn", "", [])
        else:  # answered first: the question and its answer stay
            assert rnd["status"] == "answered" and rnd["text"] == "Where were you?"
            assert [e["text"] for e in rnd["entries"]] == ["At home."]
