"""Commitment reminders: the owner's private setting (route, page, state, export, erasure) and
what `send_due` sends, to a real SMTP server (aiosmtpd, tests/support/mail_helpers.py).

The partner can neither set a reminder nor learn whether one is on: not in the couple's events,
not in state_for, not on the pages they see, not in their export. The mail says only that
something is due today, with a link: never the commitment's words, never a reflection."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from couple.commitments import operations as ops
from couple.commitments import reminders
from couple.commitments.models import Commitment, Reminder, ReminderSend
from couple.events import Event
from couple.extensions import db
from tests.commitments.commitments_helpers import fresh_state, make_commitment, rows, user


@pytest.fixture
def pair(make_couple, login_as):
    riley, sam = make_couple()
    item = make_commitment(riley, "Call my sponsor before dinner", days_back=2)
    return riley, sam, item, login_as(riley), login_as(sam)


def _events() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Event.id)))


def _reminder(cid):
    db.session.expire_all()
    return db.session.scalar(select(Reminder).where(Reminder.commitment_id == cid))


def test_the_owner_turns_it_on_changes_it_and_turns_it_off(pair):
    riley, sam, item, owner, partner = pair
    cid = item["id"]
    state_before = {u.id: fresh_state(u) for u in (riley, sam)}
    events_before = _events()
    r = owner.post(f"/commitments/{cid}/reminder", json={"enabled": True, "time": "07:30"})
    assert r.status_code == 200 and r.get_json()["result"] == {"enabled": True, "time": "07:30"}
    row = _reminder(cid)
    assert row.enabled and row.local_time == "07:30" and row.user_id == riley.id
    first_since = row.since
    # A form (no JavaScript): back to the page with a message; seconds from a time input.
    r = owner.post(f"/commitments/{cid}/reminder", data={"enabled": "on", "time": "21:05:00"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/commitments/{cid}#reminder-h")
    row = _reminder(cid)
    assert row.local_time == "21:05" and row.since >= first_since
    # An unchecked box sends nothing: off, the time kept.
    r = owner.post(f"/commitments/{cid}/reminder", data={"time": "21:05"})
    assert r.status_code == 303
    row = _reminder(cid)
    assert not row.enabled and row.local_time == "21:05"
    assert db.session.scalar(select(func.count(Reminder.id))) == 1, "one row per commitment"
    # Private: no event anywhere, and nobody's client state changed.
    assert _events() == events_before
    for u in (riley, sam):
        after = fresh_state(u)
        assert after["data"] == state_before[u.id]["data"]
        assert "reminder" not in repr(after)


def test_only_the_owner_sees_it_on_the_page(pair):
    riley, sam, item, owner, partner = pair
    cid = item["id"]
    owner.post(f"/commitments/{cid}/reminder", json={"enabled": True, "time": "06:45"})
    mine = owner.get(f"/commitments/{cid}").get_data(as_text=True)
    assert 'class="reminder-form"' in mine and 'value="06:45"' in mine and " checked" in mine
    theirs = partner.get(f"/commitments/{cid}").get_data(as_text=True)
    assert "reminder" not in theirs.lower() and "06:45" not in theirs
    for page in ("/commitments", "/", "/account"):
        body = partner.get(page).get_data(as_text=True)
        assert "06:45" not in body and "reminder-form" not in body


def test_the_partner_cannot_set_it_and_learns_nothing(pair):
    riley, sam, item, owner, partner = pair
    cid = item["id"]
    answers = []
    for on in (False, True):
        owner.post(f"/commitments/{cid}/reminder", json={"enabled": on, "time": "07:00"})
        before = rows()
        r = partner.post(f"/commitments/{cid}/reminder", json={"enabled": True, "time": "09:00"})
        assert r.status_code == 403
        answers.append(r.get_json())
        assert rows() == before
    assert answers[0] == answers[1], "the refusal is the same whether it is on or off"


def test_export_has_it_for_the_owner_only(pair, app):
    riley, sam, item, owner, partner = pair
    owner.post(f"/commitments/{item['id']}/reminder", json={"enabled": True, "time": "07:15"})
    mine = owner.get("/account/export").get_data(as_text=True)
    theirs = partner.get("/account/export").get_data(as_text=True)
    assert "commitment_reminders" in mine and "07:15" in mine
    assert "commitment_reminders" not in theirs and "07:15" not in theirs
    assert reminders.export_for(user(riley)) == [
        {"commitment_id": item["id"], "enabled": True, "time": "07:15",
         "since": _reminder(item["id"]).since.isoformat()}]
    assert reminders.export_for(user(sam)) == []


BAD = [
    ({"enabled": True, "time": "25:00"}, "time"),
    ({"enabled": True, "time": "12:60"}, "time"),
    ({"enabled": True, "time": ""}, "time"),
    ({"enabled": True}, "time"),
    ({"enabled": True, "time": "7:30"}, "time"),
    ({"enabled": True, "time": "a" * 100_000}, "time"),
    ({"enabled": True, "time": ["07:30"]}, "time"),
    ({"enabled": True, "time": 730}, "time"),
    ({"enabled": "maybe", "time": "07:30"}, "enabled"),
    ({"enabled": {"a": 1}, "time": "07:30"}, "enabled"),
    ({"enabled": 2, "time": "07:30"}, "enabled"),
    ({"enabled": False, "time": "99:99"}, "time"),
]


@pytest.mark.parametrize("body,field", BAD)
def test_bad_input_is_a_worded_400_and_changes_nothing(pair, body, field):
    riley, sam, item, owner, partner = pair
    owner.post(f"/commitments/{item['id']}/reminder", json={"enabled": True, "time": "08:00"})
    before = rows()
    r = owner.post(f"/commitments/{item['id']}/reminder", json=body)
    if r.status_code == 413:
        assert len(str(body)) > 50_000  # past MAX_CONTENT_LENGTH: refused before the view
    else:
        assert r.status_code == 400, r.get_data(as_text=True)
        answer = r.get_json()
        assert answer["field"] == field and len(answer["error"]) > 10
    assert rows() == before


@pytest.mark.parametrize("raw", ['{"enabled": true, "time": "07:30\\u0000"}',
                                 '{"enabled": true, "time": "\\ud800"}',
                                 '{"enabled": NaN, "time": "07:30"}',
                                 '[' * 5000 + ']' * 5000])
def test_unstorable_or_hostile_json_is_a_400(pair, raw):
    riley, sam, item, owner, partner = pair
    before = rows()
    r = owner.post(f"/commitments/{item['id']}/reminder", data=raw,
                   content_type="application/json")
    assert r.status_code == 400 and "error" in r.get_json()
    assert rows() == before


def test_a_nul_in_a_form_is_a_worded_400(pair):
    riley, sam, item, owner, partner = pair
    before = rows()
    r = owner.post(f"/commitments/{item['id']}/reminder", data={"enabled": "on",
                                                                "time": "07:30\x00"})
    assert r.status_code == 400 and "cannot be saved" in r.get_data(as_text=True)
    assert rows() == before


def test_an_ended_commitment_cannot_be_turned_on_but_can_be_turned_off(pair):
    riley, sam, item, owner, partner = pair
    cid = item["id"]
    owner.post(f"/commitments/{cid}/reminder", json={"enabled": True, "time": "08:00"})
    owner.post(f"/commitments/{cid}/end", json={})
    r = owner.post(f"/commitments/{cid}/reminder", json={"enabled": True, "time": "09:00"})
    assert r.status_code == 400 and r.get_json()["field"] == "enabled"
    page = owner.get(f"/commitments/{cid}").get_data(as_text=True)
    assert "reminder-form" in page, "an ended commitment's reminder that is on can be turned off"
    r = owner.post(f"/commitments/{cid}/reminder", json={"enabled": False})
    assert r.status_code == 200 and not _reminder(cid).enabled
    assert "reminder-form" not in owner.get(f"/commitments/{cid}").get_data(as_text=True)


def test_deleting_the_commitment_or_the_account_removes_reminders(pair, make_couple):
    from couple.accounts.operations import delete_account
    from tests.conftest import PASSWORD

    riley, sam, item, owner, partner = pair
    other = make_commitment(riley, "Second one")
    for cid in (item["id"], other["id"]):
        owner.post(f"/commitments/{cid}/reminder", json={"enabled": True, "time": "08:00"})
    db.session.add(ReminderSend(reminder_id=_reminder(item["id"]).id,
                                day=ops.local_today("UTC")))
    db.session.commit()
    db.session.delete(db.session.get(Commitment, other["id"]))
    db.session.commit()
    assert _reminder(other["id"]) is None and _reminder(item["id"]) is not None
    delete_account(user(riley), PASSWORD)
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Reminder.id))) == 0
    assert db.session.scalar(select(func.count(ReminderSend.id))) == 0


def test_since_moves_only_when_turned_on_or_retimed(pair):
    riley, sam, item, owner, partner = pair
    cid = item["id"]
    owner.post(f"/commitments/{cid}/reminder", json={"enabled": True, "time": "08:00"})
    row = _reminder(cid)
    row.since = row.since - timedelta(days=3)
    db.session.commit()
    old = _reminder(cid).since
    owner.post(f"/commitments/{cid}/reminder", json={"enabled": True, "time": "08:00"})
    assert _reminder(cid).since == old, "saving the same setting again changes nothing"
    owner.post(f"/commitments/{cid}/reminder", json={"enabled": False, "time": "08:00"})
    assert _reminder(cid).since == old
    owner.post(f"/commitments/{cid}/reminder", json={"enabled": True, "time": "08:00"})
    assert _reminder(cid).since > old
