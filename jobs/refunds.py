"""Refund jobs."""

from __future__ import annotations

from jobs import app_context
from wxdist.core.tasks import job


@job()  # no sweep recovers it: with Redis down it runs inline
def refund_orphan_payment(payment_id: int) -> None:
    """Refund a payment that its order could not take."""
    with app_context():
        from wxdist.shop.refunds import refund_orphan_payment as refund

        refund(payment_id)


@job()
def resend_processing_refunds() -> int:
    """Periodic: send again refunds the gateway has not settled."""
    with app_context():
        from wxdist.shop.refunds import resend_processing_refunds as resend

        return resend()
