"""Housekeeping of the open API (wxdist.integrations)."""

from __future__ import annotations

from jobs import app_context
from wxdist.core.tasks import job


@job(timeout=600)
def purge_open_api() -> dict[str, int]:
    """Periodic: forget spent nonces past their window and write requests' answers past
    the days a retry is honoured."""
    with app_context():
        from wxdist.integrations import idempotency, request_signing

        return {"nonces": request_signing.purge(), "answers": idempotency.purge()}
