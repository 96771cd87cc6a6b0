"""Where the shop finds the offers that price an order, without importing marketing.

Marketing sits above the shop; it registers an `OfferSource` (its `receivers.connect()`,
which `create_app` calls). Until one is registered the shop prices at list price and
refuses any coupon, so an app without marketing still sells.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from flask_babel import gettext as _
from sqlalchemy import Subquery

from wxdist.core.errors import Conflict
from wxdist.shop.pricing import CouponOffer, Line, Offers, PricedOrder

HELD = "held_"  # the label prefix of `OfferSource.held_coupon_query`'s columns


class OfferSource(Protocol):
    def offers_for(self, lines: Sequence[Line], now: datetime) -> Offers:
        """The limited-time discounts and full reductions in force for these lines."""
        ...

    def discounted_sku_ids(self, now: datetime) -> set[int]:
        """The SKUs with a limited-time discount in force (few: what a listing that ranks
        by list prices must price one by one)."""
        ...

    def held_coupon(self, user_id: int, coupon_id: int, now: datetime) -> CouponOffer:
        """The user's unused, unexpired coupon `coupon_id`. Raises Conflict
        `coupon_unusable` (field `coupon_id`) otherwise."""
        ...

    def held_coupons(self, user_id: int, now: datetime) -> list[CouponOffer]:
        """Every unused, unexpired coupon the user holds."""
        ...

    def held_coupon_query(self) -> Subquery | None:
        """At most one row: what `held_coupon_in` needs of the coupon bound as `coupon_id`
        if the user bound as `user_id` holds it, so that placing an order reads its coupon
        in the query that reads its lines (LEFT JOINed, its columns labelled HELD + name).
        The same object on every call; None when there are no coupons."""
        ...

    def held_coupon_in(self, row: Any, now: datetime) -> CouponOffer:
        """`held_coupon` from a row that has `held_coupon_query`'s columns (labelled HELD +
        name, all None when the user holds no such coupon). Raises as `held_coupon`."""
        ...

    def lock_coupon(self, user_id: int, order_id: int, priced: PricedOrder) -> None:
        """Inside the order's transaction: the order's coupon goes unused → locked by
        `order_id`. Raises Conflict `coupon_unusable` if another order took it first."""
        ...


class NoOffers:
    """List prices, no coupons."""

    def offers_for(self, lines: Sequence[Line], now: datetime) -> Offers:
        return Offers()

    def discounted_sku_ids(self, now: datetime) -> set[int]:
        return set()

    def held_coupon(self, user_id: int, coupon_id: int, now: datetime) -> CouponOffer:
        raise Conflict(
            _("This coupon cannot be used on this order."),
            code="coupon_unusable",
            fields={"coupon_id": _("No such coupon.")},
        )

    def held_coupons(self, user_id: int, now: datetime) -> list[CouponOffer]:
        return []

    def held_coupon_query(self) -> Subquery | None:
        return None

    def held_coupon_in(self, row: Any, now: datetime) -> CouponOffer:
        return self.held_coupon(0, 0, now)

    def lock_coupon(self, user_id: int, order_id: int, priced: PricedOrder) -> None:
        return None


_registered: list[OfferSource] = []


def register(source: OfferSource) -> None:
    """Make `source` the shop's offer source (the last registered wins)."""
    _registered[:] = [source]


def source() -> OfferSource:
    return _registered[0] if _registered else NoOffers()
