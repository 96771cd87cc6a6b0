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
    from wxdist.errors import ApiError
    from wxdist.staff import create_staff

    try:
        staff = create_staff(username, password, role, display_name)
    except ApiError as exc:
        detail = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
        raise click.ClickException(f"{exc.message}{' (' + detail + ')' if detail else ''}") from exc
    click.echo(f"created {staff.role} {staff.username!r}: sign in at /panel/login")


COMMANDS = (create_admin,)
