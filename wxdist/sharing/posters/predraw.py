"""Drawing posters ahead (run by `jobs/posters.py`): a new distributor's invite and product
posters, a product's poster for the latest approved distributors; a poster already stored
is skipped.
"""

from __future__ import annotations

from sqlalchemy import select

from wxdist.core.extensions import db
from wxdist.core.media import storage
from wxdist.models import Distributor, DistributorStatus, Product, User
from wxdist.sharing import share_codes
from wxdist.sharing.posters.inputs import inputs_for
from wxdist.sharing.posters.serving import draw_and_store

PREDRAW_LIMIT = 200


def predraw_for_distributor(user_id: int, limit: int = PREDRAW_LIMIT) -> int:
    """Draw a new distributor's invite poster and the posters of the first on-shelf
    products (default channel). Returns the posters drawn (0 if not approved)."""
    user = db.session.get(User, user_id)
    if user is None or not share_codes.is_active_distributor(user_id):
        return 0
    drawn = _predraw(user, None)
    product_ids = db.session.scalars(
        select(Product.id).where(Product.on_shelf.is_(True)).order_by(Product.sort, Product.id)
    ).all()
    for product_id in product_ids[: max(0, limit - 1)]:
        drawn += _predraw(user, product_id)
    return drawn


def predraw_for_product(product_id: int, limit: int = PREDRAW_LIMIT) -> int:
    """Draw a product's poster for the most recently approved distributors."""
    product = db.session.get(Product, product_id)
    if product is None or not product.on_shelf:
        return 0
    users = db.session.scalars(
        select(User)
        .join(Distributor, Distributor.user_id == User.id)
        .where(Distributor.status == DistributorStatus.APPROVED)
        .order_by(Distributor.approved_at.desc(), User.id.desc())
        .limit(limit)
    ).all()
    return sum(_predraw(user, product_id) for user in users)


def _predraw(user: User, product_id: int | None) -> int:
    inputs = inputs_for(user, product_id)
    if storage().exists(inputs.content_key()):
        return 0
    draw_and_store(inputs)
    return 1
