"""A product's face: its title, lowest active SKU price and first picture, what a poster shows
and what decides whether posters are drawn again, as the columns every poster query
selects (written once here) and as one read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from wxdist.core.extensions import db
from wxdist.models import Product, Sku


@dataclass(frozen=True)
class ProductFacts:
    id: int
    title: str
    price_fen: int | None
    image_url: str


def lowest_price_column() -> Any:
    """The lowest active SKU price of the `Product` row in the enclosing query (or NULL)."""
    return (
        select(func.min(Sku.price_fen))
        .where(Sku.product_id == Product.id, Sku.is_active.is_(True))
        .scalar_subquery()
    )


def first_image_column() -> Any:
    """The URL of the first picture of the `Product` row in the enclosing query ('' without
    one): its cover, kept on the row (wxdist.catalog.covers)."""
    return Product.cover_url


def facts_from_row(
    product_id: Any, title: str, price_fen: Any, image_url: str | None
) -> ProductFacts:
    """ProductFacts from the columns above as a query returned them."""
    return ProductFacts(
        int(product_id), title, None if price_fen is None else int(price_fen), image_url or ""
    )


def product_facts(product_id: int) -> ProductFacts | None:
    """What a product poster shows, in one query; None for no such product."""
    row = db.session.execute(
        select(Product.id, Product.title, lowest_price_column(), first_image_column()).where(
            Product.id == product_id
        )
    ).first()
    if row is None:
        return None
    return facts_from_row(*row)
