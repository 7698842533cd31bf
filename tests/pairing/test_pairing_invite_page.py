"""The invitation page (issue 12, item 8): a fresh 72-hour invitation says "72 hours", the page
says plainly that a new invitation cancels the open one, and the code does exactly that."""
import re
from datetime import timedelta

from couple.pairing import routes as pairing_routes


def _invite(client, role="rebuilding"):
    r = client.post("/pair/invite", data={"role": role})
    assert r.status_code == 303
    page = client.get("/pair").get_data(as_text=True)
    link = re.search(r'<textarea id="invite-link"[^>]*>([^<]+)</textarea>', page).group(1)
    return page, link


def test_a_fresh_invitation_says_72_hours(app, make_user, login_as):
    client = login_as(make_user())
    page, _link = _invite(client)
    assert "stops working in 72 hours." in page


def test_hours_round_to_the_nearest_and_the_last_hour_says_so(app, make_user, login_as,
                                                              monkeypatch):
    client = login_as(make_user())
    _invite(client)
    real = pairing_routes.utcnow
    for later, words in ((timedelta(minutes=20), "72 hours"), (timedelta(minutes=40), "71 hours"),
                         (timedelta(hours=1, seconds=1), "71 hours"),
                         (timedelta(hours=70, minutes=20), "2 hours"),
                         (timedelta(hours=70, minutes=40), "1 hour"),
                         (timedelta(hours=71, minutes=1), "less than an hour")):
        monkeypatch.setattr(pairing_routes, "utcnow", lambda later=later: real() + later)
        assert f"stops working in {words}." in client.get("/pair").get_data(as_text=True), words


def test_the_page_says_a_new_invitation_cancels_the_open_one_and_it_does(app, make_user, login_as):
    client = login_as(make_user())
    page, first = _invite(client)
    assert "This cancels the invitation above" in page
    assert "Cancel the old one and create a new invitation" in page
    # Copy and Share are there for the script to reveal (hidden without JavaScript).
    assert re.search(r'<button type="button" id="copy-link" hidden>Copy link</button>', page)
    assert re.search(r'<button type="button" id="share-link" class="secondary" hidden>', page)
    _page, second = _invite(client, "supporting")
    assert first != second
    guest = login_as(make_user(name="Sam"))
    assert guest.get(first.replace("http://localhost", "")).status_code == 404, \
        "the old link stopped working, as the page said"
    assert "invites you" in guest.get(second.replace("http://localhost", "")).get_data(as_text=True)


def test_without_an_invitation_the_page_promises_nothing_about_cancelling(app, make_user, login_as):
    page = login_as(make_user()).get("/pair").get_data(as_text=True)
    assert "This cancels" not in page and "Create invitation" in page
