"""CLI for sharing until the panel exists: poster templates, drawing a poster to a file,
putting products on shelf, and the figures of share codes."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from wxdist.core.errors import ApiError

poster_cli = AppGroup("poster", help="Poster templates; draw a poster to a file.")
template_cli = AppGroup("template", help="Show or change a poster template (invite, product).")
product_cli = AppGroup("product", help="Products: on and off the shelf.")
share_cli = AppGroup("share", help="Share codes: scans, opens and binds.")
poster_cli.add_command(template_cli)

KIND = click.Choice(["invite", "product"])


def _fail(exc: ApiError) -> click.ClickException:
    detail = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
    return click.ClickException(f"{exc.message}{' (' + detail + ')' if detail else ''}")


def _show(template) -> None:  # type: ignore[no-untyped-def]
    for name, value in template.to_dict().items():
        if isinstance(value, dict):
            value = " ".join(f"{k}={v}" for k, v in value.items())
        click.echo(f"{name} = {value}")


@template_cli.command("show")
@click.argument("kind", type=KIND)
def template_show(kind: str) -> None:
    """Print the template in force (defaults with the merchant's changes)."""
    from wxdist.sharing.posters import get_template

    _show(get_template(kind))


@template_cli.command("set")
@click.argument("kind", type=KIND)
@click.argument("assignments", nargs=-1, required=True)
def template_set(kind: str, assignments: tuple[str, ...]) -> None:
    """KEY=VALUE ..., e.g. `background=#fff8f0 title.size=40 slogan_text=限时特惠`;
    `background_image=/path/to/bg.jpg` stores the picture. Posters redraw on next request."""
    from wxdist.sharing.posters import set_template

    changes = {}
    for assignment in assignments:
        name, sep, raw = assignment.partition("=")
        if not sep:
            raise click.BadParameter(f"{assignment!r} is not KEY=VALUE")
        changes[name.strip()] = raw
    try:
        set_template(kind, changes)
    except ApiError as exc:
        raise _fail(exc) from None
    click.echo("saved")


@template_cli.command("reset")
@click.argument("kind", type=KIND)
def template_reset(kind: str) -> None:
    """Forget the merchant's changes: back to the defaults."""
    from wxdist.sharing.posters import reset_template

    reset_template(kind)
    click.echo("reset to the defaults")


@poster_cli.command("draw")
@click.argument("user_id", type=int)
@click.option("--product-id", type=int, default=None, help="a product poster; else invite")
@click.option("--channel", default="")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), required=True)
def poster_draw(user_id: int, product_id: int | None, channel: str, out_path: str) -> None:
    """Write a distributor's poster (JPEG) to a file."""
    from wxdist.core.extensions import db
    from wxdist.models import User
    from wxdist.sharing.posters import get_poster

    user = db.session.get(User, user_id)
    if user is None:
        raise click.ClickException("no such user")
    try:
        poster = get_poster(user, product_id, channel)
    except ApiError as exc:
        raise _fail(exc) from None
    jpeg = poster.read()
    with open(out_path, "wb") as fh:
        fh.write(jpeg)
    click.echo(f"{out_path}: {len(jpeg)} bytes, scene {poster.scene}")


@product_cli.command("shelf")
@click.argument("product_id", type=int)
@click.option("--on/--off", "on_shelf", required=True)
def product_shelf(product_id: int, on_shelf: bool) -> None:
    """Put a product on or off the shelf (on: its posters are drawn ahead, with RQ)."""
    from wxdist.catalog.products import set_on_shelf

    try:
        changed = set_on_shelf(product_id, on_shelf)
    except ApiError as exc:
        raise _fail(exc) from None
    click.echo(("on shelf" if on_shelf else "off shelf") + ("" if changed else " already"))


@share_cli.command("stats")
@click.option("--distributor", "distributor_id", type=int, default=None)
@click.option("--json", "as_json", is_flag=True, help="one JSON object")
def share_stats(distributor_id: int | None, as_json: bool) -> None:
    """Per channel, then per code: scans, opens, binds, and who each code brought."""
    from sqlalchemy import select

    from wxdist.core.extensions import db
    from wxdist.models import ReferralBinding, ShareCode
    from wxdist.sharing.share_codes import totals_by_channel

    query = select(ShareCode).order_by(ShareCode.distributor_id, ShareCode.id)
    if distributor_id is not None:
        query = query.where(ShareCode.distributor_id == distributor_id)
    codes = list(db.session.scalars(query))
    brought: dict[int, list[int]] = {}
    if codes:
        for code_id, user_id in db.session.execute(
            select(ReferralBinding.share_code_id, ReferralBinding.user_id)
            .where(ReferralBinding.share_code_id.in_([c.id for c in codes]))
            .order_by(ReferralBinding.id)
        ):
            brought.setdefault(code_id, []).append(user_id)
    channels = totals_by_channel(distributor_id)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "by_channel": channels,
                    "codes": [
                        {
                            "scene": c.scene,
                            "distributor_id": c.distributor_id,
                            "product_id": c.product_id,
                            "channel": c.channel,
                            "scans": c.scans,
                            "opens": c.opens,
                            "binds": c.binds,
                            "brought": brought.get(c.id, []),
                        }
                        for c in codes
                    ],
                },
                ensure_ascii=False,
            )
        )
        return
    for t in channels:
        click.echo(
            f"channel {t['channel'] or '-'}: {t['codes']} codes, {t['scans']} scans, "
            f"{t['opens']} opens, {t['binds']} binds"
        )
    for c in codes:
        users = ", ".join(f"#{u}" for u in brought.get(c.id, [])) or "nobody yet"
        click.echo(
            f"{c.scene} distributor #{c.distributor_id} product {c.product_id or '-'} "
            f"channel {c.channel or '-'}: {c.scans} scans, {c.opens} opens, {c.binds} binds"
            f" -> {users}"
        )


COMMANDS = (poster_cli, product_cli, share_cli)
