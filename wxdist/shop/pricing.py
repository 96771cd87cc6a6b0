"""The one pricing pipeline: what each line of an order pays, computed once on the server.

`price()` is a pure function of the lines (with their list prices), the offers in force
(limited-time discounts per SKU, full reductions), the coupon the shopper chose and the
time. Steps, in this order:

1. **limited-time discount** per SKU: a promotional unit price, or a rate of the list
   price (`pay_rate_bp`, basis points of what the shopper pays: 8500 is 8.5折);
2. **full reductions** (满减 / 满折): per reduction, the lines in its scope are measured
   (amount after step 1, or item count), the highest tier reached applies;
3. **coupon**: fixed amount, or a rate with a cap, over the lines in its scope (only lines
   without a promotion when the coupon does not stack), above its threshold;
4. **shipping**: the `Shipping` given (`shop.shipping_fees`: each product's template for
   the address's region, over the lines as they now pay), none without one; a reached
   full-reduction tier with `free_shipping` makes it 0 (a region not delivered to is
   still refused).

An order-level amount (a reduction, a coupon) is split over its lines by largest
remainder of each line's current payable (`core.money.split_by_weight`): exact,
deterministic, no line below zero. Every order-level amount is capped so the order still
pays at least 1 fen; an order that would still be free (every line priced 0) is refused.
Rates round the discount half down (`core.money.apply_rate`): never more off than exact.

Commission base: a line's `paid_fen` after every step, shipping excluded; 0 for a line
that a "no commission" promotion touched.

An **activity price** (`ActivityPrice`: a flash sale, a group buy) replaces steps 1 and 2:
its line pays the activity's unit price (recorded as the activity's share, kind `flash`
or `group`), no discount or reduction applies, and a coupon only when the activity allows
coupons (and then only a stackable one: the line is promoted).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from wxdist.core.errors import Conflict
from wxdist.core.money import BP_WHOLE, apply_rate, split_by_weight

DISCOUNT, REDUCTION, COUPON = "discount", "reduction", "coupon"

# Why a coupon the shopper holds cannot be used on an order: code → what they read.
COUPON_REASONS = {
    "not_started": _l("This coupon cannot be used yet."),
    "expired": _l("This coupon has expired."),
    "no_eligible_items": _l("No item in this order can use this coupon."),
    "not_stackable": _l("This coupon cannot be combined with the promotions in this order."),
    "below_threshold": _l("The order has not reached this coupon's minimum spend."),
    "nothing_to_take": _l("This coupon takes nothing off this order."),
}


def off_at_pay_rate(base_fen: int, pay_rate_bp: int | None) -> int:
    """What a rate takes off `base_fen` when the shopper pays `pay_rate_bp` of it (none
    off without a rate), rounded half down: never more off than exact."""
    return apply_rate(base_fen, BP_WHOLE - (pay_rate_bp or BP_WHOLE))


@dataclass(frozen=True)
class Line:
    """One SKU of an order, at its list price."""

    sku_id: int
    product_id: int
    category_id: int | None
    unit_fen: int
    quantity: int
    shipping_template_id: int | None = None  # None: ships free
    weight_g: int = 0  # of one unit

    @property
    def list_fen(self) -> int:
        return self.unit_fen * self.quantity


@dataclass(frozen=True)
class Scope:
    """Which lines an offer covers: all when nothing is included; exclusions win."""

    product_ids: frozenset[int] = frozenset()
    category_ids: frozenset[int] = frozenset()
    excluded_product_ids: frozenset[int] = frozenset()
    excluded_category_ids: frozenset[int] = frozenset()

    def covers(self, line: Line) -> bool:
        if line.product_id in self.excluded_product_ids:
            return False
        if line.category_id is not None and line.category_id in self.excluded_category_ids:
            return False
        if not self.product_ids and not self.category_ids:
            return True
        return line.product_id in self.product_ids or line.category_id in self.category_ids


@dataclass(frozen=True)
class Window:
    starts_at: datetime
    ends_at: datetime

    def open_at(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at


@dataclass(frozen=True)
class TimedDiscount:
    """A limited-time price for one SKU: `price_fen` per unit, or `pay_rate_bp` of it."""

    id: int
    sku_id: int
    window: Window
    price_fen: int | None = None
    pay_rate_bp: int | None = None
    no_commission: bool = False

    def unit_price(self, unit_fen: int) -> int:
        """The promotional unit price (at least 1 fen, never above the list price)."""
        if self.price_fen is not None:
            offer = self.price_fen
        else:
            offer = unit_fen - off_at_pay_rate(unit_fen, self.pay_rate_bp)
        return max(1, min(unit_fen, offer))


@dataclass(frozen=True)
class Tier:
    """Reached at `threshold` (fen, or items when the reduction counts items); takes
    `off_fen` off, or leaves `pay_rate_bp` of the amount to pay."""

    threshold: int
    off_fen: int | None = None
    pay_rate_bp: int | None = None
    free_shipping: bool = False  # reaching the tier also ships the order free

    def discount(self, base_fen: int) -> int:
        if self.off_fen is not None:
            return self.off_fen
        if self.pay_rate_bp is None:
            return 0  # a free-shipping-only tier
        return off_at_pay_rate(base_fen, self.pay_rate_bp)


@dataclass(frozen=True)
class FullReduction:
    id: int
    window: Window
    tiers: tuple[Tier, ...]
    by_count: bool = False
    scope: Scope = field(default_factory=Scope)
    no_commission: bool = False

    def tier_for(self, amount_fen: int, count: int) -> Tier | None:
        measure = count if self.by_count else amount_fen
        reached = [tier for tier in self.tiers if tier.threshold <= measure]
        return max(reached, key=lambda tier: tier.threshold) if reached else None


@dataclass(frozen=True)
class CouponOffer:
    """A coupon the shopper holds: `off_fen`, or `pay_rate_bp` with `cap_fen`."""

    id: int
    template_id: int
    window: Window
    threshold_fen: int = 0
    off_fen: int | None = None
    pay_rate_bp: int | None = None
    cap_fen: int | None = None
    scope: Scope = field(default_factory=Scope)
    stackable: bool = True
    name: str = ""

    def discount(self, base_fen: int) -> int:
        if self.off_fen is not None:
            return self.off_fen
        off = off_at_pay_rate(base_fen, self.pay_rate_bp)
        return min(off, self.cap_fen) if self.cap_fen is not None else off


@dataclass(frozen=True)
class ActivityPrice:
    """An activity's unit price for its SKU, exclusive of every other promotion."""

    kind: str  # the adjustment's kind: flash | group
    source_id: int  # the activity
    sku_id: int
    unit_fen: int
    coupons_allowed: bool = False
    no_commission: bool = True


@dataclass(frozen=True)
class Offers:
    """The promotions in force for a set of lines (from the marketing package), or the
    one activity that prices them alone."""

    discounts: tuple[TimedDiscount, ...] = ()
    reductions: tuple[FullReduction, ...] = ()
    activity: ActivityPrice | None = None


@dataclass(frozen=True)
class Adjustment:
    """One offer's share of one line."""

    kind: str  # discount | reduction | coupon
    source_id: int
    fen: int


@dataclass(frozen=True)
class PricedLine:
    line: Line
    adjustments: tuple[Adjustment, ...] = ()
    no_commission: bool = False

    @property
    def list_fen(self) -> int:
        return self.line.list_fen

    def off(self, kind: str | None = None) -> int:
        return sum(a.fen for a in self.adjustments if kind is None or a.kind == kind)

    @property
    def paid_fen(self) -> int:
        return self.list_fen - self.off()

    @property
    def commission_base_fen(self) -> int:
        """What commission is computed on: the paid amount, 0 under a no-commission offer."""
        return 0 if self.no_commission else self.paid_fen

    @property
    def promoted(self) -> bool:
        return any(a.kind != COUPON for a in self.adjustments)


@dataclass(frozen=True)
class CouponCheck:
    """Whether a coupon can be used on the order and, if so, what it takes off."""

    coupon: CouponOffer
    usable: bool
    reason: str  # "" when usable: not_started | expired | no_eligible_items |
    # not_stackable | below_threshold | nothing_to_take
    discount_fen: int = 0
    line_indexes: tuple[int, ...] = ()  # the lines it is split over


class Shipping(Protocol):
    def fee(self, lines: Sequence[PricedLine]) -> int:
        """What delivering these lines costs (fen). Raises Conflict when the address is
        not delivered to."""
        ...


@dataclass(frozen=True)
class PricedOrder:
    lines: tuple[PricedLine, ...]
    coupon_id: int | None = None
    shipping_fen: int = 0

    @property
    def goods_fen(self) -> int:
        return sum(line.list_fen for line in self.lines)

    def off(self, kind: str | None = None) -> int:
        return sum(line.off(kind) for line in self.lines)

    @property
    def payable_fen(self) -> int:
        return sum(line.paid_fen for line in self.lines) + self.shipping_fen

    @property
    def promotion_ids(self) -> dict[str, list[int]]:
        found: dict[str, set[int]] = {DISCOUNT: set(), REDUCTION: set()}
        for line in self.lines:
            for adjustment in line.adjustments:
                if adjustment.kind in found:
                    found[adjustment.kind].add(adjustment.source_id)
        return {kind: sorted(ids) for kind, ids in found.items()}


def _apply_discounts(
    lines: Sequence[Line], discounts: Iterable[TimedDiscount], now: datetime
) -> list[PricedLine]:
    by_sku: dict[int, TimedDiscount] = {}
    for discount in sorted(discounts, key=lambda d: d.id):
        if discount.window.open_at(now):
            by_sku.setdefault(discount.sku_id, discount)  # one per SKU; the oldest wins
    priced = []
    for line in lines:
        discount = by_sku.get(line.sku_id)
        off = (
            0
            if discount is None
            else line.list_fen - discount.unit_price(line.unit_fen) * (line.quantity)
        )
        if off > 0 and discount is not None:
            adjustment = Adjustment(DISCOUNT, discount.id, off)
            priced.append(PricedLine(line, (adjustment,), discount.no_commission))
        else:
            priced.append(PricedLine(line))
    return priced


def _spread(
    lines: list[PricedLine],
    chosen: list[int],
    kind: str,
    source_id: int,
    amount: int,
    no_commission: bool = False,
) -> list[PricedLine]:
    """`amount` split over the lines at `chosen` by their current payable."""
    parts = split_by_weight(amount, [lines[i].paid_fen for i in chosen])
    result = list(lines)
    for index, part in zip(chosen, parts, strict=True):
        if part:
            line = result[index]
            result[index] = replace(
                line,
                adjustments=(*line.adjustments, Adjustment(kind, source_id, part)),
                no_commission=line.no_commission or no_commission,
            )
    return result


def _room(lines: list[PricedLine], chosen: list[int]) -> int:
    """The most an order-level amount may take off these lines and keep the order ≥ 1 fen."""
    total = sum(line.paid_fen for line in lines)
    return max(0, min(sum(lines[i].paid_fen for i in chosen), total - 1))


def _apply_reductions(
    lines: list[PricedLine], reductions: Iterable[FullReduction], now: datetime
) -> tuple[list[PricedLine], bool]:
    """The lines after the reductions, and whether a reached tier ships the order free."""
    free_shipping = False
    for reduction in sorted(reductions, key=lambda r: r.id):
        if not reduction.window.open_at(now):
            continue
        chosen = [i for i, priced in enumerate(lines) if reduction.scope.covers(priced.line)]
        amount = sum(lines[i].paid_fen for i in chosen)
        count = sum(lines[i].line.quantity for i in chosen)
        tier = reduction.tier_for(amount, count)
        if tier is None:
            continue
        free_shipping = free_shipping or tier.free_shipping
        off = min(tier.discount(amount), _room(lines, chosen))
        if off > 0:
            lines = _spread(lines, chosen, REDUCTION, reduction.id, off, reduction.no_commission)
    return lines, free_shipping


def check_coupon(lines: Sequence[PricedLine], coupon: CouponOffer, now: datetime) -> CouponCheck:
    """Whether `coupon` applies to lines already through steps 1–2, and for how much."""
    if now < coupon.window.starts_at:
        return CouponCheck(coupon, False, "not_started")
    if now >= coupon.window.ends_at:
        return CouponCheck(coupon, False, "expired")
    in_scope = [i for i, priced in enumerate(lines) if coupon.scope.covers(priced.line)]
    if not in_scope:
        return CouponCheck(coupon, False, "no_eligible_items")
    chosen = [i for i in in_scope if coupon.stackable or not lines[i].promoted]
    if not chosen:
        return CouponCheck(coupon, False, "not_stackable")
    base = sum(lines[i].paid_fen for i in chosen)
    if base < coupon.threshold_fen:
        return CouponCheck(coupon, False, "below_threshold")
    off = min(coupon.discount(base), _room(list(lines), chosen))
    if off <= 0:
        return CouponCheck(coupon, False, "nothing_to_take")
    return CouponCheck(coupon, True, "", off, tuple(chosen))


def _at_activity_price(lines: Sequence[Line], activity: ActivityPrice) -> list[PricedLine]:
    """Each line of the activity's SKU at its unit price (never above the list price)."""
    priced = []
    for line in lines:
        off = 0
        if line.sku_id == activity.sku_id:
            off = line.list_fen - min(line.unit_fen, activity.unit_fen) * line.quantity
        adjustments = (Adjustment(activity.kind, activity.source_id, off),) if off > 0 else ()
        priced.append(PricedLine(line, adjustments, activity.no_commission))
    return priced


def _promote(lines: Sequence[Line], offers: Offers, now: datetime) -> tuple[list[PricedLine], bool]:
    if not lines:
        raise ValueError("an order has at least one line")
    if offers.activity is not None:
        return _at_activity_price(lines, offers.activity), False
    return _apply_reductions(_apply_discounts(lines, offers.discounts, now), offers.reductions, now)


def promoted_lines(lines: Sequence[Line], offers: Offers, now: datetime) -> list[PricedLine]:
    """Steps 1 and 2: the lines after limited-time discounts and full reductions."""
    return _promote(lines, offers, now)[0]


def price(
    lines: Sequence[Line],
    offers: Offers,
    coupon: CouponOffer | None,
    now: datetime,
    shipping: Shipping | None = None,
) -> PricedOrder:
    """The priced order. Raises Conflict `coupon_unusable` (field `coupon_id`) when the
    chosen coupon does not apply, `free_order` when the order would pay nothing, and what
    `shipping.fee` raises (a region not delivered to)."""
    priced, free_shipping = _promote(lines, offers, now)
    coupon_id = None
    if coupon is not None:
        check = check_coupon(priced, coupon, now)
        if offers.activity is not None and not offers.activity.coupons_allowed:
            check = CouponCheck(coupon, False, "not_stackable")
        if not check.usable:
            raise Conflict(
                _("This coupon cannot be used on this order."),
                code="coupon_unusable",
                fields={"coupon_id": str(COUPON_REASONS[check.reason])},
            )
        chosen = list(check.line_indexes)
        priced = _spread(priced, chosen, COUPON, coupon.id, check.discount_fen)
        coupon_id = coupon.id
    shipping_fen = shipping.fee(priced) if shipping is not None else 0
    order = PricedOrder(tuple(priced), coupon_id, 0 if free_shipping else shipping_fen)
    if order.payable_fen < 1:
        raise Conflict(_("An order must pay at least ¥0.01."), code="free_order")
    return order


def best_coupon(checks: Iterable[CouponCheck]) -> CouponCheck | None:
    """The usable coupon that takes most off; ties go to the one ending first, then the
    lowest id (so the suggestion does not flicker between equal coupons)."""
    usable = [check for check in checks if check.usable]
    if not usable:
        return None
    return min(usable, key=lambda c: (-c.discount_fen, c.coupon.window.ends_at, c.coupon.id))
