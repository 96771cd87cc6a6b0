"""What the ranking shares across distributors, in set-based SQL: a handful of aggregate
queries per refresh (the per-distributor signals come from
`recommendations.audience_tables`).

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

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.orm import aliased

from wxdist.core.extensions import db
from wxdist.models import Order, OrderItem, OrderStatus, Product, ShareCode, Sku

PAID_STATUSES = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED)


@dataclass(frozen=True)
class Window:
    as_of: datetime
    since: datetime | None = None


def paid(window: Window, order: Any = Order) -> ColumnElement[bool]:
    where = [order.status.in_(PAID_STATUSES), order.paid_at < window.as_of]
    if window.since is not None:
        where.append(order.paid_at >= window.since)
    return and_(*where)


def line_kept(item: Any = OrderItem) -> ColumnElement[bool]:
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
        .where(paid(window), line_kept())
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
            paid(window),
            line_kept(),
            line_kept(other),
            other.product_id != OrderItem.product_id,
        )
        .group_by(OrderItem.product_id, other.product_id)
    )
    found: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for first, second, together in pairs:
        found[first].append((min(together / max(n_orders.get(first, 1), 1), 1.0), second))
    return {i: sorted(partners, reverse=True)[:top_k] for i, partners in found.items()}


def global_conversion(window: Window) -> float:
    """Attributed paid orders per share-code scan over the whole programme, smoothed."""
    scans = db.session.scalar(select(func.coalesce(func.sum(ShareCode.scans), 0))) or 0
    attributed = (
        db.session.scalar(
            select(func.count())
            .select_from(Order)
            .where(Order.referrer_l1_id.is_not(None), paid(window))
        )
        or 0
    )
    return (attributed + 1) / (int(scans) + 1)


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
