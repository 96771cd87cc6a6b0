"""Sales bonuses: each distributor's net sales in a bonus campaign's window, and the
periodic payout of the tier they reached.

**Sales** of a distributor in a window: the orders paid inside [starts_at, end) whose
attribution named them the direct (level 1) referrer (`orders.referrer_l1_id`; with
self-purchase commission on, that includes their own purchases), counted at what the
shopper paid (`paid_fen`, goods after every offer, shipping included) less what has been
refunded on them (`refunded_fen`). Computed when the bonus is paid, so every refund
settled by then reduces it; a refund settled after the payout does not claw the bonus back.

**Payout** (`pay_due`, a periodic job): once the window has ended and the programme's
freeze days after it have passed (the refund window: `end + freeze_days`), each approved
distributor whose sales reach a tier is paid the highest tier reached (not the sum) as a
ledger entry of kind "bonus" straight into `available`, beside the conditional UPDATE the
ledger makes. Exactly once per distributor and campaign: `incentive_bonuses` is unique on
(campaign, distributor) and the entry's key is `b<bonus id>:pay`; a second run, or a second
worker at once, pays nothing twice. The campaign is then marked paid (`bonuses_paid_at`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from wxdist.accounts import ledger
from wxdist.core.extensions import db
from wxdist.models import (
    CampaignKind,
    CampaignStatus,
    Distributor,
    DistributorStatus,
    IncentiveBonus,
    IncentiveCampaign,
    LedgerBucket,
    Order,
)
from wxdist.models.types import utcnow

log = logging.getLogger(__name__)

KIND = "bonus"  # the ledger entries' kind (reconcile checks them against the bonus rows)


def net_sales(
    starts_at: datetime, ends_at: datetime, distributor_id: int | None = None
) -> dict[int, int]:
    """Net sales per distributor in [starts_at, ends_at) (see the module's definition), or
    only `distributor_id`'s. One aggregate query."""
    statement = (
        select(Order.referrer_l1_id, func.sum(Order.paid_fen - Order.refunded_fen))
        .where(
            Order.referrer_l1_id.is_not(None),
            Order.paid_at >= starts_at,
            Order.paid_at < ends_at,  # referrer_l1_id is set by attribution only
        )
        .group_by(Order.referrer_l1_id)
    )
    if distributor_id is not None:
        statement = statement.where(Order.referrer_l1_id == distributor_id)
    return {user_id: int(total or 0) for user_id, total in db.session.execute(statement)}


def tier_for(tiers: list[tuple[int, int]], sales_fen: int) -> tuple[int, int] | None:
    """The highest (threshold, bonus) whose threshold `sales_fen` reaches, or None."""
    reached = [tier for tier in tiers if sales_fen >= tier[0]]
    return max(reached) if reached else None


def due_at(campaign: IncentiveCampaign, freeze_days: int) -> datetime:
    """When the campaign's refund window closes and its bonuses may be paid."""
    return campaign.effective_end + timedelta(days=freeze_days)


def pay_due(freeze_days: int, now: datetime | None = None) -> int:
    """Pay every bonus campaign whose refund window has closed and that is not paid yet.
    Returns the bonuses paid now. Commits (one transaction per distributor)."""
    now = now or utcnow()
    cutoff = now - timedelta(days=freeze_days)
    # The window may have ended early (stopped): `pay_campaign` checks the true end.
    ids = db.session.scalars(
        select(IncentiveCampaign.id)
        .where(
            IncentiveCampaign.kind == CampaignKind.BONUS,
            IncentiveCampaign.status != CampaignStatus.DRAFT,
            IncentiveCampaign.bonuses_paid_at.is_(None),
            or_(IncentiveCampaign.ends_at <= cutoff, IncentiveCampaign.stopped_at <= cutoff),
        )
        .order_by(IncentiveCampaign.id)
    ).all()
    return sum(pay_campaign(cid, freeze_days, now) for cid in ids)


def pay_campaign(campaign_id: int, freeze_days: int, now: datetime | None = None) -> int:
    """Pay one campaign's bonuses if its refund window has closed; returns how many were
    paid now (0 before the window closes, or when all were paid before). Commits."""
    now = now or utcnow()
    campaign = db.session.get(IncentiveCampaign, campaign_id, populate_existing=True)
    if (
        campaign is None
        or campaign.kind != CampaignKind.BONUS
        or campaign.status == CampaignStatus.DRAFT
        or campaign.bonuses_paid_at is not None
        or now < due_at(campaign, freeze_days)
    ):
        db.session.rollback()
        return 0
    tiers = [(t.threshold_fen, t.bonus_fen) for t in campaign.tiers]
    sales = net_sales(campaign.starts_at, campaign.effective_end)
    approved = _approved(set(sales))
    already = set(
        db.session.scalars(
            select(IncentiveBonus.distributor_id).where(IncentiveBonus.campaign_id == campaign_id)
        )
    )
    db.session.rollback()  # end the read; each payout is a transaction of its own
    paid = 0
    for user_id in sorted(sales):
        tier = tier_for(tiers, sales[user_id])
        if tier is None or user_id in already or user_id not in approved:
            continue
        paid += _pay_one(campaign_id, user_id, sales[user_id], tier, now)
    db.session.execute(
        update(IncentiveCampaign)
        .where(IncentiveCampaign.id == campaign_id, IncentiveCampaign.bonuses_paid_at.is_(None))
        .values(bonuses_paid_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return paid


def _approved(user_ids: set[int]) -> set[int]:
    """Those of `user_ids` who are approved distributors now (a disabled one is not paid)."""
    if not user_ids:
        return set()
    return set(
        db.session.scalars(
            select(Distributor.user_id).where(
                Distributor.user_id.in_(user_ids),
                Distributor.status == DistributorStatus.APPROVED,
            )
        )
    )


def _pay_one(
    campaign_id: int, user_id: int, sales_fen: int, tier: tuple[int, int], now: datetime
) -> int:
    """The bonus row and its ledger entry, in one transaction; 1 if paid now, 0 if another
    run paid it first (the unique key refused the row: rolled back, nothing written)."""
    threshold, bonus = tier
    row = IncentiveBonus(
        campaign_id=campaign_id,
        distributor_id=user_id,
        sales_fen=sales_fen,
        threshold_fen=threshold,
        bonus_fen=bonus,
        paid_at=now,
    )
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        log.info("bonus of campaign %s for user %s was paid by another run", campaign_id, user_id)
        return 0
    ledger.post(
        user_id,
        LedgerBucket.AVAILABLE,
        bonus,
        kind=KIND,
        key=f"b{row.id}:pay",
        note=f"campaign {campaign_id}",
        lifetime_delta=bonus,
    )
    db.session.commit()
    return 1


def paid_for(campaign_id: int) -> list[IncentiveBonus]:
    """The bonuses a campaign paid, largest first."""
    return list(
        db.session.scalars(
            select(IncentiveBonus)
            .where(IncentiveBonus.campaign_id == campaign_id)
            .order_by(IncentiveBonus.bonus_fen.desc(), IncentiveBonus.distributor_id)
        )
    )
