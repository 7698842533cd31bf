"""Sessions and passwords (security.md C.13-C.18)."""
import os
import stat

import pytest
from argon2 import PasswordHasher, Type

from couple import config as config_module
from couple.accounts.models import LoginSession, User
from couple.extensions import db
from tests.conftest import PASSWORD, login
from tests.support.security_helpers import client_with_cookies, cookies_of


def _set_cookies(response) -> dict:
    out = {}
    for header in response.headers.getlist("Set-Cookie"):
        name = header.split("=", 1)[0]
        out[name] = header
    return out


def _flags(header: str) -> set[str]:
    """'HttpOnly', 'Secure', 'SameSite=Lax' ... of a Set-Cookie header, lower-cased."""
    parts = [p.strip().lower() for p in header.split(";")[1:]]
    return {p.split("=")[0] for p in parts} | {p for p in parts if p.startswith("samesite")}


def test_session_and_remember_cookies_are_httponly_lax_and_not_secure_over_http(app, make_user):
    user = make_user()
    client = app.test_client()
    response = login(client, user, remember=True)
    cookies = _set_cookies(response)
    assert {"session", "remember_token"} <= set(cookies)
    for name in ("session", "remember_token"):
        flags = _flags(cookies[name])
        assert "httponly" in flags, cookies[name]
        assert "samesite=lax" in flags, cookies[name]
        assert "secure" not in flags, cookies[name]  # plain http: a Secure cookie would be lost
    # Flask-Login's default is 365 days; ours is 30.
    assert "Max-Age=2592000" in cookies["remember_token"] or "Expires=" in cookies["remember_token"]


def test_cookies_are_secure_when_served_over_https(app_factory, monkeypatch, tmp_path):
    monkeypatch.setenv("COUPLE_HTTPS", "1")
    settings = config_module.from_environment(tmp_path)
    for key in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
                "REMEMBER_COOKIE_HTTPONLY"):
        assert settings[key] is True, key
    assert settings["SESSION_COOKIE_SAMESITE"] == settings["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    app = app_factory(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    with app.app_context():
        from couple.accounts.operations import sign_up

        sign_up("secure@example.com", "Sec", PASSWORD)
        client = app.test_client()
        https = "https://couple.test"
        token = client.get("/login", base_url=https).get_data(as_text=True).split(
            'name="csrf-token" content="')[1].split('"')[0]
        # Over https Flask-WTF also checks that the Referer is this site.
        response = client.post("/login", base_url=https, csrf=False,
                               headers={"Referer": https + "/login"}, data={
            "csrf_token": token, "email": "secure@example.com", "password": PASSWORD,
            "remember": "y"})
        assert response.status_code == 303
    cookies = _set_cookies(response)
    for name in ("session", "remember_token"):
        assert "secure" in _flags(cookies[name]), cookies[name]


def test_secret_key_is_generated_per_instance_never_hard_coded(tmp_path, monkeypatch):
    monkeypatch.delenv("COUPLE_SECRET_KEY", raising=False)
    first = config_module.from_environment(tmp_path)["SECRET_KEY"]
    again = config_module.from_environment(tmp_path)["SECRET_KEY"]
    (tmp_path / "elsewhere").mkdir()
    other = config_module.from_environment(tmp_path / "elsewhere")["SECRET_KEY"]
    assert first == again and first != other and len(first) >= 40
    assert stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode) == 0o600


def test_a_cookie_replayed_after_logout_signs_nobody_in(app, make_user):
    user = make_user()
    client = app.test_client()
    login(client, user, remember=True)
    captured = cookies_of(client)
    assert client.get("/home").status_code == 200
    assert client.post("/logout").status_code == 303
    # The whole jar, and the remember cookie alone (no session cookie), sign nobody in.
    assert client_with_cookies(app, captured).get("/home").status_code == 302
    remember_only = [c for c in captured if c[0] == "remember_token"]
    assert remember_only
    assert client_with_cookies(app, remember_only).get("/home").status_code == 302


def test_the_remember_cookie_alone_signs_in_until_logout(app, make_user):
    user = make_user()
    client = app.test_client()
    login(client, user, remember=True)
    remember_only = [c for c in cookies_of(client) if c[0] == "remember_token"]
    assert client_with_cookies(app, remember_only).get("/home").status_code == 200


def test_login_starts_a_fresh_session(app, make_user):
    """C.16: session.clear() on login: nothing planted before login survives it."""
    user = make_user()
    client = app.test_client()
    with client.session_transaction() as s:
        s["planted"] = "by someone else"
    login(client, user)
    with client.session_transaction() as s:
        assert "planted" not in s


def test_password_change_ends_every_other_session_and_remember_token(app, make_user):
    user = make_user()
    user_id = user.id
    mine, phone, laptop = app.test_client(), app.test_client(), app.test_client()
    login(mine, user)
    login(phone, user, remember=True)
    login(laptop, user)
    phone_jar = cookies_of(phone)
    response = mine.post("/account/password", data={"current_password": PASSWORD,
                                                    "new_password": "another long passphrase"})
    assert response.status_code == 303
    assert mine.get("/home").status_code == 200
    assert phone.get("/home").status_code == 302
    assert laptop.get("/home").status_code == 302
    assert client_with_cookies(app, [c for c in phone_jar if c[0] == "remember_token"]).get(
        "/home").status_code == 302
    db.session.expire_all()
    assert db.session.query(LoginSession).filter_by(user_id=user_id).count() == 1


def test_hashes_are_argon2id_and_weaker_ones_are_rehashed_at_login(app_factory):
    from couple.accounts.operations import sign_up

    # The production cost (the suite's other in-process apps hash at argon2's cheapest).
    app = app_factory(PASSWORD_HASHER=None)
    with app.app_context():
        user = sign_up("rehash@example.com", "R", PASSWORD)
        assert user.password_hash.startswith("$argon2id$")
        assert not PasswordHasher().check_needs_rehash(user.password_hash)
        weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1,
                              type=Type.ID).hash(PASSWORD)
        user.password_hash = weak
        db.session.commit()
        login(app.test_client(), user)
        db.session.expire_all()
        stored = db.session.get(User, user.id).password_hash
        assert stored != weak and stored.startswith("$argon2id$")
        assert not PasswordHasher().check_needs_rehash(stored)
        assert "$m=65536,t=3,p=4$" in stored


def test_every_deployment_hashes_at_the_production_cost(tmp_path, monkeypatch):
    """The cheap argon2 profile the in-process suite uses cannot be switched on by
    configuration a deployment reads, and an app that is not TESTING refuses it."""
    from couple import create_app
    from couple.accounts.operations import PRODUCTION_HASHER, hasher

    monkeypatch.setenv("COUPLE_PASSWORD_HASHER", "cheapest-for-tests")
    monkeypatch.setenv("PASSWORD_HASHER", "cheapest-for-tests")
    monkeypatch.setenv("COUPLE_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("COUPLE_DATABASE_URL", f"sqlite:///{tmp_path / 'p.sqlite3'}")
    app = create_app()
    with app.app_context():
        assert hasher() is PRODUCTION_HASHER
        params = hasher()
        assert (params.time_cost, params.memory_cost, params.parallelism) == (3, 65536, 4)
    app.config["PASSWORD_HASHER"] = "cheapest-for-tests"
    with app.app_context(), pytest.raises(RuntimeError, match="only for TESTING"):
        hasher()


def _signup(client, password, email):
    return client.post("/signup", data={"display_name": "P", "email": email,
                                        "password": password})


def test_password_rules(app):
    client = app.test_client()
    assert _signup(client, "seven77", "a@example.com").status_code == 400
    # Common passwords are refused, whatever their case; so is the email itself.
    assert _signup(client, "Password123", "b@example.com").status_code == 400
    assert _signup(client, "c@example.com", "c@example.com").status_code == 400
    # No composition rules: eight lowercase letters are fine.
    assert _signup(app.test_client(), "lkjhgfds", "d@example.com").status_code == 303
    # Long passwords are kept whole: a 300-character one, and its 299-character prefix fails.
    long_password = ("tangerine " * 30)[:299] + "!"
    assert _signup(app.test_client(), long_password, "e@example.com").status_code == 303
    user = db.session.query(User).filter_by(email="e@example.com").one()
    login(app.test_client(), user, password=long_password)
    wrong = app.test_client().post("/login", data={"email": "e@example.com",
                                                   "password": long_password[:-1]})
    assert wrong.status_code == 400


def test_https_forms_work_with_the_referrer_policy(app_factory):
    """Over https Flask-WTF refuses a POST without a same-site Referer, so the page's referrer
    policy must let the browser send one to its own origin (and to no other)."""
    app = app_factory(SESSION_COOKIE_SECURE=True)
    page = app.test_client().get("/login", base_url="https://couple.test")
    policy = page.headers["Referrer-Policy"]
    assert app.config.get("WTF_CSRF_SSL_STRICT", True)
    assert policy in ("same-origin", "strict-origin", "strict-origin-when-cross-origin")
    html = page.get_data(as_text=True)
    assert '<meta name="referrer" content="no-referrer">' not in html
    assert f'<meta name="referrer" content="{policy}">' in html or 'name="referrer"' not in html
