"""What an after-sale may ask for: settings, reasons, the window, what a line has left."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from wxdist.core.extensions import db
from wxdist.models import (
    AfterSale,
    AfterSaleStatus,
    Order,
    OrderItem,
    OrderStatus,
    Refund,
    RefundStatus,
)

MAX_EVIDENCE = 9

# Reason codes (stable) and what the shopper and staff read.
REASONS = {
    "not_received": _l("Parcel not received"),
    "damaged": _l("Arrived damaged"),
    "wrong_item": _l("Wrong item sent"),
    "missing_parts": _l("Missing parts or items"),
    "quality": _l("Quality problem"),
    "not_as_described": _l("Not as described"),
    "changed_mind": _l("Changed my mind (no reason)"),
    "other": _l("Other"),
}

# Order statuses in which an after-sale may be applied for.
APPLICABLE = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED)
WAITING = tuple(s for s in AfterSaleStatus.OPEN if s != AfterSaleStatus.REFUNDING)


def days(name: str) -> timedelta:
    return timedelta(days=int(current_app.config[name]))


def window_ends(order: Order) -> datetime | None:
    """When applications stop being taken (None: open until the order completes)."""
    if order.completed_at is None:
        return None
    return order.completed_at + days("AFTERSALE_WINDOW_DAYS")


def quantity_left(item: OrderItem) -> int:
    refunded = db.session.scalar(
        select(func.coalesce(func.sum(AfterSale.quantity), 0)).where(
            AfterSale.order_item_id == item.id, AfterSale.status == AfterSaleStatus.REFUNDED
        )
    )
    return max(0, item.quantity - int(refunded or 0))


def _processing(*where) -> int:  # type: ignore[no-untyped-def]
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(
                Refund.status == RefundStatus.PROCESSING, *where
            )
        )
        or 0
    )


def amount_left(order: Order, item: OrderItem) -> int:
    """What the line can still refund: its own unrefunded amount less refunds in flight on
    it, and no more than the order has left once refunds in flight and the other lines'
    open after-sales (not yet refunding) are counted."""
    on_item = item.paid_fen - item.refunded_fen - _processing(Refund.order_item_id == item.id)
    others = db.session.scalar(
        select(func.coalesce(func.sum(AfterSale.amount_fen), 0)).where(
            AfterSale.order_id == order.id,
            AfterSale.order_item_id != item.id,
            AfterSale.status.in_(WAITING),
        )
    )
    on_order = (
        order.paid_fen
        - order.refunded_fen
        - _processing(Refund.order_id == order.id)
        - int(others or 0)
    )
    return max(0, min(on_item, on_order))


def amount_cap(item: OrderItem, quantity: int, qty_left: int, left: int) -> int:
    """The most `quantity` units may refund: everything left for the last units, else
    their share of what the line paid."""
    if quantity >= qty_left:
        return left
    return min(left, item.paid_fen * quantity // item.quantity)


def open_item_ids(order_id: int) -> set[int]:
    """The order's lines with an after-sale open (their commission stays frozen)."""
    return set(
        db.session.scalars(
            select(AfterSale.order_item_id).where(
                AfterSale.order_id == order_id, AfterSale.status.in_(AfterSaleStatus.OPEN)
            )
        ).all()
    )
