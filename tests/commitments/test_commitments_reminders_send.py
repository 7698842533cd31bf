"""What `send_due` mails, to a real SMTP server (aiosmtpd: tests/support/mail_helpers.py), and
that no reminder is ever sent twice: two runs, two processes at once (`flask --app app couple
remind`) on PostgreSQL and on SQLite, and the embedded loop of `python app.py`.

The mail says only that something is due today, with a link: the commitment's words and the
owner's private-reflection canary never appear in it, nor the partner's name."""
import os
import sqlite3
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from couple.commitments import operations as ops
from couple.commitments import reminders
from couple.commitments.models import Reminder, ReminderSend
from couple.commitments.schedule import local_today
from couple.extensions import db
from couple.models_base import utcnow
from tests.commitments.commitments_helpers import make_commitment, user
from tests.support.mail_helpers import body_of, everything_sent
from tests.support.scaleout_helpers import migrate, wait_until
from tests.support.security_helpers import new_canary
from tests.support.servers import ROOT, link_couple, post_json, signup, start_server

pytestmark = pytest.mark.server


def sent(smtp, to: str | None = None) -> list:
    """The reminder mails that arrived (other mail, e.g. an address confirmation, is not ours)."""
    with smtp.lock:
        found = list(smtp.messages)
    return [m for m in found if "due today" in body_of(m)
            and (to is None or to.lower() in m["To"].lower())]


def wait_sent(smtp, to: str | None = None, count: int = 1) -> list:
    return wait_until(lambda: len(sent(smtp, to)) >= count and sent(smtp, to), 60,
                      f"{count} reminder mail(s) to {to}")


def _backdate(reminder_id=None, local_time="00:00") -> None:
    """Turned on days ago, at midnight: due today, whenever today the test runs."""
    stmt = update(Reminder).values(since=utcnow() - timedelta(days=3), local_time=local_time)
    if reminder_id is not None:
        stmt = stmt.where(Reminder.id == reminder_id)
    db.session.execute(stmt)
    db.session.commit()


def _confirm(person) -> None:
    """The owner opened their address's confirmation link (reminders go only to such one)."""
    user(person).email_verified_at = utcnow()
    db.session.commit()


def _turn_on(owner, cid, time="00:00", confirm=True):
    if confirm:
        _confirm(owner)
    reminders.set_reminder(user(owner), cid, True, time)
    row = db.session.scalar(select(Reminder).where(Reminder.commitment_id == cid))
    _backdate(row.id, time)
    return row.id


@pytest.fixture
def mailing(app_factory, smtp_server, make_couple):
    app = app_factory(SMTP_URL=smtp_server.url)
    with app.app_context():
        yield app, smtp_server


def _couple_with_canaries(make_user):
    from couple.guides import operations as guides
    from couple.pairing.operations import accept_invite, create_invite

    canary = new_canary()
    riley = make_user(name="Riley Partnername")
    sam = make_user(name="Sam Othername")
    invite, _t, _c = create_invite(riley, "rebuilding")
    accept_invite(invite, sam)
    db.session.expire_all()
    guides.save_reflection(user(riley), 1, f"private thought {canary}", None)
    item = make_commitment(riley, f"Call my sponsor {canary}", days_back=2, tz="Pacific/Chatham")
    return riley, sam, item, canary


def test_a_due_reminder_mails_the_owner_once_and_says_nothing_of_it(mailing, make_user):
    app, smtp = mailing
    riley, sam, item, canary = _couple_with_canaries(make_user)
    _turn_on(riley, item["id"])
    assert reminders.send_due() == 1
    message = wait_sent(smtp, riley.email)[0]
    text = everything_sent(message)
    for secret in (canary, "Call my sponsor", "Sam", "Othername", "Partnername"):
        assert secret not in text
    assert "couple" not in (message["Subject"] + message["From"]).lower()
    assert "due today" in body_of(message)
    assert f"http://couple.test/commitments/{item['id']}" in body_of(message)
    # Another run, and another, send nothing more.
    assert reminders.send_due() == 0
    assert reminders.send_due(utcnow() + timedelta(minutes=30)) == 0
    assert len(sent(smtp)) == 1 and sent(smtp, sam.email) == []
    sends = db.session.scalars(select(ReminderSend)).all()
    assert [s.day for s in sends] == [local_today("Pacific/Chatham")]


def test_nothing_is_sent_when_nothing_is_due(mailing, make_user, make_couple):
    app, smtp = mailing
    riley, sam, item, canary = _couple_with_canaries(make_user)
    owner = user(riley)
    cases = {}
    today = local_today("UTC")
    # Not due today: a weekdays schedule without today's weekday.
    other_days = [d for d in range(7) if d != today.weekday()]
    cases["not today"] = make_commitment(riley, "a", schedule="weekdays", weekdays=other_days,
                                         tz="UTC")["id"]
    cases["paused"] = make_commitment(riley, "b")["id"]
    cases["ended"] = make_commitment(riley, "c")["id"]
    cases["marked"] = make_commitment(riley, "d", tz="UTC")["id"]
    cases["off"] = make_commitment(riley, "e")["id"]
    cases["turned on after its time"] = make_commitment(riley, "f")["id"]
    for cid in cases.values():
        _turn_on(riley, cid)
    ops.set_commitment_status(owner, cases["paused"], "paused")
    ops.set_commitment_status(user(riley), cases["ended"], "ended")
    ops.mark_follow_through(user(riley), cases["marked"], today.isoformat(), "kept")
    reminders.set_reminder(user(riley), cases["off"], False)
    reminders.set_reminder(user(riley), cases["turned on after its time"], False)
    reminders.set_reminder(user(riley), cases["turned on after its time"], True, "00:00")
    assert reminders.send_due() == 0
    assert sent(smtp) == []
    # The partner's own commitment with a reminder of theirs is theirs alone.
    theirs = make_commitment(sam, "g")["id"]
    _turn_on(sam, theirs)
    assert reminders.send_due() == 1
    assert wait_sent(smtp, sam.email) and sent(smtp, riley.email) == []


def test_not_to_an_address_that_is_not_confirmed(mailing, make_user, login_as):
    app, smtp = mailing
    riley, sam, item, canary = _couple_with_canaries(make_user)
    _turn_on(riley, item["id"], confirm=False)
    page = login_as(user(riley)).get(f"/commitments/{item['id']}").get_data(as_text=True)
    assert "reminder-unconfirmed" in page
    assert reminders.send_due() == 0 and sent(smtp) == []
    _confirm(riley)
    page = login_as(user(riley)).get(f"/commitments/{item['id']}").get_data(as_text=True)
    assert "reminder-unconfirmed" not in page
    assert reminders.send_due() == 1
    assert wait_sent(smtp, riley.email)


def test_not_after_unlink_nor_after_the_account_is_deleted(mailing, make_user):
    from couple.accounts.operations import delete_account
    from couple.pairing.operations import unlink
    from tests.conftest import PASSWORD

    app, smtp = mailing
    riley, sam, item, canary = _couple_with_canaries(make_user)
    _turn_on(riley, item["id"])
    theirs = make_commitment(sam, "Sam's own")["id"]
    _turn_on(sam, theirs)
    unlink(user(sam))
    db.session.expire_all()
    assert reminders.send_due() == 0
    assert sent(smtp) == []
    delete_account(user(riley), PASSWORD)
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Reminder.id))) == 1  # Sam's (unlinked) one
    assert reminders.send_due() == 0 and sent(smtp) == []


def test_a_failed_send_is_retried_and_never_doubled(mailing, make_user):
    from couple import mail

    app, smtp = mailing
    riley, sam, item, canary = _couple_with_canaries(make_user)
    _turn_on(riley, item["id"])
    smtp.fail_next(1)
    assert reminders.send_due() == 1  # claimed and queued; the first attempt failed
    assert sent(smtp) == [] and mail.pending() == 1
    assert reminders.send_due() == 0, "the sent-row is there: no second copy is queued"
    db.session.execute(update(mail.MailOutbox).values(next_attempt_at=utcnow()))
    db.session.commit()
    assert mail.drain() == 1
    assert len(sent(smtp, riley.email)) == 1 and mail.pending() == 0


# ------------------------------------------------------------- real processes

def _seed(app, count: int) -> tuple[list[str], list[str]]:
    """`count` couples whose owner has a reminder due now; returns (owner emails, secrets)."""
    from couple.accounts.operations import sign_up
    from couple.guides import operations as guides
    from couple.pairing.operations import accept_invite, create_invite

    emails, secrets = [], []
    with app.app_context():
        for n in range(count):
            tag = os.urandom(3).hex()
            owner = sign_up(f"owner{n}-{tag}@example.com", f"Owner {n}",
                            "correct horse battery staple")
            partner = sign_up(f"partner{n}-{tag}@example.com", f"Partner {n}",
                              "correct horse battery staple")
            invite, _t, _c = create_invite(owner, "rebuilding")
            accept_invite(invite, partner)
            db.session.expire_all()
            canary = new_canary()
            guides.save_reflection(user(owner), 1, f"private {canary}", None)
            item = make_commitment(owner, f"promise {canary}", days_back=1, tz="UTC")
            _turn_on(owner, item["id"])
            emails.append(owner.email)
            secrets.append(canary)
        db.session.remove()
    return emails, secrets


def _remind_twice_at_once(database_url: str, smtp_url: str, tmp_path, runs: int = 3):
    """Two processes at the same moment, each running `couple remind` `runs` times."""
    env = {**os.environ, "COUPLE_DATABASE_URL": database_url, "COUPLE_AUTO_MIGRATE": "0",
           "COUPLE_SMTP_URL": smtp_url, "COUPLE_SECRET_KEY": "remind-test-" + "r" * 32,
           "COUPLE_INSTANCE_PATH": str(tmp_path / "cli-instance"), "COUPLE_LOG_LEVEL": "WARNING",
           "COUPLE_PUBLIC_URL": "https://example.org"}
    env.pop("COUPLE_REDIS_URL", None)
    loop = " && ".join([f"{sys.executable} -m flask --app app couple remind"] * runs)
    procs = [subprocess.Popen(["sh", "-c", loop], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, out + err
        assert "Traceback" not in err, err
    return [sum(int(line.split()[1]) for line in out.splitlines() if line.startswith("sent "))
            for out, _err in outs]


def _check_once_each(app, smtp, emails, secrets, counts):
    wait_sent(smtp, count=len(emails))
    assert sum(counts) == len(emails), counts
    got = sorted(m["To"] for m in sent(smtp))
    assert got == sorted(emails), "each owner exactly once, nobody else"
    for m in sent(smtp):
        text = everything_sent(m)
        assert "https://example.org/commitments/" in text
        assert not any(s in text for s in secrets) and "promise" not in text
    with app.app_context():
        assert db.session.scalar(select(func.count(ReminderSend.id))) == len(emails)
        db.session.remove()


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_two_processes_at_once_send_each_reminder_once(backend, request, app_factory,
                                                       smtp_server, tmp_path):
    if backend == "postgresql":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    migrate(url)
    app = app_factory(SQLALCHEMY_DATABASE_URI=url, SMTP_URL=smtp_server.url)
    emails, secrets = _seed(app, 12)
    counts = _remind_twice_at_once(url, smtp_server.url, tmp_path)
    print(f"{backend}: sent by each process: {counts}")
    _check_once_each(app, smtp_server, emails, secrets, counts)
    # A later run finds nothing left to send.
    assert _remind_twice_at_once(url, smtp_server.url, tmp_path, runs=1) == [0, 0]
    assert len(sent(smtp_server)) == len(emails)


def test_the_embedded_server_sends_reminders_itself_once(tmp_path, smtp_server):
    """`python app.py` (gevent, SQLite, one process) with its own reminder loop, every second."""
    server = start_server(tmp_path, name="remind", env={
        "COUPLE_SMTP_URL": smtp_server.url, "COUPLE_REMINDER_EVERY": "1",
        "COUPLE_RATELIMIT": "0"})
    try:
        base = server.url
        canary = new_canary()
        tag = os.urandom(4).hex()
        r = signup(base, "Riley", f"riley-{tag}@example.com")
        s = signup(base, "Sam", f"sam-{tag}@example.com")
        link_couple(base, r, s)
        post_json(r, base, "/guide/steps/1/reflection",
                  {"text": f"private {canary}"})
        ids = []
        for n in range(2):
            made = post_json(r, base, "/commitments", {"wording": f"promise {n} {canary}",
                                                       "schedule": "daily", "tz": "UTC"})
            assert made.status_code == 200, made.text
            ids.append(made.json()["result"]["id"])
        on = post_json(r, base, f"/commitments/{ids[0]}/reminder",
                       {"enabled": True, "time": "00:00"})
        assert on.status_code == 200, on.text
        # Turned on "days ago" (the running server's own SQLite file, WAL: a second writer).
        db_file = server.instance / "couple.sqlite3"

        def backdate(cid):
            with sqlite3.connect(db_file, timeout=30) as conn:
                conn.execute("UPDATE commitment_reminders SET since = datetime('now', '-3 days')"
                             " WHERE commitment_id = ?", (cid,))
                # As if the confirmation link had been opened
                # (tests/accounts/test_recovery.py opens it).
                conn.execute("UPDATE users SET email_verified_at = datetime('now')"
                             " WHERE email LIKE 'riley-%'")
            conn.close()

        backdate(ids[0])
        first = wait_sent(smtp_server, "riley-")[0]
        assert f"{base}/commitments/{ids[0]}" in body_of(first)
        # A second reminder, due from now: once it has arrived, the loop has run again since
        # the first, and the first was not sent twice.
        assert post_json(r, base, f"/commitments/{ids[1]}/reminder",
                         {"enabled": True, "time": "00:00"}).status_code == 200
        backdate(ids[1])
        wait_sent(smtp_server, "riley-", count=2)
        bodies = [body_of(m) for m in sent(smtp_server)]
        assert sorted(b.split("/commitments/")[1].split()[0] for b in bodies) == \
            sorted(str(i) for i in ids)
        for m in smtp_server.messages:  # every mail, a confirmation's too
            assert canary not in everything_sent(m) and "promise" not in everything_sent(m)
        assert "Traceback" not in server.log()
    finally:
        server.stop()
