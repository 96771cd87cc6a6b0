"""Helpers of the flash-sale tests: an activity saved as the panel saves it, a flash-sale
order placed through the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.shop import ADDRESS
from wxdist.core.extensions import db
from wxdist.marketing.flash_sales.admin import ActivitySpec, SkuSpec, save_activity
from wxdist.models import FlashSku
from wxdist.models.types import utcnow


def make_activity(
    app: Flask,
    sku_id: int,
    *,
    price_fen: int = 5_000,
    stock: int = 10,
    started: bool = True,
    **settings: Any,
) -> dict[str, int]:
    """An activity with one slot (open now, or starting in an hour) selling `sku_id`."""
    now = utcnow()
    start = now - timedelta(minutes=5) if started else now + timedelta(hours=1)
    spec = ActivitySpec(
        name=settings.pop("name", "整点秒杀"),
        slots=[(start, start + timedelta(hours=2))],
        skus=[SkuSpec(sku_id, price_fen, stock)],
        **settings,
    )
    with app.app_context():
        activity = save_activity(spec)
        db.session.commit()
        flash_sku = db.session.query(FlashSku).filter_by(activity_id=activity.id).one()
        return {"activity_id": activity.id, "flash_sku_id": flash_sku.id}


def flash_order(
    client: FlaskClient, headers: dict[str, str], flash_sku_id: int, quantity: int = 1, **extra: Any
) -> Any:
    """The response of POST /flash-sales/orders."""
    return client.post(
        "/api/v1/flash-sales/orders",
        json={"flash_sku_id": flash_sku_id, "quantity": quantity, "address": ADDRESS, **extra},
        headers=headers,
    )


def stock_left(app: Flask, flash_sku_id: int) -> int:
    with app.app_context():
        return db.session.get(FlashSku, flash_sku_id).stock_left
