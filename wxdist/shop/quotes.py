"""Pricing an order's lines with the offers in force: for placing it and for previewing it.

Both go through `shop.pricing.price` with the offers of the same source, so the price a
shopper is shown and the price an order is placed at come from the same code on the same
data; placing prices again and refuses (`price_changed`, with the new payable) when it
differs from the price the shopper saw.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from wxdist.accounts.regions import Region
from wxdist.core.errors import Conflict
from wxdist.core.money import yuan_text
from wxdist.shop import offers, shipping_fees
from wxdist.shop.pricing import (
    COUPON_REASONS,
    CouponCheck,
    CouponOffer,
    Line,
    Offers,
    PricedOrder,
    best_coupon,
    check_coupon,
    price,
    promoted_lines,
)


def lines_from_rows(merged: Mapping[int, int], rows: Mapping[int, Any]) -> list[Line]:
    """Pricing lines from the catalogue rows of the order (sku id → quantity, sku id →
    row with id, product_id, category_id, price_fen, shipping_template_id, weight_g)."""
    return [
        Line(
            sku_id=sku_id,
            product_id=rows[sku_id].product_id,
            category_id=rows[sku_id].category_id,
            unit_fen=rows[sku_id].price_fen,
            quantity=quantity,
            shipping_template_id=rows[sku_id].shipping_template_id,
            weight_g=rows[sku_id].weight_g,
        )
        for sku_id, quantity in merged.items()
    ]


@dataclass(frozen=True)
class ShipTo:
    """Where the order goes, for its shipping fee: see `shipping_fees.ShippingPlan`."""

    region: Region | None
    field: str
    strict: bool = True

    def shipping(self, lines: list[Line]) -> shipping_fees.ShippingPlan | None:
        template_ids = {
            line.shipping_template_id for line in lines if line.shipping_template_id is not None
        }
        return shipping_fees.plan(template_ids, self.region, self.field, self.strict)


def price_lines(
    lines: list[Line],
    coupon: CouponOffer | None,
    now: datetime,
    region: Region | None = None,
    field: str = "address",
    offered: Offers | None = None,
) -> PricedOrder:
    """The lines priced with the offers in force (`offered` when the caller has them: an
    activity's price) and the user's coupon (already checked held and unused), shipped to
    `region`. Raises Conflict `coupon_unusable` (field `coupon_id`), `free_order`, and the
    shipping's `not_delivered` / `region_required` (naming `field`)."""
    shipping = ShipTo(region, field).shipping(lines)
    if offered is None:
        offered = offers.source().offers_for(lines, now)
    return price(lines, offered, coupon, now, shipping)


def check_expected(priced: PricedOrder, expected_payable_fen: int | None) -> None:
    """Raises Conflict `price_changed` (with the new payable in `data`) when the shopper
    saw another price."""
    if expected_payable_fen is not None and expected_payable_fen != priced.payable_fen:
        amount = yuan_text(priced.payable_fen)
        raise Conflict(
            _("The price has changed to %(amount)s; please check the order again.", amount=amount),
            fields={"expected_payable_fen": _("The order now pays %(amount)s.", amount=amount)},
            code="price_changed",
            data={"payable_fen": priced.payable_fen},
        )


@dataclass(frozen=True)
class Preview:
    priced: PricedOrder
    coupons: list[CouponCheck]
    suggested: CouponCheck | None

    @staticmethod
    def reason_text(check: CouponCheck) -> str:
        return str(COUPON_REASONS[check.reason]) if check.reason else ""


def preview(
    user_id: int,
    lines: list[Line],
    coupon_id: int | None,
    now: datetime,
    offered: Offers | None = None,
    ship_to: ShipTo | None = None,
) -> Preview:
    """The priced order (with `coupon_id` if given, shipped per `ship_to`), every coupon
    the user holds checked against it, and the one that takes most off; `offered`: the
    source's offers for these lines when the caller has read them already, or an
    activity's price (none of the coupons usable unless the activity allows). Writes
    nothing."""
    source = offers.source()
    if offered is None:
        offered = source.offers_for(lines, now)
    promoted = promoted_lines(lines, offered, now)
    checks = [check_coupon(promoted, held, now) for held in source.held_coupons(user_id, now)]
    if offered.activity is not None and not offered.activity.coupons_allowed:
        checks = [CouponCheck(check.coupon, False, "not_stackable") for check in checks]
    chosen = source.held_coupon(user_id, coupon_id, now) if coupon_id else None
    shipping = (ship_to or ShipTo(None, "", strict=False)).shipping(lines)
    return Preview(price(lines, offered, chosen, now, shipping), checks, best_coupon(checks))
