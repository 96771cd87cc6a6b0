"""The shop's offer source: what marketing has in force, as `shop.pricing` values."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Subquery, bindparam, select, update

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
from wxdist.shop.offers import HELD
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


def timed_discount_of(record: Any) -> TimedDiscount:
    """From a timed_discounts row (or model)."""
    return TimedDiscount(
        id=record.id,
        sku_id=record.sku_id,
        window=Window(record.starts_at, record.ends_at),
        price_fen=record.price_fen,
        pay_rate_bp=record.pay_rate_bp,
        no_commission=record.no_commission,
    )


def full_reduction_of(record: Any) -> FullReduction:
    """From a full_reductions row (or model)."""
    return FullReduction(
        id=record.id,
        window=Window(record.starts_at, record.ends_at),
        tiers=tuple(
            Tier(
                tier["threshold"],
                tier.get("off_fen"),
                tier.get("pay_rate_bp"),
                bool(tier.get("free_shipping", False)),
            )
            for tier in record.tiers
        ),
        by_count=record.by_count,
        scope=scope_of(record.scope),
        no_commission=record.no_commission,
    )


# Core statements on the order path (rows, not model objects: placing an order reads
# these on every request).
_discounts, _reductions = TimedDiscountRecord.__table__, FullReductionRecord.__table__
_templates = CouponTemplate.__table__
_ACTIVE_DISCOUNTS = select(_discounts).where(
    _discounts.c.sku_id.in_(bindparam("sku_ids", expanding=True)),
    _discounts.c.status == OfferStatus.ACTIVE,
    _discounts.c.starts_at <= bindparam("now"),
    _discounts.c.ends_at > bindparam("now"),
)
_ACTIVE_REDUCTIONS = select(_reductions).where(
    _reductions.c.status == OfferStatus.ACTIVE,
    _reductions.c.starts_at <= bindparam("now"),
    _reductions.c.ends_at > bindparam("now"),
)
# A template's terms: what `_offer_of` reads beside the coupon's own columns.
_TERM_COLUMNS = (
    _templates.c.name,
    _templates.c.threshold_fen,
    _templates.c.off_fen,
    _templates.c.pay_rate_bp,
    _templates.c.cap_fen,
    _templates.c.scope,
    _templates.c.stackable,
)
_COUPON_COLUMNS = (
    _coupons.c.id,
    _coupons.c.status,
    _coupons.c.valid_from,
    _coupons.c.valid_until,
    _templates.c.id.label("template_id"),
    *_TERM_COLUMNS,
)
_COUPON_WITH_TEMPLATE = select(*_COUPON_COLUMNS).join_from(
    _coupons, _templates, _templates.c.id == _coupons.c.template_id
)


_HELD_COUPON = select(
    _coupons.c.id,
    _coupons.c.status,
    _coupons.c.valid_from,
    _coupons.c.valid_until,
    _coupons.c.template_id,
).where(_coupons.c.id == bindparam("coupon_id"), _coupons.c.user_id == bindparam("user_id"))
_TEMPLATE_TERMS = select(*_TERM_COLUMNS).where(_templates.c.id == bindparam("template_id"))
_HELD_QUERY = _HELD_COUPON.subquery("held_coupon")
_LOCK_COUPON = (
    update(_coupons)
    .where(
        _coupons.c.id == bindparam("b_coupon_id"),
        _coupons.c.user_id == bindparam("b_user_id"),
        _coupons.c.status == CouponStatus.UNUSED,
    )
    .values(
        status=CouponStatus.LOCKED,
        order_id=bindparam("b_order_id"),
        discount_fen=bindparam("b_discount_fen"),
    )
)


_ALL_DISCOUNTS = select(_discounts).where(
    _discounts.c.status == OfferStatus.ACTIVE, _discounts.c.ends_at > bindparam("now")
)
_ALL_REDUCTIONS = select(_reductions).where(
    _reductions.c.status == OfferStatus.ACTIVE, _reductions.c.ends_at > bindparam("now")
)
_DISCOUNTED_SKUS = (
    select(_discounts.c.sku_id)
    .where(
        _discounts.c.status == OfferStatus.ACTIVE,
        _discounts.c.starts_at <= bindparam("now"),
        _discounts.c.ends_at > bindparam("now"),
    )
    .distinct()
)
_CACHE = "wxdist_offers_in_force"
_TERMS_CACHE = "wxdist_coupon_terms"
_TERMS_KEPT = 10_000  # templates whose terms a process keeps (then it starts over)


@dataclass(frozen=True)
class _InForce:
    """The promotions not yet ended, as read at `read_at` (monotonic): discounts by SKU."""

    read_at: float
    discounts: dict[int, list[TimedDiscount]]
    reductions: list[FullReduction]


def _in_force(now: datetime) -> _InForce | None:
    """The promotions this process read less than OFFERS_RECHECK_SECONDS ago (read again
    when older; None when the setting is 0). Windows are still checked against `now` at
    each use, so a promotion starts and ends on the second; a promotion staff create or end
    shows at once in this process (`forget_offers`) and within the setting in others."""
    ttl = float(current_app.config.get("OFFERS_RECHECK_SECONDS", 0))
    if ttl <= 0:
        return None
    found: _InForce | None = current_app.extensions.get(_CACHE)
    if found is not None and time.monotonic() - found.read_at < ttl:
        return found
    conn = db.session.connection()
    by_sku: dict[int, list[TimedDiscount]] = {}
    for row in conn.execute(_ALL_DISCOUNTS, {"now": now}):
        by_sku.setdefault(row.sku_id, []).append(timed_discount_of(row))
    reductions = [full_reduction_of(row) for row in conn.execute(_ALL_REDUCTIONS, {"now": now})]
    found = _InForce(time.monotonic(), by_sku, reductions)
    current_app.extensions[_CACHE] = found
    return found


def forget_offers() -> None:
    """Make this process read the promotions again on next use (staff changed them)."""
    current_app.extensions.pop(_CACHE, None)


def _terms(template_id: int) -> Mapping[str, Any]:
    """A coupon template's terms (`_TEMPLATE_TERMS`'s columns). They never change once the
    template is created, so each process reads them once."""
    kept: dict[int, Mapping[str, Any]] = current_app.extensions.setdefault(_TERMS_CACHE, {})
    found = kept.get(template_id)
    if found is None:
        conn = db.session.connection()
        found = conn.execute(_TEMPLATE_TERMS, {"template_id": template_id}).one()._mapping
        if len(kept) >= _TERMS_KEPT:
            kept.clear()
        kept[template_id] = found
    return found


def active_discounts(sku_ids: Sequence[int], now: datetime) -> list[TimedDiscount]:
    """The limited-time discounts in force for these SKUs."""
    if not sku_ids:
        return []
    cached = _in_force(now)
    if cached is not None:
        return [
            discount
            for sku in sku_ids
            for discount in cached.discounts.get(sku, ())
            if discount.window.open_at(now)
        ]
    conn = db.session.connection()
    rows = conn.execute(_ACTIVE_DISCOUNTS, {"sku_ids": list(sku_ids), "now": now})
    return [timed_discount_of(row) for row in rows]


def active_reductions(now: datetime) -> list[FullReduction]:
    """The full reductions in force."""
    cached = _in_force(now)
    if cached is not None:
        return [reduction for reduction in cached.reductions if reduction.window.open_at(now)]
    rows = db.session.connection().execute(_ACTIVE_REDUCTIONS, {"now": now})
    return [full_reduction_of(row) for row in rows]


def _offer_of(held: Mapping[str, Any]) -> CouponOffer:
    """From the columns of `_COUPON_COLUMNS`."""
    return CouponOffer(
        id=held["id"],
        template_id=held["template_id"],
        window=Window(held["valid_from"], held["valid_until"]),
        threshold_fen=held["threshold_fen"],
        off_fen=held["off_fen"],
        pay_rate_bp=held["pay_rate_bp"],
        cap_fen=held["cap_fen"],
        scope=scope_of(held["scope"]),
        stackable=held["stackable"],
        name=held["name"],
    )


def _usable(held: Mapping[str, Any] | None, now: datetime) -> CouponOffer:
    """The coupon of these values (the columns of `_HELD_COUPON`; None: the user holds no
    such coupon) if it can be used now; raises Conflict `coupon_unusable` otherwise."""
    if held is None:
        raise _unusable(_("No such coupon."))
    if held["status"] != CouponStatus.UNUSED:
        raise _unusable(_("This coupon has already been used."))
    if held["valid_until"] <= now:
        raise _unusable(_("This coupon has expired."))
    if held["valid_from"] > now:
        raise _unusable(_("This coupon cannot be used yet."))
    return _offer_of({**_terms(held["template_id"]), **held})


def _unusable(reason: str) -> Conflict:
    return Conflict(
        _("This coupon cannot be used on this order."),
        code="coupon_unusable",
        fields={"coupon_id": reason},
    )


class MarketingOffers:
    """`shop.offers.OfferSource` over marketing's tables."""

    def offers_for(self, lines: Sequence[Line], now: datetime) -> Offers:
        return Offers(
            tuple(active_discounts([line.sku_id for line in lines], now)),
            tuple(active_reductions(now)),
        )

    def discounted_sku_ids(self, now: datetime) -> set[int]:
        cached = _in_force(now)
        if cached is not None:
            return {
                sku_id
                for sku_id, found in cached.discounts.items()
                if any(discount.window.open_at(now) for discount in found)
            }
        return set(db.session.connection().scalars(_DISCOUNTED_SKUS, {"now": now}))

    def held_coupon(self, user_id: int, coupon_id: int, now: datetime) -> CouponOffer:
        row = (
            db.session.connection()
            .execute(_HELD_COUPON, {"coupon_id": coupon_id, "user_id": user_id})
            .first()
        )
        return _usable(row._mapping if row is not None else None, now)

    def held_coupon_query(self) -> Subquery:
        return _HELD_QUERY

    def held_coupon_in(self, row: Any, now: datetime) -> CouponOffer:
        values = {
            name.removeprefix(HELD): value
            for name, value in row._mapping.items()
            if name.startswith(HELD)
        }
        return _usable(values if values["id"] is not None else None, now)

    def held_coupons(self, user_id: int, now: datetime) -> list[CouponOffer]:
        rows = db.session.execute(
            _COUPON_WITH_TEMPLATE.where(
                _coupons.c.user_id == user_id,
                _coupons.c.status == CouponStatus.UNUSED,
                _coupons.c.valid_until > now,
            ).order_by(_coupons.c.valid_until, _coupons.c.id)
        ).all()
        return [_offer_of(row._mapping) for row in rows]

    def lock_coupon(self, user_id: int, order_id: int, priced: PricedOrder) -> None:
        if priced.coupon_id is None:
            return
        moved = db.session.connection().execute(
            _LOCK_COUPON,
            {
                "b_coupon_id": priced.coupon_id,
                "b_user_id": user_id,
                "b_order_id": order_id,
                "b_discount_fen": priced.off(COUPON),
            },
        )
        if moved.rowcount != 1:
            raise _unusable(_("This coupon has already been used."))
