"""Outbound webhook delivery jobs (wxdist.integrations.delivery)."""

from __future__ import annotations

from jobs import app_context
from wxdist.core.tasks import SWEEP, job


# A drain hands over after a minute; one batch may wait out its requests' timeouts twice.
@job(if_down=SWEEP, timeout=600, retries=(10, 60, 300))
def deliver_due(helper_slot: int = 0) -> int:
    """Deliver every due webhook, a batch at a time, until none is due
    (wxdist.core.drains); `helper_slot` > 0 for a helper drain."""
    with app_context():
        from wxdist.integrations.delivery import drain

        return drain(helper_slot)


@job(timeout=600)
def sweep_webhooks() -> int:
    """Periodic: start a drain for deliveries that came due by time (a retry's backoff, a
    lost worker's lease); inline, deliver them here."""
    with app_context():
        from wxdist.integrations.delivery import sweep

        return sweep()
