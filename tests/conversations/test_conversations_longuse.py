"""Long use: a couple with 300 conversations of 10 rounds each. Sizes and render times are
measured and printed (a busy machine makes times meaningless as assertions); what is asserted
is what the page and the state carry, in counts and bytes."""
import json
import time

import pytest
from sqlalchemy import select

from couple.conversations.models import Conversation, ConversationEntry, ConversationRound
from couple.extensions import db
from couple.models_base import utcnow
from couple.state import state_for
from tests.conftest import login
from tests.conversations.conversations_helpers import user

SENTENCE = "I keep coming back to that evening and what it meant for us both. "


def _history(couple_id, asker, answerer, conversations=300, rounds=10, open_ones=3):
    """`conversations` conversations of `rounds` heard rounds each; the newest `open_ones`
    stay open, the rest are closed (as a couple's history grows)."""
    now = utcnow()
    for n in range(conversations):
        closed = n < conversations - open_ones
        c = Conversation(couple_id=couple_id, opener_id=asker, title=f"Talk {n}",
                         status="closed" if closed else "open",
                         closed_by=asker if closed else None, created_at=now)
        db.session.add(c)
        db.session.flush()
        for k in range(1, rounds + 1):
            r = ConversationRound(conversation_id=c.id, number=k, kind="question",
                                  opener_id=asker, text=SENTENCE * 2, status="heard",
                                  created_at=now)
            db.session.add(r)
            db.session.flush()
            db.session.add_all([
                ConversationEntry(round_id=r.id, author_id=answerer, kind="answer",
                                  text=SENTENCE * 3, created_at=now),
                ConversationEntry(round_id=r.id, author_id=asker, kind="heard",
                                  text=SENTENCE, created_at=now),
                ConversationEntry(round_id=r.id, author_id=answerer, kind="confirmed",
                                  text="", created_at=now)])
    db.session.commit()


def test_measure_a_long_history(app, client, make_couple, capsys):
    riley, sam = make_couple()
    _history(user(riley).couple_id, sam.id, riley.id)
    login(client, riley)
    t0 = time.perf_counter()
    state = state_for(user(riley))
    t1 = time.perf_counter()
    page = client.get("/conversations")
    t2 = time.perf_counter()
    home = client.get("/")
    t3 = time.perf_counter()
    with capsys.disabled():
        print(f"\nstate_for: {len(json.dumps(state)):,} bytes in {t1 - t0:.2f}s; "
              f"/conversations: {len(page.data):,} bytes in {t2 - t1:.2f}s; "
              f"/: {len(home.data):,} bytes in {t3 - t2:.2f}s")
    # Before: 2.7 MB of state on every page that starts live, and 6.2 MB for /conversations,
    # fetched again by both partners' pages on every step either sent. Closed conversations
    # are summaries now: the three open ones carry their words, the 297 closed ones do not.
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert body.count(SENTENCE.strip()) == 3 * 10 * 6 * 2, "closed conversations carry no words"
    assert len(json.dumps(state)) < 200_000
    assert len(page.data) < 600_000
    assert body.count('data-status="closed"') == 297
    assert body.count("Read it again") == 297


def test_a_closed_conversation_is_read_in_full_on_request(app, client, make_couple):
    riley, sam = make_couple()
    _history(user(riley).couple_id, sam.id, riley.id, conversations=3, rounds=2, open_ones=1)
    login(client, riley)
    closed = sorted(k for k, c in state_for(user(riley))["data"]["conversations"].items()
                    if c["status"] == "closed")
    cid = int(closed[0])
    folded = client.get("/conversations").get_data(as_text=True)
    # Six sentences a round; an open conversation's words are in the cards and in the state.
    assert folded.count(SENTENCE.strip()) == 2 * 6 * 2  # only the open one's words
    page = client.get(f"/conversations?read={cid}").get_data(as_text=True)
    assert page.count(SENTENCE.strip()) == 2 * 6 * 2 + 2 * 6  # and the one asked for
    assert f'id="conv-{cid}"' in page and page.count("Read it again") == 1
    printed = client.get(f"/conversations/print?c={cid}").get_data(as_text=True)
    assert printed.count(SENTENCE.strip()) == 2 * 6


@pytest.mark.parametrize("read", ["999999", str(2**31), str(2**64), "-1", "x", "1e3"])
def test_reading_another_id_or_no_id_shows_the_folded_page(app, client, make_couple, read):
    """A foreign, huge or non-number id in ?read= (or the summary's ?c=) shows nothing of
    anyone: the same folded page, never a 500."""
    riley, sam = make_couple()
    lee, kim = make_couple()
    _history(user(lee).couple_id, kim.id, lee.id, conversations=2, rounds=1, open_ones=0)
    login(client, riley)
    for url in (f"/conversations?read={read}", f"/conversations/print?c={read}"):
        r = client.get(url)
        assert r.status_code == 200
        assert SENTENCE.strip() not in r.get_data(as_text=True)
    theirs = [c.id for c in db.session.scalars(select(Conversation))]
    for cid in theirs:
        for url in (f"/conversations?read={cid}", f"/conversations/print?c={cid}"):
            assert SENTENCE.strip() not in client.get(url).get_data(as_text=True)


def _cards(body: str) -> dict:
    """{conversation id: (its list, its fingerprint)} of the cards in a page or in ?cards=
    (both draw the open list before the closed one)."""
    import re

    start, closed = body.index('<div id="conv-open">'), body.index('<div id="conv-closed">')
    out = {}
    for name, part in (("conv-open", body[start:closed]), ("conv-closed", body[closed:])):
        for cid, sig in re.findall(r'<article [^>]*data-conv="(\d+)" data-sig="(\w+)"', part):
            out[int(cid)] = (name, sig)
    return out


def test_the_cards_a_page_asks_for_are_the_pages_own_and_cost_the_same_after_years(
        app, client, make_couple, capsys):
    """?cards=<id> answers those conversations' cards as the whole page draws them (the same
    fingerprints, in the same list, the same cap hint), and its size does not grow with the
    couple's history: what both pages ask for on every step the partner sends."""
    riley, sam = make_couple()
    _history(user(riley).couple_id, sam.id, riley.id, conversations=300, rounds=10, open_ones=3)
    login(client, riley)
    page = client.get("/conversations").get_data(as_text=True)
    drawn = _cards(page)
    assert len(drawn) == 300
    ids = sorted(drawn)
    newest, oldest = ids[-1], ids[0]  # an open one and a closed one
    t0 = time.perf_counter()
    r = client.get(f"/conversations?cards={newest}&cards={oldest}")
    elapsed = time.perf_counter() - t0
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert _cards(body) == {newest: drawn[newest], oldest: drawn[oldest]}
    assert drawn[newest][0] == "conv-open" and drawn[oldest][0] == "conv-closed"
    hint = '<p class="hint cap-hint" id="cap-hint"'
    assert body[body.index(hint):].split("</p>")[0] == page[page.index(hint):].split("</p>")[0]
    assert "<html" not in body and "Start a conversation" not in body  # the cards alone
    with capsys.disabled():
        print(f"\n/conversations after 300 conversations: {len(page):,} bytes; "
              f"?cards= of two: {len(r.data):,} bytes in {elapsed * 1000:.1f} ms")
    assert len(r.data) < 30_000 < len(page)
    # Reading a closed one in full (?read=) keeps it in full when its card is asked for.
    read = client.get(f"/conversations?read={oldest}&cards={oldest}").get_data(as_text=True)
    assert read.count(SENTENCE.strip()) == 10 * 6


@pytest.mark.parametrize("cards", ["999999", str(2**31), str(2**64), "-1", "x", "1e3", "",
                                   "1&cards=" + "&cards=".join(["1"] * 500)])
def test_cards_of_another_couple_or_no_id_show_nothing(app, client, make_couple, cards):
    """A foreign, huge, repeated or non-number id in ?cards= shows nothing of anyone, never
    a 500: an empty answer with the lists and the hint."""
    riley, sam = make_couple()
    lee, kim = make_couple()
    _history(user(lee).couple_id, kim.id, lee.id, conversations=2, rounds=1, open_ones=1)
    login(client, riley)
    theirs = [c.id for c in db.session.scalars(select(Conversation))]
    for url in [f"/conversations?cards={cards}"] + [f"/conversations?cards={c}" for c in theirs]:
        r = client.get(url)
        assert r.status_code == 200
        body = r.get_data(as_text=True)
        assert SENTENCE.strip() not in body and "Talk " not in body
        assert _cards(body) == {} and 'id="cap-hint"' in body
