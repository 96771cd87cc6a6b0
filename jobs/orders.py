"""Order jobs."""

from __future__ import annotations

from jobs import app_context
from wxdist.core.tasks import RAISE, job


@job()
def order_paid(order_id: int) -> None:
    """After an order is paid: hand it to the follow-up services. Inline mode runs this per
    order; on RQ the notify queues `attribute_pending` instead (this stays for jobs queued
    before that change)."""
    with app_context():
        from wxdist.distribution.commissions import attribute_order

        attribute_order(order_id)


# With Redis down, attribution_queue keeps the ids and pushes them again.
@job(retries=(10, 60, 300), if_down=RAISE)
def attribute_pending(batch: int | None = None, helper_slot: int = 0) -> int:
    """Attribute every paid order on the pending list (distribution.attribution_queue), a batch
    per transaction; `helper_slot` when a drain enqueued this one as a helper. Raises, after
    the others, naming the orders that failed (queued again unless parked)."""
    with app_context():
        from wxdist.distribution.attribution_queue import BATCH, drain

        return drain(batch or BATCH, helper_slot)


@job()
def close_expired_orders() -> dict[str, int]:
    """Periodic: close orders past their payment timeout (asking the gateway first)."""
    with app_context():
        from wxdist.shop.payment_flow import close_expired_orders as sweep

        return sweep()
