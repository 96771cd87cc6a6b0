"""`flask reconcile`'s checks of prices and coupons, one aggregate query each:
- an order's payable equals its items' paid amounts plus shipping, and each item's paid
  amount is its list amount less the offers' shares recorded for it;
- no coupon serves two orders that are paid and not wholly refunded;
- per template: used ≤ issued ≤ total, remaining = total − issued, and issued equals the
  coupons claimed from it (reissues after refunds aside).
"""

from __future__ import annotations

from sqlalchemy import func, or_, select

from wxdist.core.extensions import db
from wxdist.models import Coupon, CouponTemplate, Order, OrderAdjustment, OrderItem, OrderStatus

LIMIT = 1000


def check_order_prices() -> list[str]:
    items = (
        select(OrderItem.order_id, func.sum(OrderItem.paid_fen).label("paid"))
        .group_by(OrderItem.order_id)
        .subquery()
    )
    orders = db.session.execute(
        select(Order.id, Order.payable_fen, Order.shipping_fen, items.c.paid)
        .join(items, items.c.order_id == Order.id)
        .where(Order.payable_fen != items.c.paid + Order.shipping_fen)
        .limit(LIMIT)
    ).all()
    problems = [
        f"order {oid}: payable {payable} ≠ items paid {paid} + shipping {shipping}"
        for oid, payable, shipping, paid in orders
    ]
    shares = (
        select(OrderAdjustment.order_item_id, func.sum(OrderAdjustment.amount_fen).label("off"))
        .group_by(OrderAdjustment.order_item_id)
        .subquery()
    )
    off = func.coalesce(shares.c.off, 0)
    wrong = db.session.execute(
        select(OrderItem.id, OrderItem.amount_fen, OrderItem.paid_fen, off)
        .outerjoin(shares, shares.c.order_item_id == OrderItem.id)
        .where(OrderItem.paid_fen != OrderItem.amount_fen - off)
        .limit(LIMIT)
    ).all()
    problems.extend(
        f"order item {iid}: paid {paid} ≠ amount {amount} − offers {taken}"
        for iid, amount, paid, taken in wrong
    )
    return problems


def check_coupons_used_once() -> list[str]:
    twice = db.session.execute(
        select(Order.coupon_id, func.count())
        .where(
            Order.coupon_id.is_not(None),
            Order.paid_at.is_not(None),
            Order.status != OrderStatus.REFUNDED,
        )
        .group_by(Order.coupon_id)
        .having(func.count() > 1)
        .limit(LIMIT)
    ).all()
    return [f"coupon {cid}: used by {n} paid orders" for cid, n in twice]


def check_templates() -> list[str]:
    claimed = (
        select(Coupon.template_id, func.count().label("n"))
        .where(Coupon.source != "reissue")
        .group_by(Coupon.template_id)
        .subquery()
    )
    count = func.coalesce(claimed.c.n, 0)
    t = CouponTemplate
    wrong = db.session.execute(
        select(t.id, t.total, t.remaining, t.issued_count, t.used_count, count)
        .outerjoin(claimed, claimed.c.template_id == t.id)
        .where(
            or_(
                t.used_count > t.issued_count,
                t.issued_count > t.total,
                t.remaining != t.total - t.issued_count,
                t.issued_count != count,
            )
        )
        .limit(LIMIT)
    ).all()
    return [
        f"coupon template {tid}: total {total}, remaining {left}, issued {issued} "
        f"({n} claimed), used {used}"
        for tid, total, left, issued, used, n in wrong
    ]


def check_all() -> list[str]:
    return [*check_order_prices(), *check_coupons_used_once(), *check_templates()]
