"""The general commands: serve, seed, demo, emulator, sweep, ship, refund."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from wxdist.shop import channels


def _start_emulator_if_needed() -> str | None:
    """Start the emulator in a thread at EMULATOR_URL unless something already answers."""
    import requests

    from payments.emulator import EmulatorServer, EmulatorSettings

    config = current_app.config
    if config["GATEWAY"] != "emulator":
        return None
    url = config["EMULATOR_URL"]
    try:
        requests.get(f"{url}/_emulator/health", timeout=0.5)
        return url  # another process runs it
    except requests.RequestException:
        pass
    server = EmulatorServer(EmulatorSettings.from_config(config)).start()
    return server.url


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="default: PORT (5000)")
@with_appcontext
def serve(host: str, port: int | None) -> None:
    """Serve the app for development: emulator in a thread, periodic sweeps inline."""
    from werkzeug.serving import run_simple

    from wxdist.cli.scheduler import start_inline_scheduler

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    port = port or app.config["PORT"]
    emulator_url = _start_emulator_if_needed()
    if emulator_url:
        click.echo(f"gateway emulator: {emulator_url}")
    if app.config["INLINE_JOBS"]:
        start_inline_scheduler(app)
        click.echo("periodic jobs: inline (no REDIS_URL)")
    click.echo(f"wxdist: http://{host}:{port}  (API docs: http://{host}:{port}/api/v1/docs)")
    run_simple(host, port, app, threaded=True, use_reloader=False)


@click.command()
@click.option(
    "--history",
    is_flag=True,
    help="also 36 more demo products and 90 days of demo orders through 30 distributors "
    "(what the recommendations rank from; bench/recommend_eval.py)",
)
@with_appcontext
def seed(history: bool) -> None:
    """Seed a demo catalogue (skipped if products exist)."""
    from wxdist.cli.demo_data import seed_demo_catalogue

    created = seed_demo_catalogue()
    click.echo(f"seeded {created} products" if created else "catalogue already has products")
    if history:
        from wxdist.cli.demo_history import HistorySpec, seed_demo_extra_catalogue, seed_history
        from wxdist.models.types import utcnow

        extra = seed_demo_extra_catalogue()
        stamp = utcnow().strftime("%y%m%d%H%M%S")  # a second run adds another history
        found = seed_history(HistorySpec(seed=int(stamp), prefix=f"demo{stamp}"))
        click.echo(
            f"seeded {extra} more products and {found.orders} orders of {found.shoppers} "
            f"shoppers through {found.distributors} distributors"
        )
    _seed_demo_owner()


DEMO_OWNER = ("admin", "wxdist-demo-admin")


def _seed_demo_owner() -> None:
    """On a development database with no staff yet, a demo owner for the panel (the
    password is public: never in production, where `flask create-admin` is the way)."""
    from sqlalchemy import func, select

    from wxdist.accounts.staff import create_staff
    from wxdist.core.extensions import db
    from wxdist.models.staff import StaffUser

    if current_app.config["WXDIST_ENV"] != "development":
        return
    if db.session.scalar(select(func.count()).select_from(StaffUser)):
        return
    username, password = DEMO_OWNER
    create_staff(username, password, "owner", display_name="Demo owner")
    click.echo(
        f"panel: http://127.0.0.1:{current_app.config['PORT']}/panel/ "
        f"(demo owner {username} / {password})"
    )


@click.command()
@click.option("--base-url", default=None, help="the running app (default PUBLIC_BASE_URL)")
@click.option("--emulator-url", default=None, help="default EMULATOR_URL")
@click.option("--channel", type=click.Choice(channels.names()), default=channels.names()[0])
@click.option(
    "--story",
    is_flag=True,
    help="the whole distribution programme instead: a distributor shares, a friend buys, "
    "commission settles (days pass by a clock moved forward), a withdrawal is paid; "
    "development or test instances on the emulator only",
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="--story: where the posters are saved (default INSTANCE/demo-story)",
)
@click.option(
    "--wait",
    type=float,
    default=30.0,
    show_default=True,
    help="--story: seconds to wait for queued work (attribution, payout) on RQ workers",
)
@with_appcontext
def demo(
    base_url: str | None,
    emulator_url: str | None,
    channel: str,
    story: bool,
    out_dir: Path | None,
    wait: float,
) -> None:
    """Run a shopper's purchase (or, with --story, the whole distribution programme)
    against a running instance and print each step."""
    from wxdist.cli.demo import DemoFailed, run_demo

    config = current_app.config
    base_url = base_url or config["PUBLIC_BASE_URL"]
    emulator_url = emulator_url or config["EMULATOR_URL"]
    try:
        if story:
            from wxdist.cli.story import run_story

            out_dir = out_dir or Path(current_app.instance_path) / "demo-story"
            run_story(base_url, emulator_url, out_dir, echo=click.echo, wait_seconds=wait)
        else:
            run_demo(base_url, emulator_url, channel, echo=click.echo)
    except DemoFailed as exc:
        raise click.ClickException(str(exc)) from None


@click.command()
@click.option("--port", type=int, default=None, help="default: the port of EMULATOR_URL")
@with_appcontext
def emulator(port: int | None) -> None:
    """Run the gateway emulator on its own (for gunicorn or several app processes)."""
    from werkzeug.serving import run_simple

    from payments.emulator import EmulatorSettings, create_emulator_app

    settings = EmulatorSettings.from_config(current_app.config, port=port)
    click.echo(f"gateway emulator on http://{settings.host}:{settings.port}")
    run_simple(settings.host, settings.port, create_emulator_app(settings), threaded=True)


@click.command()
@with_appcontext
def sweep() -> None:
    """Run every periodic job once, now."""
    from wxdist.cli.scheduler import run_all_once

    for name, result in run_all_once():
        click.echo(f"{name}: {result}")


@click.command()
@click.argument("order_id", type=int)
@click.option("--carrier", required=True, help="WeChat's carrier code (delivery_id), e.g. SF, ZTO")
@click.option("--tracking-no", required=True)
@with_appcontext
def ship(order_id: int, carrier: str, tracking_no: str) -> None:
    """Ship everything left of a paid order in one express package."""
    from wxdist.core.errors import ApiError
    from wxdist.core.extensions import db
    from wxdist.models import Order
    from wxdist.shop.shipments import ship_whole_order

    try:
        ship_whole_order(order_id, carrier, tracking_no)
    except ApiError as exc:
        detail = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
        raise click.ClickException(f"{exc.message} {detail}".strip()) from None
    order = db.session.get(Order, order_id)
    click.echo(f"order {order.order_no}: {order.status}" if order else "shipped")


@click.command()
@click.argument("order_id", type=int)
@click.option("--amount-fen", type=int, required=True)
@click.option("--reason", default="")
@click.option("--item-id", type=int, default=None)
@with_appcontext
def refund(order_id: int, amount_fen: int, reason: str, item_id: int | None) -> None:
    """Refund part or all of a paid order."""
    from wxdist.core.errors import ApiError
    from wxdist.shop.refunds import request_refund

    try:
        result = request_refund(order_id, amount_fen, reason, item_id)
    except ApiError as exc:
        raise click.ClickException(f"{exc.message} {exc.fields or ''}") from None
    click.echo(f"refund {result.out_refund_no}: {result.status}")
