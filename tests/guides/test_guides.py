"""Guides: content in the seeds' words, progress, reflections, sharing — operations and routes."""
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from couple.accounts.models import User
from couple.errors import Conflict, InvalidInput, NotFound
from couple.events import Event
from couple.extensions import db
from couple.guides import operations as ops
from couple.guides.content import GUIDES
from couple.guides.models import GuideProgress, Reflection

# A copy of shared/seeds/ travels with the tests; where shared/ sits beside the repo (as in CI)
# the copy must still equal it, so the app cannot drift from the source texts.
SEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "seeds"
SHARED_SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"


def _seed_text(name: str) -> str:
    text = (SEEDS / name).read_text()
    if SHARED_SEEDS.exists():
        assert (SHARED_SEEDS / name).read_text() == text, f"tests/fixtures/seeds/{name} is stale"
    return re.sub(r'<a href="[^"]*">(.*?)</a>', r"\1", text)


def test_guides_have_every_step_in_the_seeds_words():
    rebuilding = _seed_text("000_5f9147c3afb6f6f2.txt")
    supporting = _seed_text("003_fa3019377c439bb4.txt")
    assert len(GUIDES["rebuilding"].steps) == 10 and len(GUIDES["supporting"].steps) == 8
    for guide, seed in ((GUIDES["rebuilding"], rebuilding), (GUIDES["supporting"], supporting)):
        assert guide.intro in seed
        for step in guide.steps:
            assert step.title in seed and step.body in seed, step.title
            assert "http" not in step.body and "<a" not in step.body
    assert GUIDES["supporting"].outro in supporting


def test_each_partner_reads_their_own_guide(make_couple, login_as):
    riley, sam = make_couple()
    riley_page = login_as(riley).get("/guide").get_data(as_text=True)
    sam_page = login_as(sam).get("/guide").get_data(as_text=True)
    assert GUIDES["rebuilding"].steps[9].title in riley_page
    assert GUIDES["supporting"].steps[0].title not in riley_page
    assert GUIDES["supporting"].steps[7].title in sam_page
    assert riley_page.count('class="card step"') == 10 and sam_page.count('class="card step"') == 8


def test_someone_without_a_role_can_read_both_guides(make_user, login_as):
    c = login_as(make_user())
    assert "Choose your role" in c.get("/guide").get_data(as_text=True)
    for role, guide in GUIDES.items():
        page = c.get(f"/guide/{role}").get_data(as_text=True)
        assert guide.steps[-1].body in page
    assert c.get("/guide/boss").status_code == 404


def test_set_step_state_through_json_and_form(make_couple, login_as):
    riley, _ = make_couple()
    c = login_as(riley)
    r = c.post("/guide/steps/3/state", json={"state": "working", "op_id": "abcdefgh1"})
    assert r.status_code == 200 and r.json["result"]["state"] == "working"
    r = c.post("/guide/steps/3/state", data={"state": "practising"})
    assert r.status_code == 303
    row = db.session.scalar(select(GuideProgress).where(GuideProgress.user_id == riley.id))
    assert (row.guide, row.step, row.state) == ("rebuilding", 3, "practising")


@pytest.mark.parametrize("body, status", [
    ({"state": "done"}, 400), ({"state": ""}, 400), ({}, 400), ({"state": ["working"]}, 400),
])
def test_bad_state_is_refused_and_changes_nothing(make_couple, login_as, body, status):
    riley, _ = make_couple()
    r = login_as(riley).post("/guide/steps/1/state", json=body)
    assert r.status_code == status and "error" in r.json
    assert db.session.scalar(select(func.count()).select_from(GuideProgress)) == 0


def test_steps_outside_the_guide_are_404(make_couple, login_as):
    riley, sam = make_couple()
    working = {"state": "working"}
    assert login_as(riley).post("/guide/steps/11/state", json=working).status_code == 404
    assert login_as(sam).post("/guide/steps/9/state", json=working).status_code == 404
    assert login_as(sam).post("/guide/steps/0/reflection", json={"text": "x"}).status_code == 404


def test_retry_with_the_same_op_id_applies_once(make_couple, login_as):
    riley, _ = make_couple()
    c = login_as(riley)
    body = {"state": "working", "op_id": "retry-op-0001"}
    first = c.post("/guide/steps/1/state", json=body).json
    second = c.post("/guide/steps/1/state", json=body).json
    assert first == second
    progress_events = select(func.count()).select_from(Event).where(Event.type == "guide.progress")
    assert db.session.scalar(progress_events) == 1
    text = {"text": "once", "op_id": "retry-op-0002", "version": 0}
    assert c.post("/guide/steps/1/reflection", json=text).status_code == 200
    assert c.post("/guide/steps/1/reflection", json=text).status_code == 200  # not a 409
    assert db.session.scalar(select(Reflection.version)) == 1


def test_reflection_from_an_old_copy_gets_409_with_the_saved_copy(make_couple, login_as):
    riley, _ = make_couple()
    tab1, tab2 = login_as(riley), login_as(riley)
    url = "/guide/steps/2/reflection"
    assert tab1.post(url, json={"text": "v1", "version": 0}).status_code == 200
    assert tab1.post(url, json={"text": "v2 from tab 1", "version": 1}).status_code == 200
    r = tab2.post(url, json={"text": "v2 from tab 2", "version": 1})
    assert r.status_code == 409 and r.json["current"]["text"] == "v2 from tab 1"
    assert db.session.scalar(select(Reflection.text)) == "v2 from tab 1"


def test_reflection_limits(make_couple):
    riley, _ = make_couple()
    user = db.session.get(User, riley.id)
    with pytest.raises(InvalidInput):
        ops.save_reflection(user, 1, "x" * (ops.MAX_REFLECTION + 1), None)
    with pytest.raises(InvalidInput):
        ops.save_reflection(user, 1, {"text": "no"}, None)
    with pytest.raises(InvalidInput):
        ops.share_reflection(user, 1, True)  # nothing written yet
    assert db.session.scalar(select(func.count()).select_from(Reflection)) == 0


def test_sharing_is_with_one_couple_only(make_couple, make_user):
    """A reflection shared with one partner is not shown to the next one after an unlink."""
    from couple.pairing import operations as pairing

    riley, sam = make_couple()
    user = db.session.get(User, riley.id)
    ops.save_reflection(user, 1, "for Sam", None)
    ops.share_reflection(user, 1, True)
    pairing.unlink(user)
    alex = make_user(name="Alex")
    invite, _, _ = pairing.create_invite(db.session.get(User, riley.id), "rebuilding")
    pairing.accept_invite(invite, alex)
    from couple.state import state_for

    assert state_for(db.session.get(User, alex.id))["data"]["shared_reflections"] == {}
    mine = state_for(db.session.get(User, riley.id))["data"]["reflections"]["rebuilding:1"]
    assert mine["text"] == "for Sam" and mine["shared"] is False


def test_partner_reads_shared_reflection_on_home(make_couple, login_as):
    riley, sam = make_couple()
    c = login_as(riley)
    c.post("/guide/steps/4/reflection", json={"text": "<b>I will answer</b>", "version": 0})
    home = login_as(sam).get("/home").get_data(as_text=True)
    assert "I will answer" not in home
    c.post("/guide/steps/4/share", json={"shared": True})
    home = login_as(sam).get("/home").get_data(as_text=True)
    assert "&lt;b&gt;I will answer&lt;/b&gt;" in home  # shown as text, escaped
    c.post("/guide/steps/4/share", data={"shared": "false"})
    assert "I will answer" not in login_as(sam).get("/home").get_data(as_text=True)


def test_unlinked_person_keeps_working_on_their_guide_privately(make_couple, login_as):
    from couple.pairing import operations as pairing

    riley, sam = make_couple()
    pairing.unlink(db.session.get(User, riley.id))
    c = login_as(riley)
    assert c.post("/guide/steps/1/state", json={"state": "working"}).status_code == 200
    ev = db.session.scalars(select(Event).order_by(Event.id.desc())).first()
    assert ev.stream == f"user:{riley.id}"
    r = c.post("/guide/steps/1/reflection", json={"text": "alone", "version": 0})
    assert r.status_code == 200
    assert c.post("/guide/steps/1/share", json={"shared": True}).status_code == 400


def test_conflict_and_notfound_types():
    assert Conflict("x").status == 409 and NotFound().status == 404
