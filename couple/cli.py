"""`flask --app app couple ...` maintenance commands."""
import click


def register_cli(app) -> None:
    @app.cli.group("couple")
    def group():
        """couple maintenance."""

    @group.command("prune")
    @click.option("--days", default=30, show_default=True, help="Keep this many days of events.")
    def prune_command(days: int):
        """Delete old events and op ids; clients that were away longer reload their page."""
        from .housekeeping import prune

        result = prune(days)
        click.echo(f"pruned {result['events']} events, {result['ops']} op ids")

    @group.command("mail")
    def mail_command():
        """Send the messages still waiting in the outbox (after a crash or failed attempts)."""
        from . import mail

        sent = mail.drain()
        click.echo(f"sent {sent} messages, {mail.pending()} waiting")

    @group.command("remind")
    def remind_command():
        """Email every commitment reminder that is due now and not sent yet (run it every few
        minutes from cron or a systemd timer; two runs at once never send one twice)."""
        from flask import current_app

        from . import mail
        from .commitments.reminders import send_due

        # A short-lived command hands each mail to the SMTP server right after its commit, in
        # this thread: a background task would die with the process, leaving the row it had
        # claimed leased (unsent) for minutes. What fails stays in the outbox for the next run.
        current_app.config["MAIL_SYNC"] = True
        sent = send_due()
        mail.drain()
        click.echo(f"sent {sent} reminders, {mail.pending()} mails waiting")
