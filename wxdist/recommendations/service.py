"""Reading a distributor's stored recommendations, with the figures
`GET /api/v1/distributor/products` shows for the same products."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from wxdist.core.extensions import db
from wxdist.distribution import promote
from wxdist.distribution.commissions import as_direct_referrer
from wxdist.distribution.settings import get_settings
from wxdist.models import DistributorRecommendation, Product
from wxdist.models import RecommendationReason as Reason
from wxdist.models.types import utcnow
from wxdist.recommendations.signals import catalogue_now


@dataclass(frozen=True)
class Recommended:
    item: promote.PromoteItem
    rank: int
    score: float
    reason: str
    reason_text: str
    reason_product_id: int | None
    refreshed_at: datetime


@dataclass(frozen=True)
class RecommendedPage:
    items: list[Recommended]
    total: int
    refreshed_at: datetime | None


def reason_text(reason: str, partner_title: str | None) -> str:
    """The reason as the distributor reads it, in their language."""
    if reason == Reason.AUDIENCE:
        return _("Your customers often buy it")
    if reason == Reason.CATEGORY:
        return _("Your customers often buy this kind")
    if reason == Reason.CO_PURCHASE and partner_title:
        return _("Often bought with %(title)s", title=partner_title)
    return _("Best seller")


def recommended_page(
    user_id: int, page: int, per_page: int, now: datetime | None = None
) -> RecommendedPage:
    """One page of `user_id`'s stored list, best first, leaving out what went off shelf
    or out of stock since the refresh; each product with its earning per unit now."""
    now = now or utcnow()
    stored = list(
        db.session.scalars(
            select(DistributorRecommendation)
            .where(DistributorRecommendation.distributor_id == user_id)
            .order_by(DistributorRecommendation.rank)
        )
    )
    available = catalogue_now([row.product_id for row in stored])
    stored = [row for row in stored if row.product_id in available]
    chosen = stored[(page - 1) * per_page : page * per_page]
    ids = [row.product_id for row in chosen]
    settings = get_settings()
    found = promote.earnings(
        promote._sku_rows(ids), as_direct_referrer(user_id, settings), settings, now
    )
    facts = promote._facts(ids)
    partners = {row.reason_product_id for row in chosen if row.reason_product_id}
    titles = dict(
        db.session.execute(select(Product.id, Product.title).where(Product.id.in_(partners)))
        .tuples()
        .all()
    ) if partners else {}  # fmt: skip
    items = [
        Recommended(
            promote.PromoteItem(found[row.product_id], *facts[row.product_id]),
            row.rank,
            row.score,
            row.reason,
            reason_text(row.reason, titles.get(row.reason_product_id or 0)),
            row.reason_product_id,
            row.refreshed_at,
        )
        for row in chosen
        if row.product_id in found and row.product_id in facts
    ]
    refreshed = stored[0].refreshed_at if stored else None
    return RecommendedPage(items, len(stored), refreshed)
