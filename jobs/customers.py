"""Customers jobs."""

from __future__ import annotations

from jobs import app_context
from wxdist.core.tasks import job


@job(timeout=3600, retries=(60, 600))
def bulk_issue(issue_id: int) -> int:
    """Issue a bulk coupon issue's coupons; returns the coupons issued in all. A retry
    resumes after the last batch a failed run finished (and gives nobody a second one)."""
    with app_context():
        from wxdist.customers.bulk import run

        return run(issue_id).issued
