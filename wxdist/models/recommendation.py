"""Stored product recommendations for distributors (wxdist.recommendations).

One row per (distributor, rank): the refresh job replaces a distributor's rows in one
transaction, so a reader sees either the old list or the new one, never a mix.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from wxdist.core.extensions import db
from wxdist.models.types import BigId, UTCDateTime, utcnow


class RecommendationReason:
    AUDIENCE = "audience"  # the distributor's customers buy it
    CATEGORY = "category"  # they buy its category
    CO_PURCHASE = "co_purchase"  # often bought with what they buy (reason_product_id)
    POPULAR = "popular"  # sells well overall (cold start, or nothing closer)

    ALL = (AUDIENCE, CATEGORY, CO_PURCHASE, POPULAR)


class DistributorRecommendation(db.Model):
    __tablename__ = "distributor_recommendations"

    # No foreign keys and no secondary index: the table is derived, rewritten whole by
    # every refresh (2.5 million rows for 50,000 distributors), and each would cost a
    # lookup per inserted row; products are never deleted (they go off shelf, which the
    # reader checks), a distributor's rows go when they stop being approved.
    distributor_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # 1 first
    product_id: Mapped[int] = mapped_column(BigId)
    score: Mapped[float] = mapped_column(Float)  # not money: a unitless ranking score
    reason: Mapped[str] = mapped_column(String(16))  # RecommendationReason
    # The product it is often bought with, for a co_purchase reason.
    reason_product_id: Mapped[int | None] = mapped_column(BigId)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
