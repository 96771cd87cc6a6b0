"""Orders whose commission attribution failed: attempts counted, parked after PARK_AFTER.

A drain (attribution_queue) retries a failed order through RQ's retries; an order
that failed PARK_AFTER times is parked: the drain stops retrying it (so it no longer fails
every drain), the periodic sweep (`commissions.attribute_missed`) still tries it, and
`flask reconcile` lists it until it is attributed. Each record is written in a transaction
of its own, after the failed attribution was rolled back.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update

from wxdist.core.extensions import db
from wxdist.core.sql import insert_ignore
from wxdist.models import AttributionFailure, Order
from wxdist.models.types import utcnow

PARK_AFTER = 3  # failed attempts; the drain job has as many runs before its retries run out


def record(order_id: int, error: BaseException) -> bool:
    """Count one failed attempt of `order_id` (the caller rolled its transaction back);
    commits. Returns True when the order is parked (now or before)."""
    now = utcnow()
    text = f"{type(error).__name__}: {error}"[:255]
    table = AttributionFailure.__table__
    insert_ignore(
        table, order_id=order_id, attempts=0, last_error="", first_failed_at=now, last_failed_at=now
    )
    this = AttributionFailure.order_id == order_id
    db.session.execute(
        update(AttributionFailure)
        .where(this)
        .values(attempts=AttributionFailure.attempts + 1, last_error=text, last_failed_at=now)
    )
    attempts, parked = db.session.execute(
        select(AttributionFailure.attempts, AttributionFailure.parked_at).where(this)
    ).one()
    if parked is None and attempts >= PARK_AFTER:
        db.session.execute(update(AttributionFailure).where(this).values(parked_at=now))
        parked = now
    db.session.commit()
    return parked is not None


def parked() -> list[tuple[int, str, int, str]]:
    """Parked orders still without commission: (order id, order no, attempts, last error),
    oldest first."""
    rows = db.session.execute(
        select(Order.id, Order.order_no, AttributionFailure.attempts, AttributionFailure.last_error)
        .join(Order, Order.id == AttributionFailure.order_id)
        .where(AttributionFailure.parked_at.is_not(None), Order.attributed_at.is_(None))
        .order_by(AttributionFailure.parked_at, Order.id)
        .limit(1000)
    ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def forget_attributed() -> int:
    """Delete the records of orders attributed since they failed; commits. Returns them."""
    ids = db.session.scalars(
        select(AttributionFailure.order_id)
        .join(Order, Order.id == AttributionFailure.order_id)
        .where(Order.attributed_at.is_not(None))
        .limit(1000)
    ).all()
    if ids:
        db.session.execute(delete(AttributionFailure).where(AttributionFailure.order_id.in_(ids)))
    db.session.commit()
    return len(ids)
