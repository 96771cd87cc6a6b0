"""Products: the catalogue list, categories, one product or SKU."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, select

from wxdist.core.extensions import db
from wxdist.models import Category, Product, ProductImage, Sku
from wxdist.panel.queries.paging import Page, fetch_page


def categories() -> Sequence[Row[Any]]:
    """(id, name, is_active) of every category, in the shop's order."""
    return db.session.execute(
        select(Category.id, Category.name, Category.is_active).order_by(Category.sort, Category.id)
    ).all()


def product_page(page: int, shelf: str, category_id: int | None, q: str) -> Page:
    """Rows of (Product, category name, min and max price and stock of its active SKUs),
    newest first; `shelf` is 'on', 'off' or '' (either), `q` a part of the title."""
    active = Sku.is_active.is_(True)
    min_price = (
        select(func.min(Sku.price_fen)).where(Sku.product_id == Product.id, active)
    ).scalar_subquery()
    max_price = (
        select(func.max(Sku.price_fen)).where(Sku.product_id == Product.id, active)
    ).scalar_subquery()
    stock = (
        select(func.coalesce(func.sum(Sku.stock), 0)).where(Sku.product_id == Product.id, active)
    ).scalar_subquery()
    statement = (
        select(
            Product,
            Category.name.label("category"),
            min_price.label("min_price"),
            max_price.label("max_price"),
            stock.label("stock"),
        )
        .outerjoin(Category, Category.id == Product.category_id)
        .order_by(Product.id.desc())
    )
    if shelf:
        statement = statement.where(Product.on_shelf.is_(shelf == "on"))
    if category_id:
        statement = statement.where(Product.category_id == category_id)
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(Product.title.like(f"%{escaped}%", escape="\\"))
    return fetch_page(statement, page, scalars=False)


def product(product_id: int) -> Product | None:
    return db.session.get(Product, product_id)


def sku(sku_id: int) -> Sku | None:
    return db.session.get(Sku, sku_id)


def product_pictures(product_id: int) -> Sequence[ProductImage]:
    """A product's pictures, the cover first."""
    return db.session.scalars(
        select(ProductImage)
        .where(ProductImage.product_id == product_id)
        .order_by(ProductImage.sort, ProductImage.id)
    ).all()
