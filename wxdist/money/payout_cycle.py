"""The payout cycle (佣金支付周期): on the configured day, approve and pay every withdrawal
waiting for review (bank transfers are approved for staff to pay by hand)."""

from __future__ import annotations

from sqlalchemy import select, update

from wxdist.core.clock import to_local
from wxdist.core.extensions import db
from wxdist.distribution.settings import get_settings
from wxdist.models import DistributionSettings
from wxdist.models.types import utcnow
from wxdist.models.withdrawal import Withdrawal, WithdrawalStatus
from wxdist.money.withdrawals import approve_many

SETTINGS_ID = 1


def run_if_due(now=None) -> int:  # type: ignore[no-untyped-def]
    """Run the cycle once per due day (Shanghai time). Returns how many were approved."""
    settings = get_settings()
    if settings.payout_cycle == "off":
        return 0
    now = now or utcnow()
    local = to_local(now)
    if settings.payout_cycle == "weekly" and local.isoweekday() != settings.payout_weekday:
        return 0
    today = local.date().isoformat()
    claimed = db.session.execute(  # once per day, whichever worker gets here first
        update(DistributionSettings)
        .where(
            DistributionSettings.id == SETTINGS_ID,
            (DistributionSettings.payout_cycle_last_run.is_(None))
            | (DistributionSettings.payout_cycle_last_run != today),
        )
        .values(payout_cycle_last_run=today)
    )
    db.session.commit()
    if claimed.rowcount != 1:
        return 0
    due = list(
        db.session.scalars(
            select(Withdrawal.id)
            .where(
                Withdrawal.status == WithdrawalStatus.PENDING_REVIEW, Withdrawal.created_at <= now
            )
            .order_by(Withdrawal.id)
        )
    )
    return approve_many(due, note=f"payout cycle {today}") if due else 0
