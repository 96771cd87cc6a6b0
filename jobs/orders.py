"""Order jobs."""

from __future__ import annotations

from jobs import app_context


def order_paid(order_id: int) -> None:
    """After an order is paid: hand it to the follow-up services. Inline mode runs this per
    order; on RQ the notify queues `attribute_pending` instead (this stays for jobs queued
    before that change)."""
    with app_context():
        from wxdist.payment_flow import on_order_paid

        on_order_paid(order_id)


def attribute_pending() -> int:
    """Attribute every paid order on the pending list (wxdist.attribution_queue), many per
    job. Raises, after the others, naming the orders that failed (they are queued again)."""
    with app_context():
        from wxdist.attribution_queue import drain

        return drain()


def close_expired_orders() -> dict[str, int]:
    """Periodic: close orders past their payment timeout (asking the gateway first)."""
    with app_context():
        from wxdist.payment_flow import close_expired_orders as sweep

        return sweep()
