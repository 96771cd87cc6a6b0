"""Reading the catalogue as a shopper sees it: on-shelf products only."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from wxdist.core.errors import NotFound
from wxdist.core.extensions import db
from wxdist.models import Category, Product


def list_categories() -> list[Category]:
    return list(
        db.session.scalars(
            select(Category)
            .where(Category.is_active.is_(True))
            .order_by(Category.sort, Category.id)
        )
    )


def list_products(category_id: int | None, page: int, per_page: int) -> tuple[list[Product], int]:
    """One page of on-shelf products (newest sort first) and the total count."""
    query = select(Product).where(Product.on_shelf.is_(True))
    if category_id is not None:
        query = query.where(Product.category_id == category_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    products = db.session.scalars(
        query.options(selectinload(Product.images), selectinload(Product.skus))
        .order_by(Product.sort.desc(), Product.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(products), total


def get_on_shelf_product(product_id: int) -> Product:
    """Raises NotFound if the product does not exist or is off shelf."""
    product = db.session.get(
        Product, product_id, options=[selectinload(Product.images), selectinload(Product.skus)]
    )
    if product is None or not product.on_shelf:
        raise NotFound(_("no such product"), fields={"product_id": _("not found or off shelf")})
    return product
