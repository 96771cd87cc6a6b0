"""What the ranking reads, in set-based SQL: a handful of aggregate queries per refresh
and a few per batch of distributors, never one per distributor.

Every signal counts paid order lines (order paid, shipped or completed; the line not wholly
refunded) of orders paid in the window [since, as_of), so an offline evaluation can train
on the history before a cut date (bench/recommend_eval.py) with the same code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true, union
from sqlalchemy.orm import aliased

from wxdist.core.extensions import db
from wxdist.models import Order, OrderItem, OrderStatus, Product, Referral, ShareCode, Sku

PAID_STATUSES = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED)


@dataclass(frozen=True)
class Window:
    as_of: datetime
    since: datetime | None = None


def _paid(window: Window, order: Any = Order) -> ColumnElement[bool]:
    where = [order.status.in_(PAID_STATUSES), order.paid_at < window.as_of]
    if window.since is not None:
        where.append(order.paid_at >= window.since)
    return and_(*where)


def _line_kept(item: Any = OrderItem) -> ColumnElement[bool]:
    return or_(item.refunded_fen == 0, item.refunded_fen < item.paid_fen)


@dataclass(frozen=True)
class Catalogue:
    """The products that may be recommended (on shelf, an active SKU in stock) and what
    the ranking knows of every product sold in the window."""

    category: dict[int, int | None]  # recommendable product -> category
    units: dict[int, int]  # product -> units sold in the window
    orders: dict[int, int]  # product -> orders containing it in the window


def catalogue(window: Window) -> Catalogue:
    in_stock = (
        select(Sku.product_id)
        .where(Sku.is_active.is_(True), Sku.stock > 0)
        .group_by(Sku.product_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Product.id, Product.category_id)
        .join(in_stock, in_stock.c.product_id == Product.id)
        .where(Product.on_shelf == true(), Product.min_price_fen > 0)
    )
    category = {row[0]: row[1] for row in rows}
    units: dict[int, int] = {}
    orders: dict[int, int] = {}
    sold = db.session.execute(
        select(
            OrderItem.product_id,
            func.sum(OrderItem.quantity),
            func.count(func.distinct(OrderItem.order_id)),
        )
        .join(Order, Order.id == OrderItem.order_id)
        .where(_paid(window), _line_kept())
        .group_by(OrderItem.product_id)
    )
    for product_id, quantity, n_orders in sold:
        units[product_id] = int(quantity or 0)
        orders[product_id] = int(n_orders or 0)
    return Catalogue(category, units, orders)


def co_purchases(window: Window, n_orders: dict[int, int], top_k: int) -> dict[int, list[Any]]:
    """For each product i, its `top_k` partners j by how often a basket with i holds j:
    orders(i and j) / orders(i), from one self-join of order lines."""
    other = aliased(OrderItem)
    pairs = db.session.execute(
        select(OrderItem.product_id, other.product_id, func.count())
        .join(Order, Order.id == OrderItem.order_id)
        .join(other, other.order_id == OrderItem.order_id)
        .where(
            _paid(window),
            _line_kept(),
            _line_kept(other),
            other.product_id != OrderItem.product_id,
        )
        .group_by(OrderItem.product_id, other.product_id)
    )
    found: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for first, second, together in pairs:
        found[first].append((min(together / max(n_orders.get(first, 1), 1), 1.0), second))
    return {i: sorted(partners, reverse=True)[:top_k] for i, partners in found.items()}


def audiences(distributor_ids: Sequence[int], window: Window) -> dict[int, dict[int, int]]:
    """distributor -> product -> how many of their audience bought it in the window. The
    audience: buyers bound to the distributor (referrals.parent_id) and buyers of orders
    attributed to them (orders.referrer_l1_id), before `as_of`."""
    if not distributor_ids:
        return {}
    ids = list(distributor_ids)
    bound = select(Referral.parent_id.label("d"), Referral.user_id.label("u")).where(
        Referral.parent_id.in_(ids),
        or_(Referral.bound_at.is_(None), Referral.bound_at < window.as_of),
    )
    attributed = select(Order.referrer_l1_id.label("d"), Order.user_id.label("u")).where(
        Order.referrer_l1_id.in_(ids), _paid(window)
    )
    audience = union(bound, attributed).subquery()
    rows = db.session.execute(
        select(audience.c.d, OrderItem.product_id, func.count(func.distinct(Order.user_id)))
        .select_from(audience)
        .join(Order, Order.user_id == audience.c.u)
        .join(OrderItem, OrderItem.order_id == Order.id)
        .where(_paid(window), _line_kept(), Order.user_id != audience.c.d)
        .group_by(audience.c.d, OrderItem.product_id)
    )
    found: dict[int, dict[int, int]] = defaultdict(dict)
    for distributor_id, product_id, buyers in rows:
        found[distributor_id][product_id] = int(buyers)
    return found


def global_conversion(window: Window) -> float:
    """Attributed paid orders per share-code scan over the whole programme, smoothed."""
    scans = db.session.scalar(select(func.coalesce(func.sum(ShareCode.scans), 0))) or 0
    attributed = (
        db.session.scalar(
            select(func.count())
            .select_from(Order)
            .where(Order.referrer_l1_id.is_not(None), _paid(window))
        )
        or 0
    )
    return (attributed + 1) / (int(scans) + 1)


def channels(
    distributor_ids: Sequence[int], window: Window
) -> dict[tuple[int, int], tuple[int, int]]:
    """(distributor, product) -> (scans of their codes for the product, their attributed
    paid orders containing it), for products they have a share code for."""
    if not distributor_ids:
        return {}
    ids = list(distributor_ids)
    scans = db.session.execute(
        select(ShareCode.distributor_id, ShareCode.product_id, func.sum(ShareCode.scans))
        .where(ShareCode.distributor_id.in_(ids), ShareCode.product_id.is_not(None))
        .group_by(ShareCode.distributor_id, ShareCode.product_id)
    )
    found = {(d, p): (int(n or 0), 0) for d, p, n in scans}
    if not found:
        return found
    orders = db.session.execute(
        select(Order.referrer_l1_id, OrderItem.product_id, func.count(func.distinct(Order.id)))
        .join(OrderItem, OrderItem.order_id == Order.id)
        .where(Order.referrer_l1_id.in_(ids), _paid(window), _line_kept())
        .group_by(Order.referrer_l1_id, OrderItem.product_id)
    )
    for distributor_id, product_id, n in orders:
        key = (distributor_id, product_id)
        if key in found:
            found[key] = (found[key][0], int(n))
    return found


def catalogue_now(product_ids: Sequence[int]) -> set[int]:
    """Those of `product_ids` that may be recommended now: on shelf, an active SKU in
    stock."""
    if not product_ids:
        return set()
    return set(
        db.session.scalars(
            select(Product.id)
            .join(Sku, Sku.product_id == Product.id)
            .where(
                Product.id.in_(list(product_ids)),
                Product.on_shelf == true(),
                Product.min_price_fen > 0,
                Sku.is_active.is_(True),
                Sku.stock > 0,
            )
            .distinct()
        )
    )
