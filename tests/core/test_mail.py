"""The mail path (couple/mail.py) against a real SMTP server (aiosmtpd,
tests/support/mail_helpers.py).

The outbox row is written in the caller's transaction, sent after the commit, retried with
backoff on failure, and never takes the caller's change or a traceback with it.
"""
import logging
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from couple import mail
from couple.accounts.models import User
from couple.extensions import db
from couple.mail import MailOutbox, settings_from_url
from couple.models_base import utcnow
from tests.support.mail_helpers import body_of


@pytest.fixture
def mail_app(app_factory, smtp_server):
    app = app_factory(SMTP_URL=smtp_server.url, MAIL_FROM="Notifications <noreply@example.org>")
    with app.app_context():
        yield app


def _make_due():
    db.session.execute(update(MailOutbox).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def _rows():
    db.session.rollback()
    return list(db.session.scalars(select(MailOutbox)))


def test_a_committed_message_arrives_with_the_neutral_subject_and_sender(mail_app, smtp_server):
    mail.send("someone@example.com", "Hello.\nhttps://couple.test/x\n", kind="recovery")
    assert smtp_server.messages == []  # nothing leaves before the commit
    db.session.commit()
    message = smtp_server.wait_for(to="someone@example.com")
    assert message["Subject"] == mail.KINDS["recovery"]
    assert message["From"] == "Notifications <noreply@example.org>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert "https://couple.test/x" in body_of(message)
    assert smtp_server.envelopes[0] == ("noreply@example.org", ["someone@example.com"])
    assert _rows() == []  # a sent message is not kept (its link must not outlive it here)


def test_a_rolled_back_request_sends_nothing(mail_app, smtp_server):
    mail.send("someone@example.com", "never", kind="recovery")
    db.session.rollback()
    mail.send("other@example.com", "this one", kind="verify")
    db.session.commit()
    smtp_server.wait_for(to="other@example.com")
    assert smtp_server.to("someone@example.com") == []
    assert _rows() == []


def test_one_subject_for_every_kind_when_configured(app_factory, smtp_server):
    app = app_factory(SMTP_URL=smtp_server.url, MAIL_SUBJECT="Notification")
    with app.app_context():
        for kind in mail.KINDS:
            mail.send("a@example.com", "x", kind=kind)
        db.session.commit()
        smtp_server.wait_for(to="a@example.com", count=len(mail.KINDS))
    assert {m["Subject"] for m in smtp_server.messages} == {"Notification"}


def test_subjects_and_sender_name_the_app_nowhere(app):
    for kind, subject in mail.KINDS.items():
        assert "couple" not in subject.lower(), kind
    assert "couple" not in app.config["MAIL_FROM"].lower()


def test_a_refused_send_keeps_the_change_and_is_retried(mail_app, smtp_server, caplog):
    from couple.accounts.operations import sign_up

    user = sign_up("refused@example.com", "Someone", "correct horse battery staple")
    smtp_server.clear()
    smtp_server.fail_next(1)
    user.display_name = "Changed"
    mail.send(user.email, "text", kind="verify")
    with caplog.at_level(logging.WARNING, logger="couple.mail"):
        db.session.commit()  # the after-commit send fails: no exception reaches the caller
    db.session.expire_all()
    assert db.session.get(User, user.id).display_name == "Changed"
    [row] = _rows()
    assert row.attempts == 1 and row.last_error.startswith("SMTP")
    assert row.next_attempt_at > utcnow()  # backoff, not at once
    assert "attempt 1 failed" in caplog.text and "text" not in caplog.text.split("failed")[1]
    assert mail.drain() == 0  # not due yet
    _make_due()
    assert mail.drain() == 1
    assert smtp_server.wait_for(to=user.email)["Subject"] == mail.KINDS["verify"]
    assert _rows() == []


def test_a_server_that_is_down_is_retried_when_it_is_back(mail_app, smtp_server):
    smtp_server.stop()
    mail.send("a@example.com", "text", kind="verify")
    db.session.commit()
    [row] = _rows()
    assert row.attempts == 1 and row.last_error
    smtp_server.start()  # same port
    _make_due()
    assert mail.drain() == 1
    smtp_server.wait_for(to="a@example.com")


def test_after_the_last_retry_the_message_is_dropped_and_logged(mail_app, smtp_server, caplog):
    smtp_server.fail_next(len(mail.RETRY_DELAYS) + 1)
    mail.send("a@example.com", "text", kind="verify")
    db.session.commit()
    for _ in mail.RETRY_DELAYS:
        _make_due()
        assert mail.drain() == 0
    with caplog.at_level(logging.ERROR, logger="couple.mail"):
        _make_due()
        assert mail.drain() == 0
    assert _rows() == []
    assert "dropped after" in caplog.text
    assert smtp_server.messages == []


def test_a_claimed_message_is_not_sent_twice(mail_app, smtp_server):
    """Two senders (two processes, or the server and `flask couple mail`) may look at one row:
    the first claims it for the attempt, the second finds nothing to do."""
    smtp_server.stop()  # keep the row in the outbox
    mail.send("a@example.com", "text", kind="verify")
    db.session.commit()
    smtp_server.start()
    _make_due()
    [row_id] = [r.id for r in _rows()]
    assert mail._claim(row_id) is not None
    db.session.rollback()
    assert mail._claim(row_id) is None  # leased to the first
    assert mail.deliver(row_id) is False
    assert smtp_server.messages == []


def test_the_background_path_sends_after_the_commit(app_factory, smtp_server):
    """What the server does (MAIL_SYNC off): the request does not wait for the SMTP server."""
    app = app_factory(SMTP_URL=smtp_server.url, MAIL_SYNC=False)
    with app.test_request_context("/"):
        mail.send("bg@example.com", "text", kind="verify")
        db.session.commit()
        smtp_server.wait_for(to="bg@example.com")
        deadline = time.monotonic() + 60
        while _rows() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _rows() == []


def test_the_background_path_retries_by_itself(app_factory, smtp_server, monkeypatch):
    monkeypatch.setattr(mail, "RETRY_DELAYS", (0.2, 0.2, 0.2, 0.2))
    app = app_factory(SMTP_URL=smtp_server.url, MAIL_SYNC=False)
    smtp_server.fail_next(2)
    with app.test_request_context("/"):
        mail.send("retry@example.com", "text", kind="verify")
        db.session.commit()
        smtp_server.wait_for(to="retry@example.com")


def test_the_cli_sends_what_is_left(mail_app, smtp_server):
    smtp_server.stop()
    mail.send("cli@example.com", "text", kind="verify")
    db.session.commit()
    smtp_server.start()
    _make_due()
    result = mail_app.test_cli_runner().invoke(args=["couple", "mail"])
    assert result.exit_code == 0, result.output
    assert "sent 1 messages, 0 waiting" in result.output
    smtp_server.wait_for(to="cli@example.com")


def test_without_smtp_messages_go_to_the_console(app_factory, capsys, caplog):
    with caplog.at_level(logging.WARNING, logger="couple.mail"):
        app = app_factory()  # no SMTP_URL: the embedded default
    assert "COUPLE_SMTP_URL is not set" in caplog.text
    with app.app_context():
        mail.send("console@example.com", "the link https://couple.test/r/abc", kind="recovery")
        db.session.commit()
        assert _rows() == []
    out = capsys.readouterr().out
    assert "To: console@example.com" in out and "https://couple.test/r/abc" in out


@pytest.mark.parametrize("bad", ["a@example.com\nBcc: x@example.com", "", "x" * 300])
def test_one_address_on_one_line(mail_app, bad):
    with pytest.raises(ValueError):
        mail.send(bad, "text", kind="verify")


def test_unknown_kind_is_refused(mail_app):
    with pytest.raises(ValueError):
        mail.send("a@example.com", "text", kind="newsletter")


def test_smtp_url_settings():
    assert settings_from_url(None) == {"MAIL_BACKEND": "console"}
    s = settings_from_url("smtp://us%40er:p%3Ass@mail.example.org:2525")
    assert s["MAIL_BACKEND"] == "smtp"
    assert (s["MAIL_SERVER"], s["MAIL_PORT"], s["MAIL_USERNAME"], s["MAIL_PASSWORD"]) == (
        "mail.example.org", 2525, "us@er", "p:ss")
    assert s["MAIL_USE_TLS"] and not s["MAIL_USE_SSL"]
    s = settings_from_url("smtps://mail.example.org")
    assert s["MAIL_PORT"] == 465 and s["MAIL_USE_SSL"] and not s["MAIL_USE_TLS"]
    s = settings_from_url("smtp+plain://localhost")
    assert s["MAIL_PORT"] == 25 and not s["MAIL_USE_SSL"] and not s["MAIL_USE_TLS"]
    assert settings_from_url("smtp://h")["MAIL_PORT"] == 587
    for bad in ("http://h", "smtp://", "mail.example.org"):
        with pytest.raises(ValueError):
            settings_from_url(bad)


def test_starttls_checks_the_servers_certificate(app_factory, tmp_path, monkeypatch, caplog):
    """smtp:// is STARTTLS, and the certificate is verified: an untrusted one is refused (and
    retried later, nothing sent in clear), a trusted one sends. Flask-Mailman alone would
    accept any certificate."""
    import shutil

    from tests.conftest import need
    from tests.support.mail_helpers import SmtpSink, self_signed_certificate

    need(shutil.which("openssl") is not None, "the openssl command")
    cert, key = self_signed_certificate(tmp_path)
    sink = SmtpSink(tls=(cert, key)).start()
    try:
        assert sink.url.startswith("smtp://")
        app = app_factory(SMTP_URL=sink.url)
        assert app.config["MAIL_BACKEND"] is mail.VerifiedSMTPBackend
        with app.app_context():
            with caplog.at_level(logging.WARNING, logger="couple.mail"):
                mail.send("tls@example.com", "text", kind="verify")
                db.session.commit()
            assert "SSLCertVerificationError" in caplog.text
            assert sink.messages == [] and len(_rows()) == 1
            monkeypatch.setenv("SSL_CERT_FILE", cert)  # now the certificate is trusted
            _make_due()
            assert mail.drain() == 1
            assert sink.wait_for(to="tls@example.com")["Subject"] == mail.KINDS["verify"]
    finally:
        sink.stop()


def test_outside_a_request_the_message_is_sent_before_the_commit_returns(app_factory,
                                                                          smtp_server):
    """What a `flask couple ...` command gets (no request, MAIL_SYNC off): sent by the time
    commit() returns, not left to a background task the exiting process would drop."""
    app = app_factory(SMTP_URL=smtp_server.url, MAIL_SYNC=False)
    with app.app_context():
        mail.send("cli-sync@example.com", "text", kind="reminder")
        db.session.commit()
        assert len(smtp_server.to("cli-sync@example.com")) == 1
        assert _rows() == []
