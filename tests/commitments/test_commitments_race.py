"""Two tabs of one partner (and both partners) writing at the same instant, on PostgreSQL:
threads behind a barrier, real transactions. No lost update, one mark per (commitment, day),
and the events, applied in sequence order, still equal a fresh fetch."""
import copy

import pytest
from sqlalchemy import select

from couple.accounts.models import User
from couple.commitments import operations as ops
from couple.commitments.models import CommitmentChange, FollowThrough
from couple.events import Event
from couple.extensions import db
from couple.realtime import apply_event
from couple.state import state_for
from tests.commitments.commitments_helpers import day
from tests.conftest import login
from tests.support.race import race

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(pg_couple):
    app, ids = pg_couple
    with app.app_context():
        item = ops.create_commitment(db.session.get(User, ids[0]), wording="Call at lunch",
                                     schedule="daily", tz="Asia/Tokyo",
                                     start=day({"tz": "Asia/Tokyo"}, 5))
        db.session.remove()
    return app, ids, item


def _tabs(app, users):
    tabs = []
    for u in users:
        c = app.test_client()
        login(c, u)
        tabs.append(c)
    return tabs


def _users(app, ids):
    with app.app_context():
        return [db.session.get(User, i) for i in ids]


@pytest.mark.parametrize("statuses", [("kept", "missed"), ("kept", "kept")])
def test_two_tabs_mark_the_same_day_at_once(pg, statuses):
    app, ids, item = pg
    riley, _sam = _users(app, ids)
    tabs = _tabs(app, [riley, riley])
    url = f"/commitments/{item['id']}/days/{day(item, 1)}/mark"
    answers = race([(tab, url, {"status": s, "version": 0})
                    for tab, s in zip(tabs, statuses, strict=True)])
    codes = sorted(code for code, _ in answers)
    with app.app_context():
        marks = db.session.scalars(select(FollowThrough)).all()
        assert len(marks) == 1, "unique (commitment, day): one mark"
        saved = marks[0].status
        events = db.session.scalars(select(Event).where(Event.type == "commitments.marked")).all()
    if statuses[0] == statuses[1]:
        assert codes == [200, 200] and len(events) == 1, "the same wish twice is one change"
    else:
        assert codes == [200, 409], answers
        loser = next(body for code, body in answers if code == 409)
        assert loser["current"]["status"] == saved, "the 409 carries the saved copy"
        assert len(events) == 1


def test_two_tabs_reword_at_once(pg):
    app, ids, item = pg
    riley, _sam = _users(app, ids)
    tabs = _tabs(app, [riley, riley])
    url = f"/commitments/{item['id']}/reword"
    answers = race([(tabs[0], url, {"wording": "Call at lunch, every day", "version": 1}),
                     (tabs[1], url, {"wording": "Call or text at lunch", "version": 1})])
    assert sorted(code for code, _ in answers) == [200, 409]
    with app.app_context():
        rewords = db.session.scalars(
            select(CommitmentChange).where(CommitmentChange.kind == "reworded")).all()
        assert len(rewords) == 1 and rewords[0].previous == "Call at lunch"


def test_owner_corrects_while_partner_acknowledges(pg):
    """Whole-item patches from concurrent writers: applied in sequence order, they must still
    equal a fresh fetch (each operation reads under the couple's lock)."""
    app, ids, item = pg
    riley, sam = _users(app, ids)
    with app.app_context():
        ops.mark_follow_through(db.session.get(User, riley.id), item["id"], day(item, 1), "kept")
        before = {i: state_for(db.session.get(User, i)) for i in ids}
        db.session.remove()
    owner_tab, partner_tab = _tabs(app, [riley, sam])
    base = f"/commitments/{item['id']}/days/{day(item, 1)}"
    for round_ in range(3):
        status = "missed" if round_ % 2 == 0 else "kept"
        answers = race([(owner_tab, f"{base}/mark", {"status": status, "note": f"round {round_}"}),
                         (partner_tab, f"{base}/acknowledge", {"note": f"seen {round_}"})])
        assert [code for code, _ in answers] == [200, 200], answers
    with app.app_context():
        events = db.session.scalars(select(Event).order_by(Event.seq)).all()
        for i in ids:
            state = copy.deepcopy(before[i])
            for ev in events:
                if ev.stream == f"couple:{state['data']['couple']['info']['id']}" and \
                        ev.seq > state["seqs"]["couple"]:
                    state["data"] = apply_event(state["data"], ev.envelope())
                    state["seqs"]["couple"] = ev.seq
            db.session.expire_all()
            assert state == state_for(db.session.get(User, i))
