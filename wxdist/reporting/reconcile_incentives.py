"""`flask reconcile`'s checks of incentive campaigns (wxdist.incentives):

- a boost never spent more than its budget, and what it spent (`spent_fen`, only ever
  reserved, never returned) equals the extra its commission records carry;
- only a campaign's records carry extra, and never more than their amount;
- per distributor, the "bonus" ledger entries add up to the bonuses paid to them, and
  every bonus is positive.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select

from wxdist.core.extensions import db
from wxdist.incentives.bonuses import KIND as BONUS_KIND
from wxdist.models import CampaignKind, Commission, IncentiveBonus, IncentiveCampaign, LedgerEntry

LIMIT = 1000


def check_budgets() -> list[str]:
    extra = (
        select(
            Commission.campaign_id.label("campaign_id"),
            func.sum(Commission.campaign_extra_fen).label("fen"),
        )
        .where(Commission.campaign_id.is_not(None))
        .group_by(Commission.campaign_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            IncentiveCampaign.id,
            IncentiveCampaign.budget_fen,
            IncentiveCampaign.spent_fen,
            func.coalesce(extra.c.fen, 0),
        )
        .outerjoin(extra, extra.c.campaign_id == IncentiveCampaign.id)
        .where(
            IncentiveCampaign.kind == CampaignKind.BOOST,
            or_(
                IncentiveCampaign.spent_fen > IncentiveCampaign.budget_fen,
                IncentiveCampaign.spent_fen != func.coalesce(extra.c.fen, 0),
            ),
        )
        .limit(LIMIT)
    ).all()
    problems = [
        f"campaign {cid}: spent {spent} of budget {budget}, its records carry extra {fen}"
        for cid, budget, spent, fen in rows
    ]
    wrong = db.session.execute(
        select(Commission.id, Commission.campaign_id, Commission.campaign_extra_fen)
        .where(
            or_(
                Commission.campaign_extra_fen < 0,
                Commission.campaign_extra_fen > Commission.amount_fen,
                Commission.campaign_id.is_(None) & (Commission.campaign_extra_fen != 0),
            )
        )
        .limit(LIMIT)
    ).all()
    problems.extend(
        f"commission {cid}: campaign {campaign} extra {fen}" for cid, campaign, fen in wrong
    )
    return problems


def check_bonuses() -> list[str]:
    paid = (
        select(
            IncentiveBonus.distributor_id.label("user_id"),
            func.sum(IncentiveBonus.bonus_fen).label("fen"),
        )
        .group_by(IncentiveBonus.distributor_id)
        .subquery()
    )
    posted = (
        select(LedgerEntry.user_id.label("user_id"), func.sum(LedgerEntry.amount_fen).label("fen"))
        .where(LedgerEntry.kind == BONUS_KIND)
        .group_by(LedgerEntry.user_id)
        .subquery()
    )
    problems = [
        f"user {user_id}: bonuses paid {fen}, bonus ledger entries {entries or 0}"
        for user_id, fen, entries in db.session.execute(
            select(paid.c.user_id, paid.c.fen, posted.c.fen)
            .outerjoin(posted, posted.c.user_id == paid.c.user_id)
            .where(paid.c.fen != func.coalesce(posted.c.fen, 0))
            .limit(LIMIT)
        )
    ]
    problems.extend(
        f"user {user_id}: bonus ledger entries {fen} without a bonus paid"
        for user_id, fen in db.session.execute(
            select(posted.c.user_id, posted.c.fen)
            .outerjoin(paid, paid.c.user_id == posted.c.user_id)
            .where(paid.c.user_id.is_(None))
            .limit(LIMIT)
        )
    )
    problems.extend(
        f"bonus {bid}: amount {fen}"
        for bid, fen in db.session.execute(
            select(IncentiveBonus.id, IncentiveBonus.bonus_fen)
            .where(IncentiveBonus.bonus_fen <= 0)
            .limit(LIMIT)
        )
    )
    return problems


def check_all() -> list[str]:
    return [*check_budgets(), *check_bonuses()]
