"""Email addresses are checked by email-validator (syntax only, no DNS), not by `"@" in email`:
sign-up refuses a malformed address with a clear message and creates nothing; login tells a
mistyped address plainly, yet an account made before the check still signs in."""
import html

import pytest
from sqlalchemy import func, select

from couple.accounts.models import User
from couple.accounts.operations import EMAIL_HINT, email_problem, hasher, normalize_email
from couple.extensions import db
from tests.conftest import PASSWORD

UNSTORABLE = "contains a character that cannot be saved"

BAD = {
    "no @": "name.example.com",
    "only a local part and @": "name@",
    "only a domain": "@example.com",
    "two @": "a@@example.com",
    "a space": "first last@example.com",
    "a space in the domain": "name@exam ple.com",
    "NUL": "na\x00me@example.com",
    "NUL in the domain": "name@example.com\x00",
    "a newline": "name@example.com\nBcc: x@example.com",
    "a lone surrogate": "na\ud800me@example.com",
    "a lone surrogate in the domain": "name@exa\udfffmple.com",
    "300 characters": "a" * 288 + "@example.com",
    "no dot in the domain": "name@localhost",
    "a reserved domain": "name@host.invalid",
    "a domain ending in a dot": "name@example.com.",
    "a domain label starting with -": "name@-example.com",
    "a right-to-left override": "na\u202eme@example.com",
    "a replacement character": "na\ufffdme@example.com",
}
GOOD = [
    "name@example.com",
    "first.last+tag@example.co.uk",
    "name@bücher.de",  # an internationalized domain
    "name@xn--bcher-kva.de",  # the same, in its ASCII form
    "пример@пример.рф",  # an internationalized local part too
    "user@例え.jp",
]


@pytest.mark.parametrize("what", sorted(BAD))
def test_a_malformed_address_is_named_as_such(what):
    problem = email_problem(normalize_email(BAD[what]))
    assert problem and problem.endswith(EMAIL_HINT), (what, problem)


@pytest.mark.parametrize("address", GOOD)
def test_real_addresses_pass_including_internationalized_domains(address):
    assert email_problem(normalize_email(address)) is None


def _users() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


# A form body cannot carry a lone surrogate (werkzeug leaves such percent-escapes undecoded, so
# the address arrives as harmless ASCII); JSON can, so JSON gets every case.
CASES = [(what, "form") for what in sorted(BAD) if _encodable(BAD[what])] + [
    (what, "json") for what in sorted(BAD)]


@pytest.mark.parametrize(("what", "how"), CASES)
def test_signup_refuses_a_malformed_address_and_creates_nothing(app, what, how):
    client = app.test_client()
    body = {"display_name": "Riley", "email": BAD[what], "password": PASSWORD}
    before = _users()
    if how == "json":
        response = client.post("/signup", json=body)
    else:
        response = client.post("/signup", data=body)
    assert response.status_code == 400, (what, response.status_code)
    text = html.unescape(response.get_data(as_text=True))
    # An over-long one is stopped by the form's own length check first, also in words; a NUL
    # or a lone surrogate by the request reader, before any view (web.UnstorableText).
    assert EMAIL_HINT in text or "longer than 254 characters" in text \
        or UNSTORABLE in text, what
    db.session.rollback()
    assert _users() == before, what


def test_signup_tells_what_is_wrong(app):
    response = app.test_client().post(
        "/signup", data={"display_name": "Riley", "email": "first last@example.com",
                         "password": PASSWORD})
    text = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "invalid characters before the @-sign: SPACE" in text and EMAIL_HINT in text


@pytest.mark.parametrize("address", ["name@bücher.de", "пример@пример.рф"])
def test_signup_and_login_with_an_internationalized_address(app, address):
    client = app.test_client()
    response = client.post("/signup", data={"display_name": "Riley", "email": address,
                                            "password": PASSWORD})
    assert response.status_code == 303, html.unescape(response.get_data(as_text=True))[:800]
    assert db.session.scalar(select(User).where(User.email == address)) is not None
    fresh = app.test_client()
    assert fresh.post("/login", data={"email": address.upper(),
                                      "password": PASSWORD}).status_code == 303


@pytest.mark.parametrize("what", ["no @", "a space", "NUL", "a lone surrogate", "300 characters"])
def test_login_tells_a_mistyped_address_plainly(app, what):
    response = app.test_client().post("/login", json={"email": BAD[what], "password": PASSWORD})
    text = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400, what
    assert EMAIL_HINT in text or "longer than 254 characters" in text \
        or UNSTORABLE in text, what
    assert "do not match an account" not in text, what


def test_an_account_made_before_the_check_still_signs_in(app):
    # "name@localhost" passed the old `"@" in email` check; its owner must not be locked out.
    legacy = User(email="old@localhost", display_name="Old", password_hash=hasher().hash(PASSWORD))
    db.session.add(legacy)
    db.session.commit()
    client = app.test_client()
    wrong = client.post("/login", data={"email": "old@localhost", "password": "not it at all"})
    assert wrong.status_code == 400
    assert client.post("/login", data={"email": "old@localhost",
                                       "password": PASSWORD}).status_code == 303
