"""Marketing: coupon templates and the coupons issued from them, limited-time discounts,
full reductions, and each offer's share of an order's items.

Rates are basis points of what the shopper pays (8500 = 8.5折), the one unit everywhere.
Scopes are JSON objects {"product_ids", "category_ids", "excluded_product_ids",
"excluded_category_ids"} (lists of ids; nothing included = every product).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wxdist.core.extensions import db
from wxdist.models.types import BigId, Fen, UTCDateTime, utcnow


class OfferStatus:
    ACTIVE = "active"
    PAUSED = "paused"  # no new claims; issued coupons stay usable
    ENDED = "ended"  # no new claims, the offer no longer applies

    ALL = (ACTIVE, PAUSED, ENDED)


class CouponAudience:
    ANYONE = "anyone"
    NEW_USERS = "new_users"  # shoppers without a paid order
    DISTRIBUTOR_CUSTOMERS = "distributor_customers"  # claimed through a distributor's share
    STAFF_ISSUED = "staff_issued"  # only staff hand these out

    ALL = (ANYONE, NEW_USERS, DISTRIBUTOR_CUSTOMERS, STAFF_ISSUED)


class RefundPolicy:
    """What a full refund does to the coupon the order used (a partial one keeps it used)."""

    RETURN = "return"  # back to unused, same expiry
    REISSUE = "reissue"  # a new coupon from the template with a fresh validity
    KEEP = "keep"  # stays used

    ALL = (RETURN, REISSUE, KEEP)


class CouponStatus:
    UNUSED = "unused"
    LOCKED = "locked"  # held by an unpaid order
    USED = "used"  # the order was paid
    EXPIRED = "expired"
    RETURNED = "returned"  # given back after a refund and replaced by a reissued coupon

    ALL = (UNUSED, LOCKED, USED, EXPIRED, RETURNED)


class CouponTemplate(db.Model):
    """What staff define; coupons are issued from it while `remaining` lasts.

    `remaining` only moves by a conditional update (`remaining >= 1`), in the same
    transaction as the coupon it issues, so a template never issues more than `total`.
    Its terms (name, amounts, threshold, scope, stackable) are fixed once created: coupons
    already issued carry them, and the order path reads them once per process.
    """

    __tablename__ = "coupon_templates"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default=OfferStatus.ACTIVE)
    off_fen: Mapped[int | None] = mapped_column(Fen)  # a fixed amount off, or
    pay_rate_bp: Mapped[int | None] = mapped_column(Integer)  # what is paid, with
    cap_fen: Mapped[int | None] = mapped_column(Fen)  # at most this much off
    threshold_fen: Mapped[int] = mapped_column(Fen, default=0)
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    claim_starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claim_ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)  # fixed dates, or
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_days: Mapped[int | None] = mapped_column(Integer)  # N days after claiming
    total: Mapped[int] = mapped_column(Integer)
    remaining: Mapped[int] = mapped_column(Integer)
    per_user_limit: Mapped[int] = mapped_column(Integer, default=1)
    per_day_limit: Mapped[int | None] = mapped_column(Integer)  # per user per day
    audience: Mapped[str] = mapped_column(String(24), default=CouponAudience.ANYONE)
    stackable: Mapped[bool] = mapped_column(Boolean, default=True)
    shareable: Mapped[bool] = mapped_column(Boolean, default=False)  # distributors carry it
    refund_policy: Mapped[str] = mapped_column(String(12), default=RefundPolicy.RETURN)
    issued_count: Mapped[int] = mapped_column(Integer, default=0)
    used_count: Mapped[int] = mapped_column(Integer, default=0)
    returned_count: Mapped[int] = mapped_column(Integer, default=0)
    cost_fen: Mapped[int] = mapped_column(Fen, default=0)  # discount given on paid orders
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Coupon(db.Model):
    """One coupon a shopper holds. Every status move is a compare-and-set.

    (template, user, slot) is unique, slot 1..per_user_limit, so no user holds more than
    the limit however many claims race; (template, user, day_slot) bounds a day the same
    way; (user, claim_key) makes a retried claim request return the same coupon.
    """

    __tablename__ = "coupons"
    __table_args__ = (
        UniqueConstraint("template_id", "user_id", "slot"),
        UniqueConstraint("template_id", "user_id", "day_slot"),
        UniqueConstraint("user_id", "claim_key"),
        Index("ix_coupons_user_status", "user_id", "status", "valid_until"),
        Index("ix_coupons_status_valid_until", "status", "valid_until"),
        Index("ix_coupons_order", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_templates.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    slot: Mapped[int] = mapped_column(Integer)
    day_slot: Mapped[str | None] = mapped_column(String(16))  # "20261203:1"
    claim_key: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default=CouponStatus.UNUSED)
    source: Mapped[str] = mapped_column(String(12))  # claim | share | staff | reissue
    share_code_id: Mapped[int | None] = mapped_column(BigId)
    distributor_id: Mapped[int | None] = mapped_column(BigId)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    order_id: Mapped[int | None] = mapped_column(BigId)  # locked or used by
    discount_fen: Mapped[int] = mapped_column(Fen, default=0)  # taken off that order
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TimedDiscountRecord(db.Model):
    """A limited-time price for one SKU (one active per SKU at a time)."""

    __tablename__ = "timed_discounts"
    __table_args__ = (Index("ix_timed_discounts_sku_ends", "sku_id", "ends_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    price_fen: Mapped[int | None] = mapped_column(Fen)
    pay_rate_bp: Mapped[int | None] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    no_commission: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), default=OfferStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FullReductionRecord(db.Model):
    """满减 / 满折: tiers [{"threshold", "off_fen" | "pay_rate_bp"}] by amount or count."""

    __tablename__ = "full_reductions"
    __table_args__ = (Index("ix_full_reductions_status_ends", "status", "ends_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    by_count: Mapped[bool] = mapped_column(Boolean, default=False)
    tiers: Mapped[list[dict[str, int]]] = mapped_column(JSON)
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    no_commission: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), default=OfferStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrderAdjustment(db.Model):
    """One offer's share of one order item (kind: discount | reduction | coupon)."""

    __tablename__ = "order_adjustments"
    __table_args__ = (UniqueConstraint("order_item_id", "kind", "source_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    order_item_id: Mapped[int] = mapped_column(ForeignKey("order_items.id"))
    kind: Mapped[str] = mapped_column(String(12))
    source_id: Mapped[int] = mapped_column(BigId)
    amount_fen: Mapped[int] = mapped_column(Fen)
