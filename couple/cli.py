"""`flask --app app couple ...` maintenance commands."""
from datetime import timedelta

import click
from sqlalchemy import delete

from .events import LiveSocket, prune
from .extensions import db
from .models_base import utcnow


def register_cli(app) -> None:
    @app.cli.group("couple")
    def group():
        """couple maintenance."""

    @group.command("prune")
    @click.option("--days", default=30, show_default=True, help="Keep this many days of events.")
    def prune_command(days: int):
        """Delete old events and op ids; clients that were away longer reload their page."""
        result = prune(utcnow() - timedelta(days=days))
        # Rows of sockets from a process that died without saying goodbye.
        stale = db.session.execute(
            delete(LiveSocket).where(LiveSocket.connected_at < utcnow() - timedelta(days=days))
        ).rowcount
        db.session.commit()
        click.echo(f"pruned {result['events']} events, {result['ops']} op ids, {stale} sockets")

    @group.command("remind")
    def remind_command():
        """Email every commitment reminder that is due now and not sent yet (run it every few
        minutes from cron or a systemd timer; two runs at once never send one twice)."""
        from .commitments.reminders import send_due

        click.echo(f"sent {send_due()} reminders")
