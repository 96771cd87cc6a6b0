"""Orders completed by the system rather than by the shopper: WeChat's settlement of the
payment (its message push `trade_manage_order_settlement`) says the goods were received or
the confirmation period ran out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from wxdist.core.extensions import db
from wxdist.models import Order, OrderStatus
from wxdist.models.types import utcnow


def complete_shipped(order_id: int, now: datetime | None = None) -> bool:
    """Complete order `order_id` if it is still shipped (compare-and-set shipped →
    completed, which starts its commission's freeze); commits. False when it was not
    shipped (already completed, refunding, ...): nothing changes."""
    moved = db.session.execute(
        update(Order)
        .where(Order.id == order_id, Order.status == OrderStatus.SHIPPED)
        .values(status=OrderStatus.COMPLETED, completed_at=now or utcnow())
    )
    db.session.commit()
    return bool(moved.rowcount)
