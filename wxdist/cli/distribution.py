"""CLI for the distribution programme until the panel exists: settings, reviews, levels,
and `flask reconcile`."""

from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext

from wxdist.core.errors import ApiError

settings_cli = AppGroup("settings", help="Show or change the distribution settings.")
distributor_cli = AppGroup("distributor", help="Review, disable or enable distributors.")
level_cli = AppGroup("level", help="Distributor levels.")


def _fail(exc: ApiError) -> click.ClickException:
    detail = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
    return click.ClickException(f"{exc.message}{' (' + detail + ')' if detail else ''}")


@settings_cli.command("show")
def settings_show() -> None:
    from dataclasses import asdict

    from wxdist.distribution.settings import get_settings

    for name, value in asdict(get_settings()).items():
        click.echo(f"{name} = {value}")


@settings_cli.command("set")
@click.argument("assignments", nargs=-1, required=True)
def settings_set(assignments: tuple[str, ...]) -> None:
    """KEY=VALUE ..., e.g. `flask settings set depth=1 level1_rate_bp=1500`."""
    from wxdist.distribution.settings import parse_cli_value, update_settings

    changes = {}
    for assignment in assignments:
        name, sep, raw = assignment.partition("=")
        if not sep:
            raise click.BadParameter(f"{assignment!r} is not KEY=VALUE")
        changes[name.strip()] = parse_cli_value(name.strip(), raw)
    try:
        update_settings(**changes)
    except ApiError as exc:
        raise _fail(exc) from None
    click.echo("saved")


@distributor_cli.command("review")
@click.argument("user_id", type=int)
@click.option("--approve/--reject", required=True)
@click.option("--note", default="")
def distributor_review(user_id: int, approve: bool, note: str) -> None:
    from wxdist.distribution.distributors import review

    try:
        row = review(user_id, approve, note)
    except ApiError as exc:
        raise _fail(exc) from None
    click.echo(f"user {user_id}: {row.status}")


@distributor_cli.command("disable")
@click.argument("user_id", type=int)
@click.option("--note", default="")
def distributor_disable(user_id: int, note: str) -> None:
    from wxdist.distribution.distributors import set_disabled

    try:
        set_disabled(user_id, True, note)
    except ApiError as exc:
        raise _fail(exc) from None
    click.echo(f"user {user_id}: disabled")


@distributor_cli.command("enable")
@click.argument("user_id", type=int)
def distributor_enable(user_id: int) -> None:
    from wxdist.distribution.distributors import set_disabled

    try:
        set_disabled(user_id, False)
    except ApiError as exc:
        raise _fail(exc) from None
    click.echo(f"user {user_id}: approved")


@level_cli.command("add")
@click.option("--name", required=True)
@click.option("--rank", type=int, required=True)
@click.option("--l1-bp", type=int, required=True)
@click.option("--l2-bp", type=int, required=True)
@click.option("--min-settled-fen", type=int, default=0)
@click.option("--min-team-sales-fen", type=int, default=0)
@click.option("--min-direct-invites", type=int, default=0)
@click.option("--min-own-orders", type=int, default=0)
@click.option("--mode", type=click.Choice(["any", "all"]), default="any")
def level_add(**options: object) -> None:
    from wxdist.distribution.distributors import LevelSpec, create_level

    spec = LevelSpec(
        name=str(options["name"]),
        rank=int(options["rank"]),  # type: ignore[call-overload]
        level1_rate_bp=int(options["l1_bp"]),  # type: ignore[call-overload]
        level2_rate_bp=int(options["l2_bp"]),  # type: ignore[call-overload]
        min_settled_commission_fen=int(options["min_settled_fen"]),  # type: ignore[call-overload]
        min_team_sales_fen=int(options["min_team_sales_fen"]),  # type: ignore[call-overload]
        min_direct_invites=int(options["min_direct_invites"]),  # type: ignore[call-overload]
        min_own_paid_orders=int(options["min_own_orders"]),  # type: ignore[call-overload]
        condition_mode=str(options["mode"]),
    )
    try:
        level = create_level(spec)
    except ApiError as exc:
        raise _fail(exc) from None
    click.echo(f"level {level.id}: {level.name} (rank {level.rank})")


@level_cli.command("list")
def level_list() -> None:
    from wxdist.distribution.distributors import list_levels

    for level in list_levels():
        click.echo(
            f"{level.id}\t{level.rank}\t{level.name}\t"
            f"{level.level1_rate_bp}/{level.level2_rate_bp} bp"
        )


@level_cli.command("grant")
@click.argument("user_id", type=int)
@click.argument("level_id", type=int)
def level_grant(user_id: int, level_id: int) -> None:
    from wxdist.distribution.distributors import grant_level

    try:
        grant_level(user_id, level_id)
    except ApiError as exc:
        raise _fail(exc) from None
    click.echo(f"user {user_id}: level {level_id}")


@click.command("reconcile")
@with_appcontext
def reconcile() -> None:
    """Check balances against the ledger, commission and orders against payments, the
    referral graph, and the customers' figures against their orders; print every
    discrepancy. Exit 0 when clean, 1 when discrepancies were found, 3 when the checks
    could not run (the error is printed; nothing was judged)."""
    from wxdist.customers import stats as customer_stats
    from wxdist.reporting.reconcile import EXIT_DISCREPANCIES, EXIT_FAILED, check_all

    try:
        problems = [*check_all(), *customer_stats.check()]
    except Exception as exc:  # a crash must not read as "discrepancies found"
        click.echo(f"reconcile failed: {type(exc).__name__}: {exc}", err=True)
        raise SystemExit(EXIT_FAILED) from None
    for problem in problems:
        click.echo(problem)
    if problems:
        raise SystemExit(EXIT_DISCREPANCIES)
    click.echo("reconcile: clean")


COMMANDS = (settings_cli, distributor_cli, level_cli, reconcile)
