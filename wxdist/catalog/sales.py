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

from sqlalchemy import bindparam, case, func, select, update

from wxdist.core import direct_sql
from wxdist.core.extensions import db
from wxdist.models import OrderItem, Product


def units(items: Iterable[OrderItem]) -> dict[int, int]:
    """{product_id: quantity} of these order lines."""
    counted: dict[int, int] = {}
    for item in items:
        counted[item.product_id] = counted.get(item.product_id, 0) + item.quantity
    return counted


_items, _products = OrderItem.__table__, Product.__table__
_OF_ORDER = _items.c.order_id == bindparam("order_id")
_COUNT_PAID = (
    update(_products)
    .where(_products.c.id.in_(select(_items.c.product_id).where(_OF_ORDER)))
    .values(
        sales_count=_products.c.sales_count
        + select(func.sum(_items.c.quantity))
        .where(_OF_ORDER, _items.c.product_id == _products.c.id)
        .scalar_subquery()
    )
)


def count_paid_order(order_id: int) -> None:
    """Add the units of order `order_id`'s lines to their products' sales counts, in one
    statement built once (the payment's hot path reads no line), on the cursor
    (`direct_sql`); no commit. Loaded products keep their count until refreshed."""
    direct_sql.execute(_COUNT_PAID, {"order_id": order_id})


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
