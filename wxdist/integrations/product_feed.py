"""Products with their SKUs for an ERP (the open API's `GET /products`), by id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from wxdist.core.extensions import db
from wxdist.models import Product, Sku

MAX_PAGE = 100
_SKU_FIELDS = ("id", "code", "name", "price_fen", "stock", "is_active", "weight_g",
               "stock_alert")  # fmt: skip


def products_after(after_id: int, limit: int = 50) -> tuple[list[dict[str, Any]], bool]:
    """Up to `limit` (1..MAX_PAGE) products with ids above `after_id`, in id order, each
    with its SKUs; and whether more follow."""
    limit = max(1, min(limit, MAX_PAGE))
    heads = db.session.execute(
        select(Product.id, Product.title, Product.on_shelf, Product.category_id,
               Product.min_price_fen, Product.max_price_fen, Product.updated_at)
        .where(Product.id > after_id)
        .order_by(Product.id)
        .limit(limit + 1)
    ).all()  # fmt: skip
    more = len(heads) > limit
    heads = heads[:limit]
    skus: dict[int, list[dict[str, Any]]] = {}
    if heads:
        for sku in db.session.execute(
            select(Sku.product_id, *(getattr(Sku, f) for f in _SKU_FIELDS))
            .where(Sku.product_id.in_([h.id for h in heads]))
            .order_by(Sku.id)
        ):
            skus.setdefault(sku.product_id, []).append({f: getattr(sku, f) for f in _SKU_FIELDS})
    return [
        {
            "id": h.id,
            "title": h.title,
            "on_shelf": h.on_shelf,
            "category_id": h.category_id,
            "min_price_fen": h.min_price_fen,
            "max_price_fen": h.max_price_fen,
            "updated_at": h.updated_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "skus": skus.get(h.id, []),
        }
        for h in heads
    ], more
