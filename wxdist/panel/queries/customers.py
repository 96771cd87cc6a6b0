"""Reads of the customer pages the customers service does not answer: the coupon
templates staff may issue in bulk, recent bulk issues."""

from __future__ import annotations

from sqlalchemy import select

from wxdist.core.extensions import db
from wxdist.models import BulkCouponIssue, CouponTemplate, OfferStatus
from wxdist.models.types import utcnow


def issuable_templates() -> list[CouponTemplate]:
    """Active templates with coupons left whose claim period is open, newest first."""
    now = utcnow()
    return list(
        db.session.scalars(
            select(CouponTemplate)
            .where(
                CouponTemplate.status == OfferStatus.ACTIVE,
                CouponTemplate.remaining > 0,
                CouponTemplate.claim_starts_at <= now,
                CouponTemplate.claim_ends_at > now,
            )
            .order_by(CouponTemplate.id.desc())
            .limit(200)
        )
    )


def recent_bulk_issues(limit: int = 50) -> list[tuple[BulkCouponIssue, str]]:
    """The latest bulk issues with their template's name."""
    return [
        (issue, name)
        for issue, name in db.session.execute(
            select(BulkCouponIssue, CouponTemplate.name)
            .join(CouponTemplate, CouponTemplate.id == BulkCouponIssue.template_id)
            .order_by(BulkCouponIssue.id.desc())
            .limit(limit)
        ).tuples()
    ]
