"""Units sold per product (`products.sales_count`), what the "by sales" order reads.

Decision: the count is units *paid, net of refunded lines*, as most Chinese shops show it.
The shop calls `count_paid_order` inside the transaction that marks an order paid (the order's
compare-and-set makes it once per order) and `count_refunded` inside the refund's
transaction for each line that the refund made wholly refunded (a line whose paid amount
has all gone back, or every line of an order refunded in full); a partial refund of a line
keeps its units. Unpaid orders that are cancelled or closed never counted.

Each change is an atomic update: on payment one statement adding each line's units to its
product (`sales_count + n`), on refund one per product in product id order, taking
`sales_count - n` where at least n are counted (never below zero).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import case, func, select, update

from wxdist.core.extensions import db
from wxdist.models import OrderItem, Product


def units(items: Iterable[OrderItem]) -> dict[int, int]:
    """{product_id: quantity} of these order lines."""
    counted: dict[int, int] = {}
    for item in items:
        counted[item.product_id] = counted.get(item.product_id, 0) + item.quantity
    return counted


def count_paid_order(order_id: int) -> None:
    """Add the units of order `order_id`'s lines to their products' sales counts, in one
    statement (the payment's hot path reads no line); no commit."""
    items = OrderItem.__table__
    of_order = items.c.order_id == order_id
    added = (
        select(func.sum(items.c.quantity))
        .where(of_order, items.c.product_id == Product.id)
        .scalar_subquery()
    )
    db.session.execute(
        update(Product)
        .where(Product.id.in_(select(items.c.product_id).where(of_order)))
        .values(sales_count=Product.sales_count + added)
        .execution_options(synchronize_session=False)
    )


def count_refunded(units: Mapping[int, int]) -> None:
    """Take `units` ({product_id: quantity}) off the products' sales counts, never below
    zero; no commit."""
    for product_id in sorted(units):
        quantity = units[product_id]
        if quantity > 0:
            db.session.execute(
                update(Product)
                .where(Product.id == product_id, Product.sales_count > 0)
                .values(
                    sales_count=case(
                        (Product.sales_count >= quantity, Product.sales_count - quantity),
                        else_=0,
                    )
                )
                .execution_options(synchronize_session=False)
            )
