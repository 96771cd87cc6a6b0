"""The shop's offer source: what marketing has in force, as `shop.pricing` values."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, update

from wxdist.core.errors import Conflict
from wxdist.core.extensions import db
from wxdist.models import (
    Coupon,
    CouponStatus,
    CouponTemplate,
    FullReductionRecord,
    OfferStatus,
    TimedDiscountRecord,
)
from wxdist.shop.pricing import (
    COUPON,
    CouponOffer,
    FullReduction,
    Line,
    Offers,
    PricedOrder,
    Scope,
    Tier,
    TimedDiscount,
    Window,
)

_coupons = Coupon.__table__


def scope_of(data: dict[str, Any] | None) -> Scope:
    data = data or {}
    return Scope(
        product_ids=frozenset(data.get("product_ids") or ()),
        category_ids=frozenset(data.get("category_ids") or ()),
        excluded_product_ids=frozenset(data.get("excluded_product_ids") or ()),
        excluded_category_ids=frozenset(data.get("excluded_category_ids") or ()),
    )


def timed_discount_of(record: TimedDiscountRecord) -> TimedDiscount:
    return TimedDiscount(
        id=record.id,
        sku_id=record.sku_id,
        window=Window(record.starts_at, record.ends_at),
        price_fen=record.price_fen,
        pay_rate_bp=record.pay_rate_bp,
        no_commission=record.no_commission,
    )


def full_reduction_of(record: FullReductionRecord) -> FullReduction:
    return FullReduction(
        id=record.id,
        window=Window(record.starts_at, record.ends_at),
        tiers=tuple(
            Tier(tier["threshold"], tier.get("off_fen"), tier.get("pay_rate_bp"))
            for tier in record.tiers
        ),
        by_count=record.by_count,
        scope=scope_of(record.scope),
        no_commission=record.no_commission,
    )


def coupon_offer_of(coupon: Coupon, template: CouponTemplate) -> CouponOffer:
    return CouponOffer(
        id=coupon.id,
        template_id=template.id,
        window=Window(coupon.valid_from, coupon.valid_until),
        threshold_fen=template.threshold_fen,
        off_fen=template.off_fen,
        pay_rate_bp=template.pay_rate_bp,
        cap_fen=template.cap_fen,
        scope=scope_of(template.scope),
        stackable=template.stackable,
        name=template.name,
    )


def active_discounts(sku_ids: Sequence[int], now: datetime) -> list[TimedDiscountRecord]:
    return list(
        db.session.scalars(
            select(TimedDiscountRecord).where(
                TimedDiscountRecord.sku_id.in_(sku_ids),
                TimedDiscountRecord.status == OfferStatus.ACTIVE,
                TimedDiscountRecord.starts_at <= now,
                TimedDiscountRecord.ends_at > now,
            )
        )
    )


def active_reductions(now: datetime) -> list[FullReductionRecord]:
    return list(
        db.session.scalars(
            select(FullReductionRecord).where(
                FullReductionRecord.status == OfferStatus.ACTIVE,
                FullReductionRecord.starts_at <= now,
                FullReductionRecord.ends_at > now,
            )
        )
    )


def _unusable(reason: str) -> Conflict:
    return Conflict(
        _("This coupon cannot be used on this order."),
        code="coupon_unusable",
        fields={"coupon_id": reason},
    )


class MarketingOffers:
    """`shop.offers.OfferSource` over marketing's tables."""

    def offers_for(self, lines: Sequence[Line], now: datetime) -> Offers:
        discounts = active_discounts([line.sku_id for line in lines], now)
        return Offers(
            tuple(timed_discount_of(record) for record in discounts),
            tuple(full_reduction_of(record) for record in active_reductions(now)),
        )

    def held_coupon(self, user_id: int, coupon_id: int, now: datetime) -> CouponOffer:
        row = db.session.execute(
            select(Coupon, CouponTemplate)
            .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
            .where(Coupon.id == coupon_id, Coupon.user_id == user_id)
        ).first()
        if row is None:
            raise _unusable(_("No such coupon."))
        coupon, template = row
        if coupon.status != CouponStatus.UNUSED:
            raise _unusable(_("This coupon has already been used."))
        if coupon.valid_until <= now:
            raise _unusable(_("This coupon has expired."))
        if coupon.valid_from > now:
            raise _unusable(_("This coupon cannot be used yet."))
        return coupon_offer_of(coupon, template)

    def held_coupons(self, user_id: int, now: datetime) -> list[CouponOffer]:
        rows = db.session.execute(
            select(Coupon, CouponTemplate)
            .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
            .where(
                Coupon.user_id == user_id,
                Coupon.status == CouponStatus.UNUSED,
                Coupon.valid_until > now,
            )
            .order_by(Coupon.valid_until, Coupon.id)
        ).all()
        return [coupon_offer_of(coupon, template) for coupon, template in rows]

    def lock_coupon(self, user_id: int, order_id: int, priced: PricedOrder) -> None:
        if priced.coupon_id is None:
            return
        moved = db.session.execute(
            update(_coupons)
            .where(
                _coupons.c.id == priced.coupon_id,
                _coupons.c.user_id == user_id,
                _coupons.c.status == CouponStatus.UNUSED,
            )
            .values(status=CouponStatus.LOCKED, order_id=order_id, discount_fen=priced.off(COUPON))
        )
        if moved.rowcount != 1:
            raise _unusable(_("This coupon has already been used."))
