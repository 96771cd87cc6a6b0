"""Order jobs."""

from __future__ import annotations

from jobs import app_context


def order_paid(order_id: int) -> None:
    """After an order is paid: hand it to the follow-up services."""
    with app_context():
        from wxdist.payment_flow import on_order_paid

        on_order_paid(order_id)


def close_expired_orders() -> dict[str, int]:
    """Periodic: close orders past their payment timeout (asking the gateway first)."""
    with app_context():
        from wxdist.payment_flow import close_expired_orders as sweep

        return sweep()
