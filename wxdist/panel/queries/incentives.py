"""Incentive campaigns as the panel reads them: the list, one campaign, its leaderboard
with full names and the bonuses it paid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from wxdist.core.extensions import db
from wxdist.incentives import bonuses, leaderboard
from wxdist.models import Commission, IncentiveBonus, IncentiveCampaign
from wxdist.panel.queries.paging import Page, fetch_page


def campaign_page(page: int) -> Page:
    """Campaigns, newest first."""
    return fetch_page(select(IncentiveCampaign).order_by(IncentiveCampaign.id.desc()), page)


def campaign(campaign_id: int) -> IncentiveCampaign | None:
    return db.session.get(IncentiveCampaign, campaign_id)


def boosted_records(campaign_id: int) -> tuple[int, int]:
    """How many commission records the campaign set, and what they earned (net)."""
    count, total = db.session.execute(
        select(
            func.count(), func.coalesce(func.sum(Commission.amount_fen - Commission.clawed_fen), 0)
        ).where(Commission.campaign_id == campaign_id)
    ).one()
    return int(count), int(total)


def board(found: IncentiveCampaign, top: int = 100) -> leaderboard.Board:
    return leaderboard.board(found, top=top)


@dataclass(frozen=True)
class PaidBonus:
    distributor_id: int
    name: str
    sales_fen: int
    threshold_fen: int
    bonus_fen: int
    paid_at: datetime


def paid(campaign_id: int) -> list[PaidBonus]:
    rows: list[IncentiveBonus] = bonuses.paid_for(campaign_id)
    names = leaderboard.names([row.distributor_id for row in rows])
    return [
        PaidBonus(
            row.distributor_id,
            names.get(row.distributor_id, ""),
            row.sales_fen,
            row.threshold_fen,
            row.bonus_fen,
            row.paid_at,
        )
        for row in rows
    ]
