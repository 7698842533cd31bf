"""The commitment detail page (issue 12, item 9): only its own months, no empty "Not marked yet"
card, a history with wording changes *and* marks, corrections, notes and acknowledgements, and a
note that has a save of its own. Through the test client, as both partners."""
import re
from datetime import UTC, date, datetime, timedelta

from couple.commitments import operations as ops
from couple.commitments.reading import month_add
from couple.commitments.schedule import local_today, short_date
from tests.commitments.commitments_helpers import day, make_commitment, user


def _page(client, cid, **params):
    r = client.get(f"/commitments/{cid}", query_string=params)
    assert r.status_code == 200
    return r.get_data(as_text=True)


def _captions(html):
    return re.findall(r"<caption>([^<]+)</caption>", html)


def _history(html):
    block = html[html.index('<ol class="history'):]
    block = block[:block.index("</ol>")]
    items = re.findall(r"<li[^>]*>(.*?)</li>", block, flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", "", item).split()) for item in items]


def test_the_calendar_starts_at_the_start(make_couple, login_as):
    riley, _sam = make_couple()
    today = local_today("Europe/London")
    fresh = make_commitment(riley, "Begins today")
    html = _page(login_as(riley), fresh["id"])
    assert _captions(html) == [today.strftime("%B %Y")]
    assert "Earlier months" not in html
    # Asking for months long before the start shows the start month, nothing earlier.
    html = _page(login_as(riley), fresh["id"], month="2001-01")
    assert _captions(html) == [today.strftime("%B %Y")]

    older = make_commitment(riley, "Began weeks ago", days_back=40)
    start = today - timedelta(days=40)
    html = _page(login_as(riley), older["id"])
    shown = _captions(html)
    assert shown[0] == start.strftime("%B %Y") and shown[-1] == today.strftime("%B %Y")
    assert len(shown) == (today.year - start.year) * 12 + today.month - start.month + 1
    assert "Earlier months" not in html


def test_earlier_months_stop_at_the_start_month(make_couple, login_as):
    riley, _sam = make_couple()
    today = local_today("Europe/London")
    c = make_commitment(riley, "Long ago", days_back=85)
    start = today - timedelta(days=85)
    client = login_as(riley)
    html = _page(client, c["id"])
    months_back = (today.year - start.year) * 12 + today.month - start.month
    if months_back >= 3:
        assert "Earlier months" in html
        earlier = re.search(r'month=(\d{4}-\d{2})">Earlier months', html).group(1)
        shown = _captions(_page(client, c["id"], month=earlier))
        assert shown[0] == start.strftime("%B %Y")
    else:
        assert "Earlier months" not in html
    y, m = month_add(start.year, start.month, -1)
    assert date(y, m, 1).strftime("%B %Y") not in _captions(html)


def test_no_empty_not_marked_card(make_couple, login_as):
    riley, sam = make_couple()
    c = make_commitment(riley, "Starts tomorrow", days_back=0)
    for who in (riley, sam):
        html = _page(login_as(who), c["id"])
        card = re.search(r'<section class="card todo"[^>]*>', html).group(0)
        assert "hidden" in card, "nothing unmarked: the card is not shown"
    past = make_commitment(riley, "Started two days ago", days_back=2)
    html = _page(login_as(riley), past["id"])
    card = re.search(r'<section class="card todo"[^>]*>', html).group(0)
    assert "hidden" not in card
    for back in (1, 2):
        d = date.fromisoformat(day(past, back))
        assert short_date(d) in html


def test_history_lists_wording_marks_corrections_notes_and_acknowledgements(make_couple, login_as,
                                                                          monkeypatch):
    riley, sam = make_couple()
    # One minute between actions, so the order is the order they happened in.
    clock = iter(datetime(2026, 1, 5, 9, 0, tzinfo=UTC) + timedelta(minutes=i)
                 for i in range(1000))
    monkeypatch.setattr(ops, "utcnow", lambda: next(clock))
    c = make_commitment(riley, "Text when I leave work", days_back=3)
    cid, d2, d1 = c["id"], day(c, 2), day(c, 1)
    ops.mark_follow_through(user(riley), cid, d2, "kept", "texted at five")
    ops.acknowledge_mark(user(sam), cid, d2, "thank you")
    ops.mark_follow_through(user(riley), cid, d2, "missed", "texted late, honestly", base_version=1)
    ops.mark_follow_through(user(riley), cid, d1, "kept")
    ops.mark_follow_through(user(riley), cid, d1, "kept", "a note added later", base_version=1)
    ops.reword_commitment(user(riley), cid, "Text when I leave work, and when I arrive")
    t2, t1 = short_date(date.fromisoformat(d2)), short_date(date.fromisoformat(d1))

    seen_by_sam = _history(_page(login_as(sam), cid))
    whats = [line.split(" · ")[0] for line in seen_by_sam]
    assert whats == [
        "Riley reworded it: before “Text when I leave work”; "
        "now “Text when I leave work, and when I arrive”",
        f"Riley changed the note on {t1}",
        f"Riley marked {t1} kept",
        f"Riley corrected {t2}: now missed (was kept)",
        f"You noticed the mark on {t2}",
        f"Riley marked {t2} kept",
        "Riley made it",
    ], seen_by_sam
    # Each line says when, in the owner's time zone.
    assert all(re.search(r"· \w{3} \d{1,2} \w{3}, \d\d:\d\d$", line) for line in seen_by_sam)
    seen_by_riley = [line.split(" · ")[0] for line in _history(_page(login_as(riley), cid))]
    assert seen_by_riley[1] == f"You changed the note on {t1}"
    assert f"Sam noticed the mark on {t2}" in seen_by_riley
    # The corrected day still carries the partner's acknowledgement of what it said then.
    assert "(corrected)" in _page(login_as(riley), cid, day=d2)


def test_a_note_under_a_marked_day_has_its_own_save(make_couple, login_as):
    riley, sam = make_couple()
    c = make_commitment(riley, "Walk after dinner", days_back=1)
    cid, d1 = c["id"], day(c, 1)
    client = login_as(riley)
    html = _page(client, cid, day=d1)
    panel = html[html.index('id="day-panel"'):]
    assert re.search(r'class="secondary save-note" hidden', panel), "no save-note before a mark"
    client.post(f"/commitments/{cid}/days/{d1}/mark", data={"status": "missed"})
    panel = _page(client, cid, day=d1)
    panel = panel[panel.index('id="day-panel"'):]
    button = re.search(r'<button[^>]*save-note[^>]*>', panel).group(0)
    assert 'value="missed"' in button and "hidden" not in button
    # The form as a browser without JavaScript sends it: the note alone changes.
    r = client.post(f"/commitments/{cid}/days/{d1}/mark",
                    data={"status": "missed", "note": "Rained; I stayed in.", "version": "1"})
    assert r.status_code == 303
    mark = client.get("/api/state").get_json()["data"]["commitment_marks"][f"{cid}:{d1}"]
    assert mark["status"] == "missed" and mark["note"] == "Rained; I stayed in."
    assert mark["corrected_at"] is None, "a note is not a correction"
    assert mark["version"] == 2


def test_hostile_month_and_day_parameters_are_answered_calmly(make_couple, login_as):
    riley, sam = make_couple()
    c = make_commitment(riley, "Walk", days_back=40)
    client = login_as(sam)
    # A NUL anywhere in a request is refused before any view, in words (web.UnstorableText).
    r = client.get(f"/commitments/{c['id']}?month=%00%00%00%00-%00%00")
    assert r.status_code == 400 and "cannot be saved" in r.get_data(as_text=True)
    for query in ("month=2200-12", "month=1999-13", "month=20x6-01",
                  "month=" + "9" * 5000, "day=2026-02-30", "day=%ED%A0%80%ED%A0%80",
                  "day=0001-01-01", "month=0000-00&day=9999-12-31", "month=%FF%FE"):
        r = client.get(f"/commitments/{c['id']}?{query}")
        assert r.status_code == 200, query
        shown = _captions(r.get_data(as_text=True))
        assert 1 <= len(shown) <= 3, query


def test_marks_made_before_the_log_existed_are_still_in_the_history(make_couple, login_as):
    """Marks from before this history (no log rows) are told from the mark itself."""
    from sqlalchemy import delete

    from couple.commitments.models import MARK_LOG_KINDS, CommitmentChange
    from couple.extensions import db

    riley, sam = make_couple()
    c = make_commitment(riley, "Old habit", days_back=3)
    cid = c["id"]
    ops.mark_follow_through(user(riley), cid, day(c, 3), "kept")
    ops.mark_follow_through(user(riley), cid, day(c, 2), "kept")
    ops.mark_follow_through(user(riley), cid, day(c, 2), "missed", base_version=1)
    db.session.execute(delete(CommitmentChange).where(CommitmentChange.kind.in_(MARK_LOG_KINDS)))
    db.session.commit()
    t3, t2 = (short_date(date.fromisoformat(day(c, n))) for n in (3, 2))
    lines = [line.split(" · ")[0] for line in _history(_page(login_as(sam), cid))]
    assert f"Riley marked {t3} kept" in lines
    assert f"Riley marked {t2} (corrected later)" in lines
    # A new mark on a day with no log yet is logged and told once, not twice.
    ops.mark_follow_through(user(riley), cid, day(c, 1), "kept")
    lines = [line.split(" · ")[0] for line in _history(_page(login_as(sam), cid))]
    t1 = short_date(date.fromisoformat(day(c, 1)))
    assert lines.count(f"Riley marked {t1} kept") == 1
