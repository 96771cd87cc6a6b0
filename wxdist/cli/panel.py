"""CLI for the merchant panel: `flask create-admin`."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from wxdist.models.staff import StaffRole


@click.command("create-admin")
@click.option("--username", prompt=True)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="at least 10 characters; prompted (hidden) when not given",
)
@click.option(
    "--role", type=click.Choice(StaffRole.ALL), default=StaffRole.OWNER, show_default=True
)
@click.option("--name", "display_name", default="", help="shown in the panel")
@with_appcontext
def create_admin(username: str, password: str, role: str, display_name: str) -> None:
    """Create a staff account for the panel (an owner unless --role says otherwise)."""
    from wxdist.accounts.staff import create_staff
    from wxdist.core.errors import ApiError

    try:
        staff = create_staff(username, password, role, display_name)
    except ApiError as exc:
        detail = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
        raise click.ClickException(f"{exc.message}{' (' + detail + ')' if detail else ''}") from exc
    click.echo(f"created {staff.role} {staff.username!r}: sign in at /panel/login")


@click.command("stats-rebuild")
@click.option("--days", type=click.IntRange(1, 3660), default=60, show_default=True)
@with_appcontext
def stats_rebuild(days: int) -> None:
    """Recount the dashboard's daily figures of the last DAYS days from the orders."""
    from datetime import timedelta

    from wxdist.reporting import daily_stats

    last = daily_stats.local_day()
    rows = daily_stats.rebuild(last - timedelta(days=days - 1), last)
    click.echo(f"recounted {days} days ({rows} rows)")


@click.group("reports")
def reports() -> None:
    """The report aggregates (distributor centre and merchant reports)."""


@reports.command("rebuild")
@click.option("--batch", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@with_appcontext
def reports_rebuild(batch: int) -> None:
    """Recount every report aggregate from the orders, commission, refunds and bindings
    (once after the reports migration on a database with orders; off-peak)."""
    from wxdist.reporting import insight

    orders = insight.rebuild(batch)
    click.echo(f"recounted the reports of {orders} orders")


COMMANDS = (create_admin, stats_rebuild, reports)
