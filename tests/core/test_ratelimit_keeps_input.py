"""A 429 keeps what the person typed (issue 12, item 10): the form's own page comes back with the
submitted fields, the reason on top and status 429; passwords are never written into a page.
Rate limits are on in the `app` fixture (the matrix turns them off)."""
import html
import re

from couple.pairing import operations as pairing

NAME = "Jordan <b>& co</b>"
EMAIL = "jordan.typed@example.com"


def _values(body: str, name: str) -> list[str]:
    return [html.unescape(v) for v in re.findall(rf'name="{name}"[^>]*value="([^"]*)"', body)
            + re.findall(rf'value="([^"]*)"[^>]*name="{name}"', body)]


def test_signup_after_too_many_tries_keeps_name_and_email(app):
    client = app.test_client()
    for n in range(10):
        client.post("/signup", data={"display_name": "x", "email": f"s{n}@example.com",
                                     "password": "short"})
    secret = "a long password nobody should see again"
    r = client.post("/signup", data={"display_name": NAME, "email": EMAIL, "password": secret})
    body = r.get_data(as_text=True)
    assert r.status_code == 429
    assert "Too many tries" in body and "type your password again" in body
    assert NAME in _values(body, "display_name") and EMAIL in _values(body, "email")
    assert "<b>& co</b>" not in body, "what was typed comes back as text, escaped"
    assert secret not in body, "a password is never written back into a page"
    assert 'role="alert"' in body


def test_login_after_too_many_tries_keeps_the_email(app):
    client = app.test_client()
    for n in range(10):
        client.post("/login", data={"email": f"nobody{n}@example.com", "password": "wrong one!"})
    r = client.post("/login", data={"email": EMAIL, "password": "wrong again!"})
    body = r.get_data(as_text=True)
    assert r.status_code == 429 and EMAIL in _values(body, "email")
    assert "wrong again!" not in body
    assert "That email and password do not match" not in body, "a limit is not a failed login"


def test_a_typed_code_survives_the_limit(app, make_user, login_as):
    guesser = login_as(make_user())
    for _ in range(10):
        assert guesser.post("/pair/code", data={"code": "ABCDE-FGHJK"}).status_code == 303
    r = guesser.post("/pair/code", data={"code": "QRSTU-VWXYZ"})
    body = r.get_data(as_text=True)
    assert r.status_code == 429
    assert _values(body, "code") == ["QRSTU-VWXYZ"]
    assert "up to an hour" in body and "What you typed is still below" in body
    # Hostile input is cut to the field's length and escaped, and nothing breaks.
    r = guesser.post("/pair/code", data={"code": '"><script>x</script>' + "Z" * 5000})
    assert r.status_code == 429
    assert "<script>x" not in r.get_data(as_text=True)
    assert len(_values(r.get_data(as_text=True), "code")[0]) <= 20
    # A NUL is refused in words before any limit or view runs (web.UnstorableText).
    r = guesser.post("/pair/code", data={"code": "ABCDE\x00FGHJK"})
    assert r.status_code == 400 and "cannot be saved" in r.get_data(as_text=True)


def test_the_chosen_role_survives_the_limit(app, make_user, login_as):
    client = login_as(make_user())
    for _ in range(20):
        assert client.post("/pair/invite", data={"role": "supporting"}).status_code == 303
    r = client.post("/pair/invite", data={"role": "rebuilding"})
    body = r.get_data(as_text=True)
    assert r.status_code == 429
    checked = re.findall(r'<input type="radio" name="role" value="(\w+)" required checked>', body)
    assert checked == ["rebuilding"]


def test_accept_after_the_limit_shows_the_same_invitation_again(app, make_user, login_as):
    inviter, guest = make_user(name="Riley"), make_user(name="Sam")
    _invite, token, _code = pairing.create_invite(inviter, "rebuilding")
    client = login_as(guest)
    for _ in range(20):
        assert client.post("/pair/accept", data={"token": "v" * 43}).status_code == 404
    r = client.post("/pair/accept", data={"token": token})
    body = r.get_data(as_text=True)
    assert r.status_code == 429
    assert "Riley invites you" in body and _values(body, "token")[0] == token
    # An unknown invitation after the limit: the plain 429 page, no traceback.
    r = client.post("/pair/accept", data={"token": "w" * 43})
    assert r.status_code == 429 and "Too many tries" in r.get_data(as_text=True)


def test_the_json_path_gets_a_json_429(app, make_user, login_as):
    """Pages driven by JavaScript keep their fields themselves: live.mutate waits and retries."""
    client = login_as(make_user())
    for _ in range(20):
        client.post("/pair/invite", json={"role": "supporting"})
    r = client.post("/pair/invite", json={"role": "rebuilding"})
    assert r.status_code == 429 and r.get_json() == {
        "error": "Too many tries. Please wait up to an hour and try again."}
