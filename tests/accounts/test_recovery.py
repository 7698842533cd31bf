"""Account recovery, confirmed addresses and a sign-up that tells nobody who has an account
(issue 13), against the real SMTP server of tests/support/mail_helpers.py."""
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, update

from couple.accounts.models import AccountToken, LoginSession, User
from couple.extensions import db
from couple.models_base import utcnow
from tests.conftest import PASSWORD, login
from tests.support.mail_helpers import body_of, everything_sent, link_in

NEW_PASSWORD = "a completely different passphrase"


@pytest.fixture
def app(app_factory, smtp_server):
    # Every fixture of conftest (client, make_user, login_as...) uses this app, which mails
    # through the real SMTP server.
    app = app_factory(SMTP_URL=smtp_server.url)
    with app.app_context():
        yield app


@pytest.fixture
def confirmed(make_user, smtp_server):
    """make a user whose address is confirmed (as by the link), with no mail left over."""

    def factory(**kwargs):
        user = make_user(**kwargs)
        db.session.execute(update(User).where(User.id == user.id)
                           .values(email_verified_at=utcnow()))
        db.session.commit()
        return db.session.get(User, user.id)

    return factory


def _path(url: str) -> str:
    return urlsplit(url).path


def _forgot(client, email):
    return client.post("/forgot", data={"email": email})


def _reset_link(smtp_server, email, count=1):
    return _path(link_in(smtp_server.wait_for(to=email, count=count), "/reset/"))


def _sessions(user_id):
    db.session.rollback()
    return db.session.scalars(select(LoginSession).where(LoginSession.user_id == user_id)).all()


# -- recovery --------------------------------------------------------------------------------

def test_recovery_sets_a_new_password_once_and_signs_every_device_out(
        app, client, confirmed, login_as, socket_for, smtp_server):
    user = confirmed()
    phone, laptop = login_as(user), login_as(user, remember=True)
    sock = socket_for(laptop)
    assert sock.is_connected()
    response = _forgot(client, user.email)
    assert response.status_code == 303 and _path(response.headers["Location"]) == "/forgot/sent"
    message = smtp_server.wait_for(to=user.email)
    assert message["Subject"] == "Your sign-in link"
    link = _reset_link(smtp_server, user.email)
    assert client.get(link).status_code == 200
    response = client.post(link, data={"new_password": NEW_PASSWORD})
    assert response.status_code == 303 and _path(response.headers["Location"]) == "/login"
    # Every session ended and the open socket was cut, as after a password change.
    assert _sessions(user.id) == []
    assert not sock.is_connected()
    for device in (phone, laptop):
        assert device.get("/home").status_code == 302
    # The old password no longer works, the new one does.
    refused = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert refused.status_code == 400
    login(app.test_client(), user, password=NEW_PASSWORD)
    # Single use: the same link again is refused, and changes nothing.
    assert client.get(link).status_code == 404
    again = app.test_client().post(link, data={"new_password": "yet another passphrase here"})
    assert again.status_code == 400 and "does not work" in again.get_data(as_text=True)
    login(app.test_client(), user, password=NEW_PASSWORD)


def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account(
        app, confirmed, make_user, smtp_server):
    known, unconfirmed = confirmed(), make_user()
    smtp_server.clear()
    answers = []
    for email in (known.email, unconfirmed.email, "nobody-here@example.com"):
        response = app.test_client().post("/forgot", data={"email": email})
        answers.append((response.status_code, response.headers["Location"]))
    assert len(set(answers)) == 1
    page = app.test_client().get("/forgot/sent").get_data(as_text=True)
    assert "If that address belongs to an account" in page
    smtp_server.wait_for(to=known.email)
    # Only a confirmed address of an account gets anything.
    assert [m["To"] for m in smtp_server.messages] == [known.email]


def test_a_recovery_link_expires_after_30_minutes(app, client, confirmed, smtp_server):
    user = confirmed()
    _forgot(client, user.email)
    link = _reset_link(smtp_server, user.email)
    row = db.session.scalar(select(AccountToken).where(AccountToken.user_id == user.id,
                                                       AccountToken.purpose == "recovery"))
    assert timedelta(minutes=29) < row.expires_at - row.created_at <= timedelta(minutes=30)
    db.session.execute(update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert client.get(link).status_code == 404
    assert client.post(link, data={"new_password": NEW_PASSWORD}).status_code == 400
    login(app.test_client(), user)  # unchanged


def test_the_token_is_stored_hashed_and_a_new_link_replaces_the_old(app, client, confirmed,
                                                                      smtp_server):
    user = confirmed()
    _forgot(client, user.email)
    first = _reset_link(smtp_server, user.email)
    _forgot(client, user.email)
    second = _reset_link(smtp_server, user.email, count=2)
    token = first.rsplit("/", 1)[1]
    stored = db.session.scalars(select(AccountToken.token_hash)).all()
    assert token not in stored and all(len(h) == 64 for h in stored)
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200


def test_a_weak_new_password_is_refused_and_the_link_still_works(app, client, confirmed,
                                                                    smtp_server):
    user = confirmed()
    _forgot(client, user.email)
    link = _reset_link(smtp_server, user.email)
    response = client.post(link, data={"new_password": "short"})
    assert response.status_code == 400 and "at least 8" in response.get_data(as_text=True)
    assert client.post(link, data={"new_password": NEW_PASSWORD}).status_code == 303


def test_recovery_never_touches_the_couple(app, client, make_couple, confirmed, login_as,
                                           smtp_server):
    rebuilding, supporting = make_couple(rebuilding=confirmed(name="Riley"),
                                         supporting=confirmed(name="Sam"))
    couple_id = rebuilding.couple_id
    partner = login_as(supporting)
    _forgot(client, rebuilding.email)
    client.post(_reset_link(smtp_server, rebuilding.email), data={"new_password": NEW_PASSWORD})
    db.session.expire_all()
    assert db.session.get(User, rebuilding.id).couple_id == couple_id
    assert db.session.get(User, supporting.id).couple_id == couple_id
    assert partner.get("/home").status_code == 200  # the partner stays signed in
    assert len(_sessions(supporting.id)) == 1


def test_export_and_delete_work_after_recovery(app, client, confirmed, smtp_server):
    user = confirmed()
    user_id = user.id
    _forgot(client, user.email)
    client.post(_reset_link(smtp_server, user.email), data={"new_password": NEW_PASSWORD})
    me = app.test_client()
    login(me, user, password=NEW_PASSWORD)
    export = me.get("/account/export")
    assert export.status_code == 200 and export.json["account"]["email"] == user.email
    response = me.post("/account/delete", data={"password": NEW_PASSWORD, "confirm": "y"})
    assert response.status_code == 303
    db.session.expunge_all()
    assert db.session.get(User, user_id) is None


def test_forgot_is_rate_limited_per_address_and_per_client(app_factory, smtp_server):
    app = app_factory(SMTP_URL=smtp_server.url)
    with app.app_context():
        client = app.test_client()
        for _ in range(5):
            assert _forgot(client, "target@example.com").status_code == 303
        # The sixth for one address, from anywhere: refused (nobody is mail-bombed).
        other = app.test_client()
        other.environ_base["REMOTE_ADDR"] = "10.0.0.9"
        assert _forgot(other, "target@example.com").status_code == 429
        # One client asking for many addresses: refused after ten.
        for n in range(5):
            assert _forgot(client, f"other{n}@example.com").status_code == 303
        assert _forgot(client, "one-more@example.com").status_code == 429


# -- sign-up ----------------------------------------------------------------------------------

def _signup(client, email, password=PASSWORD, name="Someone"):
    return client.post("/signup", data={"display_name": name, "email": email,
                                        "password": password})


def test_signup_answers_the_same_for_a_taken_address_and_tells_its_owner(
        app, make_user, smtp_server):
    owner = make_user(name="Owner Name")
    smtp_server.clear()
    fresh = _signup(app.test_client(), "fresh@example.com")
    taken = _signup(app.test_client(), owner.email.upper(), password="another long passphrase")
    assert fresh.status_code == taken.status_code == 303
    assert fresh.headers["Location"] == taken.headers["Location"]
    assert _path(fresh.headers["Location"]) == "/signup/sent"
    # Neither is signed in by it: the answer must not differ.
    for response in (fresh, taken):
        assert "remember_token" not in response.headers.get("Set-Cookie", "")
    note = smtp_server.wait_for(to=owner.email)
    assert "already has one" in body_of(note) and "/forgot" in body_of(note)
    verify = smtp_server.wait_for(to="fresh@example.com")
    assert "/confirm/" in body_of(verify)
    # The owner's account is untouched; the new one works with its own password.
    login(app.test_client(), owner)
    assert db.session.scalar(select(User).where(User.email == "fresh@example.com")) is not None
    assert db.session.scalars(select(User)).all().__len__() == 2


def test_signup_refusals_are_the_same_for_taken_and_free_addresses(app, make_user):
    owner = make_user()
    for email in (owner.email, "free@example.com"):
        response = _signup(app.test_client(), email, password="short")
        assert response.status_code == 400
        assert "at least 8" in response.get_data(as_text=True)


# -- confirming addresses ---------------------------------------------------------------------

def test_a_new_address_is_confirmed_by_its_link_and_then_recovery_works(app, smtp_server):
    client = app.test_client()
    _signup(client, "new@example.com")
    link = _path(link_in(smtp_server.wait_for(to="new@example.com"), "/confirm/"))
    user = db.session.scalar(select(User).where(User.email == "new@example.com"))
    assert user.email_verified_at is None
    # The account works meanwhile; recovery does not (nothing is sent).
    login(app.test_client(), user)
    _forgot(app.test_client(), "new@example.com")
    assert len(smtp_server.to("new@example.com")) == 1
    # Opening the link shows a button; a GET changes nothing.
    assert client.get(link).status_code == 200
    db.session.expire_all()
    assert db.session.get(User, user.id).email_verified_at is None
    assert client.post(link).status_code == 303
    db.session.expire_all()
    assert db.session.get(User, user.id).email_verified_at is not None
    assert client.get(link).status_code == 404  # used
    _forgot(app.test_client(), "new@example.com")
    assert "/reset/" in link_in(smtp_server.wait_for(to="new@example.com", count=2), "/reset/")


def test_resend_confirmation_from_the_account_page(app, make_user, login_as, smtp_server):
    user = make_user()
    me = login_as(user)
    assert "Not confirmed yet" in me.get("/account").get_data(as_text=True)
    assert me.post("/account/confirm").status_code == 303
    link = _path(link_in(smtp_server.wait_for(to=user.email), "/confirm/"))
    assert me.post(link).status_code == 303
    assert "Confirmed" in me.get("/account").get_data(as_text=True)


def test_changing_the_address_asks_for_the_password_confirms_and_tells_the_old_one(
        app, confirmed, login_as, smtp_server):
    user = confirmed()
    old = user.email
    me = login_as(user)
    wrong = me.post("/account/email", data={"new_email": "moved@example.com",
                                            "email_password": "not my password"})
    assert wrong.status_code == 400 and "not your password" in wrong.get_data(as_text=True)
    assert me.post("/account/email", data={"new_email": "moved@example.com",
                                           "email_password": PASSWORD}).status_code == 303
    link = _path(link_in(smtp_server.wait_for(to="moved@example.com"), "/confirm/"))
    db.session.expire_all()
    assert db.session.get(User, user.id).email == old  # not before the link is opened
    assert me.post(link).status_code == 303
    db.session.expire_all()
    changed = db.session.get(User, user.id)
    assert changed.email == "moved@example.com" and changed.email_verified_at is not None
    told = smtp_server.wait_for(to=old)
    assert told["Subject"] == "Your email address was changed"
    assert "moved@example.com" not in everything_sent(told)
    login(app.test_client(), changed)


def test_changing_to_a_taken_address_answers_the_same_and_changes_nothing(
        app, confirmed, make_user, login_as, smtp_server):
    user, other = confirmed(), make_user()
    smtp_server.clear()
    me = login_as(user)
    response = me.post("/account/email", data={"new_email": other.email,
                                               "email_password": PASSWORD})
    assert response.status_code == 303
    note = smtp_server.wait_for(to=other.email)
    assert "/confirm/" not in body_of(note)
    db.session.expire_all()
    assert db.session.get(User, user.id).email == user.email


def test_the_mails_say_nothing_of_the_app_the_people_or_what_they_wrote(
        app, make_couple, confirmed, login_as, smtp_server):
    canary = "CANARY-private-reflection-7f3a"
    rebuilding, supporting = make_couple(rebuilding=confirmed(name="Riley Quillfeather"),
                                         supporting=confirmed(name="Sam Ondergast"))
    me = login_as(rebuilding)
    assert me.post("/guide/steps/1/reflection", json={"text": canary}).status_code < 400
    _signup(app.test_client(), supporting.email)
    _forgot(app.test_client(), rebuilding.email)
    me.post("/account/email", data={"new_email": "elsewhere@example.com",
                                    "email_password": PASSWORD})
    link = _path(link_in(smtp_server.wait_for(to="elsewhere@example.com"), "/confirm/"))
    me.post(link)
    smtp_server.wait_for(to=rebuilding.email, count=2)
    assert len(smtp_server.messages) >= 4
    for message in smtp_server.messages:
        sent = everything_sent(message).lower()
        for secret in (canary.lower(), "riley", "quillfeather", "sam", "ondergast", "couple",
                       "partner", "reflection", "boundar", "commitment"):
            assert secret not in sent.replace("couple.test", ""), (secret, message["Subject"])


# -- hostile input on the new forms (security.md E) -------------------------------------------

HOSTILE_TEXT = ["a\x00b", "\x00", "x@example.com\x00", "a" * 5000]
DEEP = "[" * 60000 + "]" * 60000


def _refused(client, path, body, *, raw=False, expect=(400,)):
    from tests.support.security_helpers import diff, snapshot

    before = snapshot()
    if raw:
        response = client.post(path, data=body.encode("utf-8", "surrogatepass"),
                               content_type="application/json",
                               headers={"Accept": "application/json"})
    else:
        response = client.post(path, data=body)
    text = response.get_data(as_text=True)
    assert response.status_code in expect, (path, response.status_code, text[:300])
    assert text.strip() and "Traceback" not in text
    if response.is_json:
        assert response.get_json()["error"]
    assert diff(before, snapshot()) == {}, f"{path}: a refused body changed rows"
    return response


def test_hostile_bodies_on_the_new_forms_are_a_worded_400_that_changes_nothing(
        app_factory, smtp_server, caplog):
    import logging

    from couple.accounts.operations import sign_up

    caplog.set_level(logging.ERROR)
    app = app_factory(SMTP_URL=smtp_server.url, RATELIMIT_ENABLED=False)
    with app.app_context():
        user = sign_up("hostile@example.com", "H", PASSWORD)
        db.session.execute(update(User).values(email_verified_at=utcnow()))
        db.session.commit()
        anonymous = app.test_client()
        anonymous.post("/forgot", data={"email": user.email})
        reset = _path(link_in(smtp_server.wait_for(to=user.email), "/reset/"))
        me = app.test_client()
        login(me, user)
        for text in HOSTILE_TEXT:
            _refused(anonymous, "/forgot", {"email": text})
            _refused(anonymous, "/forgot", {"email": user.email + text})
            _refused(anonymous, reset, {"new_password": text if len(text) < 9 else "x" * 2000})
            _refused(me, "/account/email", {"new_email": text, "email_password": PASSWORD})
            _refused(me, "/account/email", {"new_email": "ok@example.com",
                                            "email_password": text})
            _refused(anonymous, "/signup", {"display_name": "x", "email": text,
                                            "password": PASSWORD})
        for path, field in (("/forgot", "email"), (reset, "new_password"),
                            ("/account/email", "new_email")):
            client = me if path.startswith("/account") else anonymous
            _refused(client, path, DEEP, raw=True)
            for raw in ('"a\\ud800b"', '"a\\u0000b"', "1e400", "[Infinity]"):
                _refused(client, path, '{"' + field + '": ' + raw + "}", raw=True)
        # A token that is not one, in every shape: 404 to look at, 400 to use; nothing changes.
        for token in ["x", "a" * 5000, "%00", "a%00b", "..", "x" * 43]:
            assert anonymous.get(f"/reset/{token}").status_code in (400, 404)
            _refused(anonymous, f"/reset/{token}", {"new_password": "a long new passphrase"},
                     expect=(400, 404))
            _refused(anonymous, f"/confirm/{token}", {}, expect=(400, 404))
        # The real link still works afterwards.
        assert anonymous.post(reset, data={"new_password": NEW_PASSWORD}).status_code == 303
    assert "Traceback" not in caplog.text and "Exception on" not in caplog.text


def test_signup_tries_on_one_address_are_limited_so_its_owner_is_not_flooded(
        app_factory, smtp_server):
    from couple.accounts.operations import sign_up

    app = app_factory(SMTP_URL=smtp_server.url)
    with app.app_context():
        owner = sign_up("flooded@example.com", "F", PASSWORD)
        for _ in range(6):  # refused sign-ups (a too-short password) do not count
            assert _signup(app.test_client(), owner.email, password="short").status_code == 400
        for n in range(5):
            client = app.test_client()
            client.environ_base["REMOTE_ADDR"] = f"10.0.1.{n}"
            assert _signup(client, owner.email).status_code == 303
        late = app.test_client()
        late.environ_base["REMOTE_ADDR"] = "10.0.2.1"
        assert _signup(late, owner.email).status_code == 429
        # The same limit for an address nobody has: the 429 tells nothing either.
        for _ in range(5):
            _signup(app.test_client(), "free-address@example.com")
        assert _signup(app.test_client(), "free-address@example.com").status_code == 429
        smtp_server.wait_for(to=owner.email, count=5)
        assert len(smtp_server.to(owner.email)) == 5


def test_a_change_of_address_that_lost_a_race_is_refused_not_a_500(
        app, confirmed, make_user, login_as, smtp_server):
    user = confirmed()
    me = login_as(user)
    me.post("/account/email", data={"new_email": "raced@example.com",
                                    "email_password": PASSWORD})
    link = _path(link_in(smtp_server.wait_for(to="raced@example.com"), "/confirm/"))
    make_user(email="raced@example.com")  # someone signs up with it before the link is opened
    response = me.post(link)
    assert response.status_code == 400 and "does not work" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).email == user.email


@pytest.mark.parametrize("backend",
                         ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_one_link_used_twice_at_once_sets_one_password(request, app_factory, smtp_server,
                                                        backend):
    """Single use holds when two requests race with the same link (a double click, or the
    link opened on two devices): one sets its password, the other is told the link is used."""
    import threading

    from couple.accounts.operations import sign_up

    overrides = {"SMTP_URL": smtp_server.url, "RATELIMIT_ENABLED": False}
    if backend == "postgres":
        overrides["SQLALCHEMY_DATABASE_URI"] = request.getfixturevalue("postgres_url")
    app = app_factory(**overrides)
    with app.app_context():
        user = sign_up("race@example.com", "R", PASSWORD)
        db.session.execute(update(User).values(email_verified_at=utcnow()))
        db.session.commit()
        app.test_client().post("/forgot", data={"email": user.email})
        link = _path(link_in(smtp_server.wait_for(to=user.email), "/reset/"))
        clients = [app.test_client(), app.test_client()]
        tokens = [c.csrf_token() for c in clients]
        passwords = ["first racing passphrase", "second racing passphrase"]
        results = [None, None]
        barrier = threading.Barrier(2)

        def use(i):
            barrier.wait()
            results[i] = clients[i].post(link, data={"new_password": passwords[i]}, csrf=False,
                                         headers={"X-CSRFToken": tokens[i]}).status_code

        threads = [threading.Thread(target=use, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert sorted(results) == [303, 400], results
        winner = passwords[results.index(303)]
        login(app.test_client(), user, password=winner)
        loser = passwords[results.index(400)]
        assert app.test_client().post("/login", data={"email": user.email,
                                                      "password": loser}).status_code == 400
