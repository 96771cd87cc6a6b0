"""Payout jobs (queue "payouts")."""

from __future__ import annotations

from jobs import app_context
from wxdist.core.tasks import SWEEP, job


class PayoutsPending(Exception):
    """Some payouts have an unknown result; RQ retries the job (the same numbers are asked
    about first, never re-sent blind)."""


# Each retry asks the gateway before it sends; with Redis down, resume_payouts picks up
# what was approved (it runs again in a minute).
@job(queue="payouts", retries=(10, 30, 120, 600, 1800), if_down=SWEEP)
def pay_withdrawals(withdrawal_ids: list[int]) -> dict[str, int]:
    """Pay a batch of approved withdrawals. Raises PayoutsPending when any result is
    unknown, so RQ's Retry tries again with backoff."""
    with app_context():
        from wxdist.money.payouts import pay_batch

        counts = pay_batch(list(withdrawal_ids))
    if counts.get("unknown"):
        raise PayoutsPending(f"{counts['unknown']} payout(s) with an unknown result: {counts}")
    return counts


@job(queue="payouts")
def resume_payouts() -> int:
    """Periodic: re-enqueue approved withdrawals nobody is paying and lapsed leases."""
    with app_context():
        from wxdist.money.payouts import resume_stuck

        return resume_stuck()


@job(queue="payouts")
def expire_unconfirmed_bills() -> int:
    """Periodic: settle or cancel v3 bills waiting for the distributor's confirmation."""
    with app_context():
        from wxdist.money.payouts import expire_unconfirmed

        return expire_unconfirmed()


@job(queue="payouts")
def run_payout_cycle() -> int:
    """Periodic: on the configured day, approve and pay what is waiting for review."""
    with app_context():
        from wxdist.money.payout_cycle import run_if_due

        return run_if_due()
