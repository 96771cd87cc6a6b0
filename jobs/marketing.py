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


@job()
def fail_expired_groups() -> dict[str, int]:
    """Group buys not full at their deadline fail; their paid members are refunded."""
    with app_context():
        from wxdist.marketing.group_buys.failures import fail_expired_groups

        return fail_expired_groups()


@job()
def pay_group_rewards() -> dict[str, int]:
    """Leader rewards of succeeded group buys whose orders are all completed."""
    with app_context():
        from wxdist.marketing.group_buys.rewards import pay_leader_rewards

        return pay_leader_rewards()
