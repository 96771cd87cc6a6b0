"""Marketing jobs."""

from __future__ import annotations

from jobs import app_context
from wxdist.core.tasks import job


@job()
def expire_coupons() -> int:
    """Unused coupons past their validity become expired; returns how many."""
    with app_context():
        from wxdist.marketing.coupons import expire

        return expire()
