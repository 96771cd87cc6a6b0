"""Shipping information upload jobs (WeChat 发货信息管理)."""

from __future__ import annotations

from jobs import app_context
from wxdist.core.tasks import SWEEP, job


@job(if_down=SWEEP, timeout=60)  # with Redis down, `sweep_shipping_uploads` picks it up
def upload_shipping_info(payment_id: int) -> str:
    """Upload the shipping information of one WeChat payment, if a change is waiting."""
    with app_context():
        from wxdist.shop.shipping_info import upload

        return upload(payment_id)


@job(timeout=300)
def sweep_shipping_uploads() -> int:
    """Periodic: queue due uploads (backoff passed) and reconcile given-up ones with
    WeChat's get_order."""
    with app_context():
        from wxdist.shop.shipping_info import sweep

        return sweep()
