"""Conversations: the round, the cap, withdrawal, breaks, unlink, export and deletion, the
pages and the doors (tests/conversations/test_conversations_events.py holds the event contract)."""
import copy
import re

import pytest
from sqlalchemy import select, update

from couple import events
from couple.accounts import data as account_data
from couple.conversations import operations as ops
from couple.conversations.models import Conversation
from couple.errors import Forbidden, InvalidInput, NotFound
from couple.extensions import db
from couple.pairing import operations as pairing
from couple.realtime import apply_event
from tests.conftest import PASSWORD, events_named
from tests.conversations.conversations_helpers import fresh_state, later, rows, user
from tests.support.security_helpers import new_canary, search_database


def _pair(make_couple):
    """Riley and Sam as plain ids and emails: search_database ends the session their rows
    were loaded in."""
    from types import SimpleNamespace

    return [SimpleNamespace(id=u.id, email=u.email) for u in make_couple()]


def _ask(who, text="Where were you?", title="Friday", kind="question", **kw):
    return ops.open_conversation(user(who), kind=kind, title=title, text=text, **kw)


def test_a_whole_round_ends_heard_when_the_answerer_confirms(make_couple):
    riley, sam = make_couple()
    c = _ask(sam)
    item = ops.answer(user(riley), c["id"], "answer", "  At my sister's.\r\nI'm sorry.  ")
    r = item["rounds"][0]
    assert (r["speaker_id"], r["listener_id"], r["status"]) == (riley.id, sam.id, "answered")
    assert r["entries"][0]["text"] == "At my sister's.\nI'm sorry."
    item = ops.hear_back(user(sam), c["id"], "You were at your sister's.")
    assert item["rounds"][0]["status"] == "checking"
    item = ops.confirm(user(riley), c["id"], text="And I'm sorry.")
    assert item["rounds"][0]["status"] == "answered"  # heard back again
    ops.hear_back(user(sam), c["id"], "You were there, and you're sorry.")
    item = ops.confirm(user(riley), c["id"])
    assert item["rounds"][0]["status"] == "heard"
    assert [e["kind"] for e in item["rounds"][0]["entries"]] == [
        "answer", "heard", "added", "heard", "confirmed"]


@pytest.mark.parametrize("kind", ["not_ready", "counsellor"])
def test_not_ready_and_counsellor_are_full_answers(make_couple, kind):
    riley, sam = make_couple()
    c = _ask(sam)
    item = ops.answer(user(riley), c["id"], kind)
    assert item["rounds"][0]["status"] == "set_aside"
    # Nothing more is asked of that question: no hearing back, and a next round may follow.
    with pytest.raises(InvalidInput):
        ops.hear_back(user(sam), c["id"], "so you won't say")
    ops.next_round(user(riley), c["id"], kind="feeling", text="I am scared of this one.")


def test_an_empty_answer_is_refused_in_words(make_couple):
    riley, sam = make_couple()
    c = _ask(sam)
    before = rows()
    with pytest.raises(InvalidInput, match="Write the answer"):
        ops.answer(user(riley), c["id"], "answer", "   ")
    with pytest.raises(InvalidInput):
        ops.answer(user(riley), c["id"], "shout", "x")
    with pytest.raises(InvalidInput, match="under 4,000"):
        ops.answer(user(riley), c["id"], "answer", "x" * 4001)
    assert rows() == before


def test_no_interrogation_three_waiting_at_most_and_the_other_can_always_pause(make_couple):
    riley, sam = make_couple()
    asked = [_ask(sam, f"question {i}") for i in range(ops.MAX_WAITING)]
    before = rows()
    with pytest.raises(InvalidInput, match="already waiting"):
        _ask(sam, "one more")
    with pytest.raises(InvalidInput, match="already waiting"):
        _ask(sam, "a feeling then", kind="feeling")
    assert rows() == before
    # The one being asked can open their own, and pause any of them, at any time.
    _ask(riley, "and mine")
    for c in asked:
        ops.pause(user(riley), c["id"], until=later(), tz="Europe/London")
    # Once one is answered (or withdrawn, or closed), there is room again.
    ops.resume(user(riley), asked[0]["id"])
    ops.answer(user(riley), asked[0]["id"], "not_ready")
    _ask(sam, "now there is room")
    ops.withdraw(user(sam), asked[1]["id"])
    _ask(sam, "and again")
    with pytest.raises(InvalidInput):
        _ask(sam, "but not four")
    ops.close(user(riley), asked[2]["id"])
    _ask(sam, "after a close")


def test_nobody_changes_the_others_words_and_withdrawal_shows(make_couple):
    riley, sam = _pair(make_couple)
    secret = new_canary("ASKED")
    c = _ask(sam, f"did you {secret}", op_id="op-ask-000001")
    # Riley takes a break from the page (an op id): Riley's stored answer copies the question.
    ops.pause(user(riley), c["id"], until=later(), tz="UTC", op_id="op-break-00001")
    ops.resume(user(riley), c["id"])
    with pytest.raises(Forbidden):
        ops.withdraw(user(riley), c["id"])
    assert search_database(secret)
    item = ops.withdraw(user(sam), c["id"])
    r = item["rounds"][0]
    assert (r["status"], r["text"]) == ("withdrawn", "") and r["withdrawn_at"]
    # Gone from every row, every event of the log (replay gives no copy) and both partners'
    # stored op answers. The withdrawal itself stays shown.
    assert search_database(secret) == []
    assert fresh_state(riley)["data"]["conversations"][str(c["id"])]["rounds"][0]["status"] == \
        "withdrawn"
    # Answered words stay: no withdrawing after an answer.
    c2 = _ask(sam, "second")
    ops.answer(user(riley), c2["id"], "answer", "yes")
    with pytest.raises(InvalidInput, match="answered"):
        ops.withdraw(user(sam), c2["id"])
    # A feeling can be withdrawn while nobody has heard it back, not after.
    c3 = _ask(riley, "I feel lost", kind="feeling")
    ops.hear_back(user(sam), c3["id"], "You feel lost.")
    with pytest.raises(InvalidInput):
        ops.withdraw(user(riley), c3["id"])


def test_a_withdrawal_reads_only_what_was_written_since_its_round(make_couple):
    """The words are scrubbed from every copy written since the round was asked (three days
    ago here), and nothing older is read: a couple's log grows for years on the embedded
    default, and a withdrawal holds the couple's lock while it reads."""
    from datetime import timedelta

    from sqlalchemy import event as sa_event
    from sqlalchemy.orm import Session

    from couple.conversations.models import ConversationRound
    from couple.models_base import utcnow

    riley, sam = _pair(make_couple)
    for n in range(12):  # a history: each with its events and both partners' op answers
        old = _ask(sam, f"old question {n}", title=f"Old {n}", op_id=f"op-old-{n:08d}")
        ops.answer(user(riley), old["id"], "answer", "an old answer", op_id=f"op-olda-{n:07d}")
        ops.close(user(sam), old["id"], op_id=f"op-oldc-{n:07d}")
    month_ago = utcnow() - timedelta(days=30)
    db.session.execute(update(events.Event).values(created_at=month_ago))
    db.session.execute(update(events.AppliedOp).values(created_at=month_ago))
    db.session.commit()
    secret = new_canary("ASKED")
    c = _ask(sam, f"did you {secret}", op_id="op-ask-000002")
    ops.pause(user(riley), c["id"], until=later(), tz="UTC", op_id="op-break-00002")
    ops.resume(user(riley), c["id"], op_id="op-resume-0002")
    # Asked three days ago, the break since: every copy of the words is from then on.
    three_days = utcnow() - timedelta(days=3)
    db.session.execute(update(ConversationRound)
                       .where(ConversationRound.conversation_id == c["id"])
                       .values(created_at=three_days))
    for model in (events.Event, events.AppliedOp):
        db.session.execute(update(model).where(model.created_at > month_ago)
                           .values(created_at=three_days + timedelta(hours=1)))
    db.session.commit()
    loaded = []

    def count(session, instance):
        loaded.append(type(instance).__name__)

    sa_event.listen(Session, "loaded_as_persistent", count)
    try:
        ops.withdraw(user(sam), c["id"])
    finally:
        sa_event.remove(Session, "loaded_as_persistent", count)
    assert search_database(secret) == []
    # What was written since (the question, the break, its end; their op answers), not the
    # 36 events and 36 op answers of the history.
    assert loaded.count("Event") == 3, loaded
    assert loaded.count("AppliedOp") == 3, loaded


def test_there_is_no_read_seen_or_typing_field_in_anything_shared(make_couple):
    riley, sam = make_couple()
    c = _ask(sam)
    ops.answer(user(riley), c["id"], "answer", "here")
    ops.pause(user(sam), c["id"], until=later(), tz="UTC")
    state = fresh_state(riley)["data"]["conversations"]
    keys = set()

    def walk(value):
        if isinstance(value, dict):
            keys.update(value)
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
    walk(state)
    assert not [k for k in keys if re.search(r"read|seen|view|typing|deadline|due|streak", k)]
    # The event types say what someone did, never that they looked.
    types = {e.type for e in db.session.scalars(select(events.Event))}
    assert not [t for t in types if re.search(r"read|seen|view|typing", t)]


def test_a_break_waits_for_both_until_the_time_chosen(make_couple):
    riley, sam = make_couple()
    c = _ask(sam)
    item = ops.pause(user(riley), c["id"], until=later(26, "America/New_York"),
                     tz="America/New_York", note="let's come back tomorrow evening")
    assert item["pause"]["by"] == riley.id and item["pause"]["tz"] == "America/New_York"
    for step in (lambda: ops.answer(user(riley), c["id"], "answer", "x"),
                 lambda: ops.next_round(user(sam), c["id"], kind="question", text="x")):
        with pytest.raises(InvalidInput, match="break"):
            step()
    with pytest.raises(Forbidden):
        ops.resume(user(sam), c["id"])  # Riley's break: Sam waits for the time Riley chose
    # Once the time has come, either may come back to it.
    db.session.execute(update(Conversation).where(Conversation.id == c["id"])
                       .values(pause_until="2020-01-01T10:00"))
    db.session.commit()
    assert ops.resume(user(sam), c["id"])["status"] == "open"
    ops.pause(user(sam), c["id"], until=later(), tz="UTC")
    assert ops.resume(user(sam), c["id"])["status"] == "open"  # the one who asked: any time


def test_unlink_ends_sharing_at_once_and_a_new_couple_starts_empty(make_couple, make_user):
    riley, sam = make_couple()
    c = _ask(sam)
    pairing.unlink(user(riley))
    for who in (riley, sam):
        assert fresh_state(who)["data"]["conversations"] == {}
        with pytest.raises(NotFound):
            ops.answer(user(who), c["id"], "answer", "late")
    riley2, lee = make_couple(rebuilding=user(riley), supporting=make_user(name="Lee"))
    assert fresh_state(lee)["data"]["conversations"] == {}
    with pytest.raises(NotFound):
        ops.close(user(lee), c["id"])


def test_export_has_my_words_and_what_i_was_shown(make_couple, login_as):
    riley, sam = _pair(make_couple)
    asked, answered, withdrawn = new_canary("Q"), new_canary("A"), new_canary("W")
    c = _ask(sam, asked)
    ops.answer(user(riley), c["id"], "answer", answered)
    c2 = _ask(sam, withdrawn)
    ops.withdraw(user(sam), c2["id"])
    pairing.unlink(user(sam))  # an ended couple's conversations are still each one's to export
    for who in (riley, sam):
        body = login_as(who).get("/account/export").get_data(as_text=True)
        assert asked in body and answered in body
        assert withdrawn not in body


def test_deleting_an_account_leaves_none_of_their_words(make_couple, login_as):
    riley, sam = _pair(make_couple)
    riley_q, riley_a, sam_q, sam_heard = (new_canary(x) for x in ("RQ", "RA", "SQ", "SH"))
    c = _ask(riley, riley_q)
    ops.answer(user(sam), c["id"], "answer", "sam's answer")
    c2 = _ask(sam, sam_q)
    ops.answer(user(riley), c2["id"], "answer", riley_a)
    # Sam hears it back from the page, with an op id: Sam's stored result holds the whole
    # conversation, Riley's answer included.
    r = login_as(sam).post(f"/conversations/{c2['id']}/heard",
                           json={"text": sam_heard, "op_id": "op-heard-00001"})
    assert r.status_code == 200 and riley_a in r.get_data(as_text=True)
    for canary in (riley_q, riley_a, sam_q, sam_heard):
        assert search_database(canary)
    response = login_as(riley).post("/account/delete", data={"password": PASSWORD, "confirm": "y"})
    assert response.status_code == 303
    assert search_database(riley_q, riley_a) == []
    # Sam's own question stays in Sam's rows; nothing of Riley's answer does.
    assert search_database(sam_q)
    assert account_data.export_for(user(sam))["conversations"][0]["title"] == "Friday"


def test_replay_after_a_reconnect_brings_what_was_missed(make_couple, login_as, socket_for):
    riley, sam = make_couple()
    c = _ask(sam)
    sam_client = login_as(sam)
    before = fresh_state(sam)
    sock = socket_for(sam_client)
    sock.disconnect()
    ops.answer(user(riley), c["id"], "answer", "while you were away")
    ops.pause(user(riley), c["id"], until=later(), tz="UTC")
    sock = socket_for(sam_client)
    answer = sock.emit("sync", {"user": before["seqs"]["user"], "couple": before["seqs"]["couple"],
                                "couple_id": user(sam).couple_id}, callback=True)
    replayed = answer["couple"]["events"]
    assert [e["type"] for e in replayed] == ["conversations.answered", "conversations.paused"]
    state = copy.deepcopy(before["data"])
    for ev in replayed:
        state = apply_event(state, ev)
    assert state == fresh_state(sam)["data"]
    assert not events_named(sock.get_received())


# ---------------------------------------------------------------- pages and doors

def test_pages_show_each_partner_their_next_step(make_couple, login_as):
    riley, sam = make_couple()
    riley_c, sam_c = login_as(riley), login_as(sam)
    # A plain form (no script): a redirect to the conversation, with a flash.
    r = sam_c.post("/conversations", data={"kind": "question", "title": "Friday <b>",
                                            "text": "Where were you?"})
    assert r.status_code == 303 and "#conv-" in r.headers["Location"]
    cid = db.session.scalar(select(Conversation.id))
    page = riley_c.get("/conversations").get_data(as_text=True)
    assert "Where were you?" in page and "Friday &lt;b&gt;" in page
    assert f'action="/conversations/{cid}/answer"' in page
    assert "Not ready yet" in page and "talk about this with our counsellor" in page
    sam_page = sam_c.get("/conversations").get_data(as_text=True)
    assert f'action="/conversations/{cid}/answer"' not in sam_page
    assert f'action="/conversations/{cid}/withdraw"' in sam_page
    assert "Waiting for Riley" in sam_page
    r = riley_c.post(f"/conversations/{cid}/answer", json={"kind": "answer", "text": "Out.",
                                                           "op_id": "op-answer-0001"})
    assert r.status_code == 200 and r.get_json()["result"]["rounds"][0]["status"] == "answered"
    sam_page = sam_c.get("/conversations").get_data(as_text=True)
    assert f'action="/conversations/{cid}/heard"' in sam_page
    r = riley_c.post(f"/conversations/{cid}/heard", json={"text": "me?"})
    assert r.status_code == 403 and r.get_json()["error"]
    # Not linked: the page says to link first (the authz matrix holds the 404s).
    pairing.unlink(user(riley))
    assert "Link with your partner first" in riley_c.get("/conversations").get_data(as_text=True)


def test_a_draft_kept_by_a_quick_exit_is_shown_to_its_writer_only_and_forgotten_once_sent(
        make_couple, login_as):
    riley, sam = _pair(make_couple)
    riley_c, sam_c = login_as(riley), login_as(sam)
    c = _ask(sam)
    secret = new_canary("DRAFT")
    leaving = login_as(riley)
    assert leaving.post("/exit", json={"drafts": {
        f"conversation:{c['id']}:answer": f"half an answer {secret}"}}).status_code == 204
    assert secret in riley_c.get("/conversations").get_data(as_text=True)
    assert secret not in sam_c.get("/conversations").get_data(as_text=True)
    assert secret not in str(fresh_state(sam))
    r = riley_c.post(f"/conversations/{c['id']}/answer", json={"kind": "answer", "text": "sent"})
    assert r.status_code == 200
    assert secret not in riley_c.get("/conversations").get_data(as_text=True)
    assert search_database(secret) == []


def test_the_counsellor_summary_shows_the_chosen_conversations_beside_agreed_boundaries(
        make_couple, login_as):
    riley, sam = make_couple()
    chosen = _ask(sam, "Where were you?", title="Chosen one")
    _ask(sam, "Not for the counsellor", title="Left out")
    ops.answer(user(riley), chosen["id"], "answer", "At my sister's.")
    from couple.boundaries import operations as boundaries

    boundaries_ok = hasattr(boundaries, "overview")
    page = login_as(riley).get(f"/conversations/print?c={chosen['id']}&c=999999")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    body = html.split('id="chosen-h"', 1)[1]
    assert "Where were you?" in body and "At my sister&#39;s." in body
    assert "Not for the counsellor" not in body
    assert "Our agreed boundaries" in html and boundaries_ok
    assert "<strong>Riley</strong> answered" in body  # names, for a reader who is neither
    # Both partners may print it; nothing is stored about the choice.
    before = rows()
    assert "Where were you?" in login_as(sam).get(
        f"/conversations/print?c={chosen['id']}").get_data(as_text=True)
    assert rows() == before
