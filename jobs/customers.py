"""Customers jobs."""

from __future__ import annotations

from jobs import app_context
from wxdist.core.tasks import job


@job(timeout=3600)
def bulk_issue(issue_id: int) -> int:
    """Issue a bulk coupon issue's coupons (resumes where a failed run stopped); returns
    the coupons issued in all."""
    with app_context():
        from wxdist.customers.bulk import run

        return run(issue_id).issued
