"""The shop's one generic activity hold: a paid order an activity holds back (a group buy
while its group forms, and for ever if it fails) is neither shipped (`shipments.ship`
answers 409 `order_held`) nor attributed (distribution reads `held_by IS NULL`).

The activity sets the hold inside the order's transaction (its `take` callback) and
releases it when it is done; after the release's commit it sends
`core.events.orders_released` so distribution queues the attribution.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from sqlalchemy import update

from wxdist.core.errors import Conflict
from wxdist.core.extensions import db
from wxdist.models import Order


def hold(order_id: int, by: str) -> None:
    """Inside the caller's transaction: activity `by` holds order `order_id`."""
    db.session.execute(update(Order).where(Order.id == order_id).values(held_by=by))


def release(order_ids: Iterable[int]) -> None:
    """Inside the caller's transaction: the orders are no longer held."""
    ids = sorted(set(order_ids))
    if ids:
        db.session.execute(
            update(Order)
            .where(Order.id.in_(ids))
            .values(held_by=None)
            .execution_options(synchronize_session=False)
        )


def refuse_if_held(order: Order) -> None:
    """Raises Conflict `order_held` when an activity holds `order`."""
    if order.held_by is not None:
        raise Conflict(
            _("This order waits for its group buy to succeed; it cannot ship yet."),
            code="order_held",
        )
