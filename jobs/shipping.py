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


# A drain hands over after a minute; one batch may wait out every call's timeout.
@job(if_down=SWEEP, timeout=900, retries=(10, 60, 300))
def upload_due(helper_slot: int = 0) -> int:
    """Upload every due shipping-info row, a batch at a time, until none is due
    (wxdist.core.drains); `helper_slot` > 0 for a helper drain."""
    with app_context():
        from wxdist.shop.shipping_info import drain

        return drain(helper_slot)


@job(timeout=300)
def sweep_shipping_uploads() -> int:
    """Periodic: start the due uploads (backoff passed, a lost worker's lease ended) and
    reconcile given-up ones with WeChat's get_order."""
    with app_context():
        from wxdist.shop.shipping_info import sweep

        return sweep()
