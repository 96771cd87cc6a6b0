"""The dashboard's own reads (the waiting withdrawals come from `queries.withdrawals`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select

from wxdist.core.extensions import db
from wxdist.models import Product, Sku


def low_stock(threshold: int, limit: int) -> Sequence[Row[Any]]:
    """(sku id, sku name, stock, product id, product title) of SKUs at or below
    `threshold`, lowest stock first, at most `limit`."""
    return db.session.execute(
        select(Sku.id, Sku.name, Sku.stock, Product.id, Product.title)
        .join(Product, Product.id == Sku.product_id)
        .where(Sku.stock <= threshold)
        .order_by(Sku.stock, Sku.id)
        .limit(limit)
    ).all()
