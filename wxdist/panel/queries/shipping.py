"""Reads of the shipping templates pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, select

from wxdist.core.extensions import db
from wxdist.models import Product, ShippingTemplate


def templates() -> Sequence[ShippingTemplate]:
    return db.session.scalars(select(ShippingTemplate).order_by(ShippingTemplate.id)).all()


def template(template_id: int) -> ShippingTemplate | None:
    return db.session.get(ShippingTemplate, template_id)


def product_counts() -> dict[int, int]:
    """Template id → how many products use it."""
    rows: Sequence[Row[Any]] = db.session.execute(
        select(Product.shipping_template_id, func.count())
        .where(Product.shipping_template_id.is_not(None))
        .group_by(Product.shipping_template_id)
    ).all()
    return {row[0]: row[1] for row in rows}
