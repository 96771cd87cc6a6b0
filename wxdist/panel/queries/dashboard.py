"""The dashboard's own reads (the waiting withdrawals come from `queries.withdrawals`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, case, func, or_, select

from wxdist.core.extensions import db
from wxdist.models import Product, Sku

_FOR_SALE = (
    Sku.is_active.is_(True),
    or_(Product.on_shelf.is_(True), Product.paused_for_stock.is_(True)),
)


def _threshold(default_threshold: int) -> Any:
    return func.coalesce(Sku.low_stock_threshold, default_threshold)


def _state() -> Any:
    return case((Sku.stock <= 0, "out"), else_="low")


def stock_notice(default_threshold: int, limit: int) -> Sequence[Row[Any]]:
    """(sku id, sku name, code, stock, threshold, state, product id, product title,
    paused) of the SKUs for sale at or below their threshold (their own, else
    `default_threshold`) now, sold out first, then by stock, at most `limit`. Read from the
    stock itself, so the list is current before the alert sweep has run (one scan of the
    SKUs: stock has no index, see `Sku`)."""
    threshold = _threshold(default_threshold)
    return db.session.execute(
        select(
            Sku.id,
            Sku.name,
            Sku.code,
            Sku.stock,
            threshold.label("threshold"),
            _state().label("state"),
            Product.id,
            Product.title,
            Product.paused_for_stock,
        )
        .join(Product, Product.id == Sku.product_id)
        .where(*_FOR_SALE, Sku.stock <= threshold)
        .order_by(Sku.stock, Sku.id)
        .limit(limit)
    ).all()


def stock_counts(default_threshold: int) -> dict[str, int]:
    """{"low": n, "out": n}: how many SKUs for sale are low or sold out now."""
    state = _state().label("state")
    rows = db.session.execute(
        select(state, func.count())
        .select_from(Sku)
        .join(Product, Product.id == Sku.product_id)
        .where(*_FOR_SALE, Sku.stock <= _threshold(default_threshold))
        .group_by(state)
    ).all()
    return {"low": 0, "out": 0, **{str(name): int(count) for name, count in rows}}
