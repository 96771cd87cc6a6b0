"""Parcel tracking jobs."""

from __future__ import annotations

from jobs import app_context
from wxdist.core.tasks import job


@job(retries=(60, 300, 1800))  # a provider that does not answer is asked again
def subscribe_tracking(shipment_id: int) -> bool:
    """Subscribe a shipment's parcel with the tracking provider (its steps are pushed)."""
    with app_context():
        from wxdist.shop.tracking import subscribe

        return subscribe(shipment_id)
