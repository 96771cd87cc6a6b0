"""Orders completed: by the shopper confirming receipt, by WeChat's settlement of the
payment (its message push `trade_manage_order_settlement`: the goods were received or the
confirmation period ran out), or by the programme's own confirmation period. Every path
goes through `mark_completed`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from wxdist.core.events import order_completing
from wxdist.core.extensions import db
from wxdist.models import Order, OrderStatus
from wxdist.models.types import utcnow


def mark_completed(order_id: int, now: datetime | None = None) -> bool:
    """Compare-and-set order `order_id` shipped → completed in the caller's transaction
    (not committed), sending `order_completing` when it moved. False when it was not
    shipped: nothing changes."""
    moved = db.session.execute(
        update(Order)
        .where(Order.id == order_id, Order.status == OrderStatus.SHIPPED)
        .values(status=OrderStatus.COMPLETED, completed_at=now or utcnow())
    )
    if moved.rowcount != 1:
        return False
    order_completing.send(__name__, order_id=order_id)
    return True


def complete_shipped(order_id: int, now: datetime | None = None) -> bool:
    """Complete order `order_id` if it is still shipped (which starts its commission's
    freeze); commits. False when it was not shipped (already completed, refunding, ...):
    nothing changes."""
    moved = mark_completed(order_id, now)
    db.session.commit()
    return moved
