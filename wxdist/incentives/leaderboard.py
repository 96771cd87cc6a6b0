"""Campaign leaderboards and a distributor's progress.

The measure: for a boost, the commission each distributor earned at the campaign's rate
(records naming the campaign, net of clawbacks); for a bonus, their net sales in the
window (`bonuses.net_sales`). Ties share a rank ("1, 1, 3"); equal measures list the
distributor who joined the programme first (lower user id) first. Names are returned in
full: the mini-program masks them, the panel shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from wxdist.core.extensions import db
from wxdist.incentives import bonuses
from wxdist.models import CampaignKind, Commission, Distributor, IncentiveCampaign, User
from wxdist.models.types import utcnow

TOP = 50


@dataclass(frozen=True)
class Row:
    rank: int
    user_id: int
    name: str
    measure_fen: int


def measures(campaign: IncentiveCampaign, user_id: int | None = None) -> dict[int, int]:
    """Each distributor's measure in the campaign, or only `user_id`'s (those with none
    are left out). One aggregate query."""
    if campaign.kind == CampaignKind.BONUS:
        end = min(campaign.effective_end, max(utcnow(), campaign.starts_at))
        sales = bonuses.net_sales(campaign.starts_at, end, user_id)
        return {k: v for k, v in sales.items() if v > 0}
    statement = (
        select(Commission.beneficiary_id, func.sum(Commission.amount_fen - Commission.clawed_fen))
        .where(Commission.campaign_id == campaign.id)
        .group_by(Commission.beneficiary_id)
    )
    if user_id is not None:
        statement = statement.where(Commission.beneficiary_id == user_id)
    rows = db.session.execute(statement)
    return {uid: int(total) for uid, total in rows if total and total > 0}


def ranking(campaign: IncentiveCampaign) -> list[tuple[int, int, int]]:
    """(rank, user id, measure) for everyone with a measure, best first."""
    ordered = sorted(measures(campaign).items(), key=lambda kv: (-kv[1], kv[0]))
    ranked: list[tuple[int, int, int]] = []
    for position, (user_id, measure) in enumerate(ordered, start=1):
        rank = ranked[-1][0] if ranked and ranked[-1][2] == measure else position
        ranked.append((rank, user_id, measure))
    return ranked


def names(user_ids: list[int]) -> dict[int, str]:
    """The distributor's real name, else their WeChat nickname, else "微信用户"."""
    if not user_ids:
        return {}
    found = {}
    for user_id, real_name, nickname in db.session.execute(
        select(User.id, Distributor.real_name, User.nickname)
        .outerjoin(Distributor, Distributor.user_id == User.id)
        .where(User.id.in_(user_ids))
    ):
        found[user_id] = (real_name or "").strip() or (nickname or "").strip() or "微信用户"
    return found


@dataclass(frozen=True)
class Board:
    rows: list[Row]  # the top TOP
    me: Row | None  # the asking distributor's own row, wherever they stand
    total: int  # how many are ranked


def board(campaign: IncentiveCampaign, me: int | None = None, top: int = TOP) -> Board:
    """The top `top` rows and, if `me` is given, their own row."""
    ranked = ranking(campaign)
    head = ranked[:top]
    mine = next((r for r in ranked if r[1] == me), None) if me is not None else None
    wanted = [r[1] for r in head] + ([mine[1]] if mine else [])
    named = names(wanted)
    rows = [Row(rank, uid, named.get(uid, ""), measure) for rank, uid, measure in head]
    own = Row(mine[0], mine[1], named.get(mine[1], ""), mine[2]) if mine else None
    return Board(rows, own, len(ranked))


@dataclass(frozen=True)
class Progress:
    measure_fen: int
    reached_threshold_fen: int | None
    reached_bonus_fen: int | None
    next_threshold_fen: int | None
    next_bonus_fen: int | None
    to_next_fen: int | None


def progress(campaign: IncentiveCampaign, user_id: int, now: datetime | None = None) -> Progress:
    """A distributor's standing: for a bonus, sales so far, the tier reached and what the
    next tier needs; for a boost, the commission earned at its rate."""
    if campaign.kind != CampaignKind.BONUS:
        return Progress(measures(campaign, user_id).get(user_id, 0), None, None, None, None, None)
    now = now or utcnow()
    end = min(campaign.effective_end, max(now, campaign.starts_at))
    sales = bonuses.net_sales(campaign.starts_at, end, user_id).get(user_id, 0)
    tiers = [(t.threshold_fen, t.bonus_fen) for t in campaign.tiers]
    reached = bonuses.tier_for(tiers, sales)
    upcoming = next((t for t in sorted(tiers) if t[0] > sales), None)
    return Progress(
        sales,
        reached[0] if reached else None,
        reached[1] if reached else None,
        upcoming[0] if upcoming else None,
        upcoming[1] if upcoming else None,
        upcoming[0] - sales if upcoming else None,
    )
