"""Reading the catalogue as a shopper sees it: on-shelf products only."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
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


def get_on_shelf_product(product_id: int) -> Product:
    """Raises NotFound if the product does not exist or is off shelf."""
    product = db.session.get(
        Product, product_id, options=[selectinload(Product.images), selectinload(Product.skus)]
    )
    if product is None or not product.on_shelf:
        raise NotFound(_("no such product"), fields={"product_id": _("not found or off shelf")})
    return product
