"""A JSON body nested deeper than Python's parser can follow (security.md E: bad input gets a
clear 4xx and changes nothing, no traceback in the log), on every POST rule of the
authorization matrix, as the owner (the role allowed the most). Found by a review of issue 12's
doors: POST /drafts/discard with `[[[[...` 100,000 deep answered 500 with a RecursionError
traceback, and so did every JSON mutation that reads its body through web.payload()."""
import logging

import pytest

from tests.security.matrix import CASES, case_url
from tests.support.security_helpers import diff

POST_RULES = sorted({c.rule for c in CASES if c.method == "POST"})
# Rules whose handler reads no body (a form of one button, or WTForms reading form fields only).
TAKES_NO_BODY = {"/account/devices/<int:device_id>/end", "/login", "/logout", "/pair/revoke",
                 "/signup", "/account/confirm", "/confirm/<token>"}
DEEP = "[" * 100_000 + "]" * 100_000
DEEP_IN_A_FIELD = '{"key": ' + "[" * 100_000 + "]" * 100_000 + "}"


@pytest.mark.parametrize("rule", POST_RULES)
def test_a_too_deep_json_body_is_a_clear_400_and_changes_nothing(matrix, rule, caplog):
    caplog.set_level(logging.ERROR)
    case = next(c for c in CASES if c.rule == rule and c.method == "POST")
    for body in (DEEP, DEEP_IN_A_FIELD):
        matrix.restore()
        url = case_url(matrix.app, case, matrix.world)
        before = matrix.snapshot()
        response = matrix.world.client("owner").post(
            url, data=body, content_type="application/json", headers={"Accept": "application/json"})
        assert response.status_code < 500, (rule, response.status_code)
        if rule == "/exit":
            # The exit never fails on what the page sent: the session ends, no drafts are kept.
            assert response.status_code == 204
        elif rule in TAKES_NO_BODY:
            # Nothing to read: the request does what it does without a body.
            assert response.status_code < 400, (rule, response.status_code)
        else:
            assert response.status_code == 400, (rule, response.status_code)
            # JSON routes say what is wrong; a form page (password, delete) is shown again.
            answer = response.get_json(silent=True)
            assert answer is None or answer.get("error"), rule
            assert diff(before, matrix.snapshot()) == {}, f"{rule}: a refused body changed rows"
    assert "Traceback" not in caplog.text and "Exception on" not in caplog.text, caplog.text[:2000]


HUGE_IDS = ["2147483648", "9223372036854775808", "999999999999999999999"]
INT_CASES = [c for c in CASES if "<int:" in c.rule]


@pytest.mark.parametrize("case", INT_CASES, ids=[f"{c.method} {c.rule}" for c in INT_CASES])
def test_a_number_past_any_row_id_in_the_url_is_a_404(matrix, case, caplog):
    """GET /commitments/999999999999999999999 was a 500 (SQLite: OverflowError) with a traceback."""
    caplog.set_level(logging.ERROR)
    matrix.restore()
    world = matrix.world
    url = case_url(matrix.app, case, world)
    before = matrix.snapshot()
    for huge in HUGE_IDS:
        # Replace the id (the first number after the rule's fixed prefix) with a huge one.
        prefix = case.rule.split("<int:")[0]
        rest = url[len(prefix):]
        number = rest.split("/", 1)[0]
        hostile = prefix + huge + rest[len(number):]
        response = world.client("owner").open(hostile, method=case.method,
                                              headers={"Accept": "application/json"})
        assert response.status_code == 404, (hostile, response.status_code)
        response.close()
    assert diff(before, matrix.snapshot()) == {}
    assert "Traceback" not in caplog.text and "Exception on" not in caplog.text, caplog.text[:2000]
