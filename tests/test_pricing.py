"""The pricing pipeline and the largest-remainder split (wxdist/shop/pricing.py,
wxdist/core/money.py): exact to the fen, never negative, deterministic, and commission
never above what a line paid. Property tests (Hypothesis) and the cases the anchors get
wrong, as a shopper would see them."""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from wxdist.core.errors import Conflict
from wxdist.core.money import apply_rate, split_by_weight
from wxdist.shop.pricing import (
    COUPON,
    REDUCTION,
    CouponOffer,
    FullReduction,
    Line,
    Offers,
    Scope,
    Tier,
    TimedDiscount,
    Window,
    best_coupon,
    check_coupon,
    price,
    promoted_lines,
)

NOW = datetime(2026, 12, 3, 12, 0)
OPEN = Window(NOW - timedelta(days=1), NOW + timedelta(days=1))
OVER = Window(NOW - timedelta(days=2), NOW - timedelta(days=1))


# -- the split ------------------------------------------------------------------------


@st.composite
def splits(draw: st.DrawFn) -> tuple[int, list[int]]:
    weights = draw(st.lists(st.integers(0, 10**7), min_size=1, max_size=12))
    amount = draw(st.integers(0, sum(weights)))
    return amount, weights


@given(splits())
@settings(max_examples=400, deadline=None)
def test_a_split_sums_exactly_and_keeps_every_part_within_its_line(case: tuple) -> None:
    amount, weights = case
    parts = split_by_weight(amount, weights)
    assert sum(parts) == amount
    assert all(0 <= part <= weight for part, weight in zip(parts, weights, strict=True))
    whole = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = Fraction(amount * weight, whole) if whole else Fraction(0)
        assert abs(part - exact) < 1  # largest remainder: each part within a fen of exact
    assert split_by_weight(amount, list(weights)) == parts


def test_a_split_gives_the_odd_fen_to_the_largest_remainder_then_the_earlier_line() -> None:
    assert split_by_weight(100, [100, 100, 100]) == [34, 33, 33]
    assert split_by_weight(10, [10, 20]) == [3, 7]
    assert split_by_weight(2, [1, 1, 1]) == [1, 1, 0]
    assert split_by_weight(5, [3, 7]) == [1, 4]  # 1.5 / 3.5: tie → the larger line
    with pytest.raises(ValueError):
        split_by_weight(11, [5, 5])


# -- the pipeline ---------------------------------------------------------------------

rates = st.integers(1, 10_000)


@st.composite
def orders(draw: st.DrawFn) -> tuple[list[Line], Offers, CouponOffer | None]:
    count = draw(st.integers(1, 6))
    lines = [
        Line(
            sku_id=i + 1,
            product_id=draw(st.integers(1, 4)),
            category_id=draw(st.one_of(st.none(), st.integers(1, 3))),
            unit_fen=draw(st.integers(1, 200_000)),
            quantity=draw(st.integers(1, 20)),
        )
        for i in range(count)
    ]
    scopes = st.builds(
        Scope,
        product_ids=st.frozensets(st.integers(1, 4), max_size=2),
        category_ids=st.frozensets(st.integers(1, 3), max_size=1),
        excluded_product_ids=st.frozensets(st.integers(1, 4), max_size=1),
    )
    discounts = tuple(
        TimedDiscount(
            id=10 + i,
            sku_id=draw(st.integers(1, count)),
            window=draw(st.sampled_from([OPEN, OVER])),
            price_fen=price_fen,
            pay_rate_bp=None if price_fen is not None else draw(rates),
            no_commission=draw(st.booleans()),
        )
        for i, price_fen in enumerate(
            draw(st.lists(st.one_of(st.none(), st.integers(1, 300_000)), max_size=4))
        )
    )
    tiers = st.builds(
        Tier,
        threshold=st.integers(0, 500_000),
        off_fen=st.one_of(st.none(), st.integers(1, 600_000)),
        pay_rate_bp=rates,
    )
    reductions = tuple(
        FullReduction(
            id=20 + i,
            window=OPEN,
            tiers=tuple(draw(st.lists(tiers, min_size=1, max_size=3))),
            by_count=draw(st.booleans()),
            scope=draw(scopes),
            no_commission=draw(st.booleans()),
        )
        for i in range(draw(st.integers(0, 2)))
    )
    coupon = draw(
        st.one_of(
            st.none(),
            st.builds(
                CouponOffer,
                id=st.just(30),
                template_id=st.just(3),
                window=st.just(OPEN),
                threshold_fen=st.integers(0, 100_000),
                off_fen=st.one_of(st.none(), st.integers(1, 10**7)),
                pay_rate_bp=rates,
                cap_fen=st.one_of(st.none(), st.integers(1, 100_000)),
                scope=scopes,
                stackable=st.booleans(),
            ),
        )
    )
    return lines, Offers(discounts, reductions), coupon


@given(orders(), st.integers(0, 10_000))
@settings(max_examples=400, deadline=None)
def test_every_priced_order_adds_up_to_the_fen(case: tuple, commission_bp: int) -> None:
    lines, offers, coupon = case
    before_coupon = promoted_lines(lines, offers, NOW)
    check = check_coupon(before_coupon, coupon, NOW) if coupon else None
    chosen = coupon if check and check.usable else None
    order = price(lines, offers, chosen, NOW)

    assert order == price(lines, offers, chosen, NOW)  # deterministic
    assert 1 <= order.payable_fen <= order.goods_fen
    assert order.payable_fen == sum(line.paid_fen for line in order.lines)
    assert order.goods_fen - order.off() == order.payable_fen
    for line in order.lines:
        assert 0 <= line.paid_fen <= line.list_fen
        assert all(adjustment.fen > 0 for adjustment in line.adjustments)
        commission = apply_rate(line.commission_base_fen, commission_bp)
        assert 0 <= commission <= line.paid_fen
    if chosen is not None:
        assert check is not None
        assert order.off(COUPON) == check.discount_fen
        assert order.coupon_id == chosen.id
    for reduction in offers.reductions:
        for line in order.lines:
            if any(a.kind == REDUCTION and a.source_id == reduction.id for a in line.adjustments):
                assert reduction.scope.covers(line.line), "a reduction left its scope"
    if chosen is not None and not chosen.stackable:
        assert all(not line.promoted for line in order.lines if line.off(COUPON))


# -- what a shopper sees --------------------------------------------------------------


def one(unit_fen: int, quantity: int = 1, sku_id: int = 1, product_id: int = 1) -> Line:
    return Line(sku_id, product_id, None, unit_fen, quantity)


def coupon(**kwargs: object) -> CouponOffer:
    values: dict = {"id": 7, "template_id": 1, "window": OPEN}
    values.update(kwargs)
    return CouponOffer(**values)


def test_a_coupon_larger_than_the_order_leaves_it_paying_one_fen_not_less() -> None:
    order = price([one(5_000)], Offers(), coupon(off_fen=10_000), NOW)
    assert order.payable_fen == 1
    assert order.off(COUPON) == 4_999


def test_a_coupon_split_over_three_equal_lines_puts_the_odd_fen_on_the_first() -> None:
    lines = [one(100, sku_id=1), one(100, sku_id=2), one(100, sku_id=3)]
    order = price(lines, Offers(), coupon(off_fen=100), NOW)
    assert [line.paid_fen for line in order.lines] == [66, 67, 67]


def test_a_rate_is_basis_points_of_what_the_shopper_pays() -> None:
    """8000 is 8折: ¥100.00 pays ¥80.00 (not ¥0.80, not ¥99.20)."""
    order = price([one(10_000)], Offers(), coupon(pay_rate_bp=8_000), NOW)
    assert order.payable_fen == 8_000
    capped = price([one(10_000)], Offers(), coupon(pay_rate_bp=8_000, cap_fen=500), NOW)
    assert capped.payable_fen == 9_500


def test_the_steps_apply_in_order_discount_then_reduction_then_coupon() -> None:
    discount = TimedDiscount(1, sku_id=1, window=OPEN, price_fen=9_000)
    reduction = FullReduction(2, OPEN, (Tier(15_000, off_fen=2_000), Tier(10_000, off_fen=1_000)))
    lines = [one(10_000, quantity=2)]  # list 200.00 → 180.00 → tier 150 reached: 160.00
    order = price(lines, Offers((discount,), (reduction,)), coupon(off_fen=500), NOW)
    assert order.goods_fen == 20_000
    assert [order.off(kind) for kind in ("discount", REDUCTION, COUPON)] == [2_000, 2_000, 500]
    assert order.payable_fen == 15_500
    assert order.promotion_ids == {"discount": [1], "reduction": [2]}


def test_a_coupon_that_does_not_stack_counts_only_lines_without_a_promotion(app: Flask) -> None:
    discount = TimedDiscount(1, sku_id=1, window=OPEN, price_fen=5_000)
    lines = [one(10_000, sku_id=1), one(3_000, sku_id=2, product_id=2)]
    offers = Offers((discount,))
    alone = coupon(off_fen=1_000, threshold_fen=4_000, stackable=False)
    check = check_coupon(promoted_lines(lines, offers, NOW), alone, NOW)
    assert (check.usable, check.reason) == (False, "below_threshold")  # only ¥30 counts
    with (
        app.test_request_context(headers={"Accept-Language": "zh-CN"}),
        pytest.raises(Conflict) as refused,
    ):
        price(lines, offers, alone, NOW)
    assert refused.value.code == "coupon_unusable"
    assert "coupon_id" in refused.value.fields


def test_expired_and_future_coupons_are_not_usable_and_the_best_is_suggested() -> None:
    lines = promoted_lines([one(10_000)], Offers(), NOW)
    later = Window(NOW + timedelta(days=1), NOW + timedelta(days=2))
    checks = [
        check_coupon(lines, coupon(id=1, off_fen=500, window=OVER), NOW),
        check_coupon(lines, coupon(id=2, off_fen=900, window=later), NOW),
        check_coupon(lines, coupon(id=3, off_fen=300), NOW),
        check_coupon(lines, coupon(id=4, pay_rate_bp=9_500), NOW),  # 5.00 off, ends later
        check_coupon(
            lines,
            coupon(id=5, off_fen=500, window=Window(OPEN.starts_at, NOW + timedelta(hours=1))),
            NOW,
        ),
    ]
    assert [c.reason for c in checks[:2]] == ["expired", "not_started"]
    best = best_coupon(checks)
    assert best is not None
    assert (best.coupon.id, best.discount_fen) == (5, 500)  # as much off as 4, ends first
