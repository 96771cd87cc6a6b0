"""Recommendation jobs."""

from __future__ import annotations

from jobs import app_context
from wxdist.core.tasks import job


@job(timeout=1800)
def refresh_recommendations() -> int:
    """Recompute and store every approved distributor's recommended products; returns how
    many distributors it refreshed."""
    with app_context():
        from wxdist.recommendations.refresh import refresh_all

        return refresh_all().distributors
