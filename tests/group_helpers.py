"""Helpers of the group-buy tests: an activity saved as the panel saves it, a group opened
and joined through the API, paid through the emulator."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from tests.shop import ADDRESS, emulator_pay, start_pay
from wxdist.core.extensions import db
from wxdist.marketing.group_buys.admin import ActivitySpec, SkuSpec, save_activity
from wxdist.models import GroupBuy, GroupSku, Order
from wxdist.models.types import utcnow


def make_group_activity(
    app: Flask, sku_id: int, *, price_fen: int = 5_000, stock: int = 10, **settings: Any
) -> dict[str, int]:
    """An activity on now (for two hours) selling `sku_id` in groups of `group_size`."""
    now = utcnow()
    spec = ActivitySpec(
        name=settings.pop("name", "两人团"),
        starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(hours=2),
        skus=[SkuSpec(sku_id, price_fen, stock)],
        **settings,
    )
    with app.app_context():
        activity = save_activity(spec)
        db.session.commit()
        group_sku = db.session.query(GroupSku).filter_by(activity_id=activity.id).one()
        return {"activity_id": activity.id, "group_sku_id": group_sku.id}


def open_group(client: FlaskClient, headers: dict[str, str], group_sku_id: int) -> Any:
    return client.post(
        "/api/v1/group-buys/groups",
        json={"group_sku_id": group_sku_id, "address": ADDRESS},
        headers=headers,
    )


def join_group(client: FlaskClient, headers: dict[str, str], group_id: int) -> Any:
    return client.post(
        f"/api/v1/group-buys/groups/{group_id}/join", json={"address": ADDRESS}, headers=headers
    )


def pay(client: FlaskClient, emulator_url: str, headers: dict[str, str], order_id: int) -> str:
    """Pay the order through the emulator; returns its out_trade_no."""
    started = start_pay(client, headers, order_id)
    emulator_pay(emulator_url, "wechat", started["out_trade_no"])
    return started["out_trade_no"]


def group_row(app: Flask, group_id: int) -> dict[str, Any]:
    with app.app_context():
        found = db.session.get(GroupBuy, group_id)
        return {c.name: getattr(found, c.name) for c in GroupBuy.__table__.columns}


def order_row(app: Flask, order_id: int) -> Order:
    with app.app_context():
        found = db.session.get(Order, order_id)
        db.session.expunge(found)
        return found


def stock_left(app: Flask, group_sku_id: int) -> int:
    with app.app_context():
        return db.session.get(GroupSku, group_sku_id).stock_left


def expire(app: Flask, group_id: int) -> None:
    """Move the group's deadline into the past."""
    with app.app_context():
        db.session.execute(
            update(GroupBuy)
            .where(GroupBuy.id == group_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


def count(app: Flask, model: Any, *where: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0
