"""Subscribe-message jobs."""

from __future__ import annotations

from jobs import app_context
from wxdist.core.tasks import SWEEP, job


@job(if_down=SWEEP)  # with Redis down the row stays queued; resend_messages picks it up
def send_message(log_id: int) -> str | None:
    """Send one logged subscribe message (spends one consent)."""
    with app_context():
        from wxdist.notifications.sender import send_message as send

        return send(log_id)


@job()
def resend_messages() -> int:
    """Periodic: queue again messages whose retry is due (and queued ones a job lost)."""
    with app_context():
        from wxdist.notifications.sender import resend_due

        return resend_due()
