"""Incentive campaign jobs."""

from __future__ import annotations

from jobs import app_context
from wxdist.core.tasks import job


@job()
def pay_sales_bonuses() -> dict[str, int]:
    """Periodic: pay the sales bonuses of campaigns whose refund window (their end plus the
    programme's freeze days) has closed, once per distributor and campaign."""
    with app_context():
        from wxdist.distribution.settings import get_settings
        from wxdist.incentives.bonuses import pay_due

        return {"bonuses_paid": pay_due(get_settings().freeze_days)}
