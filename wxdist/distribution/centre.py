"""What a distributor sees of their own business: balances, figures, team, commission
records and attributed orders. Every query is scoped to the distributor and served by an
index; buyers' names are masked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select

from wxdist.core.clock import to_local, utc_start
from wxdist.core.errors import Forbidden
from wxdist.core.extensions import db
from wxdist.distribution.referrals import distributor_scene
from wxdist.models import (
    Commission,
    CommissionStatus,
    Distributor,
    DistributorAccount,
    DistributorLevel,
    DistributorStatus,
    Order,
    Referral,
    User,
)
from wxdist.models.types import utcnow


def mask_name(name: str) -> str:
    """张三丰 → 张*丰, 张三 → 张*, a → *: enough to recognise, not to identify."""
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def _shanghai_midnights(now: datetime) -> tuple[datetime, datetime]:
    """Start of today and of this month in Shanghai, as naive UTC."""
    today = to_local(now).date()
    return utc_start(today), utc_start(today.replace(day=1))


def _earned_since(user_id: int, since: datetime) -> tuple[int, int]:
    earned, orders = db.session.execute(
        select(
            func.coalesce(func.sum(Commission.amount_fen - Commission.clawed_fen), 0),
            func.count(func.distinct(Commission.order_id)),
        ).where(Commission.beneficiary_id == user_id, Commission.created_at >= since)
    ).one()
    return int(earned), int(orders)


def overview(user_id: int) -> dict[str, Any]:
    """The distributor centre's front page (also for non-distributors: status "none")."""
    distributor = db.session.get(Distributor, user_id)
    account = db.session.get(DistributorAccount, user_id)
    level = (
        db.session.get(DistributorLevel, distributor.level_id)
        if distributor and distributor.level_id
        else None
    )
    day, month = _shanghai_midnights(utcnow())
    today_earned, today_orders = _earned_since(user_id, day)
    month_earned, month_orders = _earned_since(user_id, month)
    team_size = 0
    if distributor is not None:  # two index-only counts (an OR of the two would scan)
        active = _active_binding(utcnow())
        for column in (Referral.parent_id, Referral.grandparent_id):
            team_size += (
                db.session.scalar(
                    select(func.count()).select_from(Referral).where(column == user_id, active)
                )
                or 0
            )
    return {
        "status": distributor.status if distributor else "none",
        "review_note": distributor.review_note if distributor else "",
        "level": level,
        "balances": {
            "frozen_fen": account.frozen_fen if account else 0,
            "available_fen": account.available_fen if account else 0,
            "withdrawing_fen": account.withdrawing_fen if account else 0,
        },
        "lifetime_earned_fen": account.lifetime_earned_fen if account else 0,
        "today_earned_fen": today_earned,
        "today_orders": today_orders,
        "month_earned_fen": month_earned,
        "month_orders": month_orders,
        "direct_invites": distributor.direct_invites if distributor else 0,
        "team_size": team_size,
        "scene": distributor_scene(user_id)
        if distributor and distributor.status == "approved"
        else None,
    }


def _active_binding(now: datetime):  # type: ignore[no-untyped-def]
    """Bindings that have not lapsed (valid_days mode); the team indexes cover it."""
    return or_(Referral.expires_at.is_(None), Referral.expires_at > now)


def require_distributor(user_id: int) -> Distributor:
    """Raises Forbidden unless the user is (or was) an approved distributor."""
    distributor = db.session.get(Distributor, user_id)
    if distributor is None or distributor.status not in ("approved", "disabled"):
        raise Forbidden(_("only distributors have a team and commission"), code="not_distributor")
    return distributor


def require_sharer(user_id: int) -> Distributor:
    """Raises Forbidden unless the user is an approved distributor: one who may share and
    earn (a disabled one still reads their business, see `require_distributor`)."""
    distributor = db.session.get(Distributor, user_id)
    if distributor is None or distributor.status != DistributorStatus.APPROVED:
        raise Forbidden(_("only approved distributors can share"), code="not_distributor")
    return distributor


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int


def team_page(user_id: int, depth: int, page: int, per_page: int) -> Page:
    """Members bound to me (depth 1) or to my members (depth 2), newest first."""
    column = Referral.parent_id if depth == 1 else Referral.grandparent_id
    active = _active_binding(utcnow())
    total = (
        db.session.scalar(
            select(func.count()).select_from(Referral).where(column == user_id, active)
        )
        or 0
    )
    rows = db.session.execute(
        select(
            Referral.user_id, Referral.bound_at, User.nickname, User.avatar_url, User.paid_orders
        )
        .join(User, User.id == Referral.user_id)
        .where(column == user_id, active)
        .order_by(Referral.bound_at.desc(), Referral.user_id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    member_ids = [row.user_id for row in rows]
    contributions: dict[int, int] = {}
    if member_ids:
        contributions = {
            buyer: int(net)
            for buyer, net in db.session.execute(
                select(Commission.buyer_id, func.sum(Commission.amount_fen - Commission.clawed_fen))
                .where(Commission.beneficiary_id == user_id, Commission.buyer_id.in_(member_ids))
                .group_by(Commission.buyer_id)
            )
        }
    items = [
        {
            "user_id": row.user_id,
            "nickname": row.nickname,
            "avatar_url": row.avatar_url,
            "bound_at": row.bound_at,
            "paid_orders": row.paid_orders,
            "contribution_fen": contributions.get(row.user_id, 0),
        }
        for row in rows
    ]
    return Page(items, total)


def commission_page(user_id: int, status: str | None, page: int, per_page: int) -> Page:
    conditions = [Commission.beneficiary_id == user_id]
    if status:
        if status not in CommissionStatus.ALL:
            status = None
        else:
            conditions.append(Commission.status == status)
    total = db.session.scalar(select(func.count()).select_from(Commission).where(*conditions)) or 0
    rows = db.session.execute(
        select(Commission, Order.order_no, User.nickname)
        .join(Order, Order.id == Commission.order_id)
        .join(User, User.id == Commission.buyer_id)
        .where(*conditions)
        .order_by(Commission.created_at.desc(), Commission.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    items = [
        {
            "id": c.id,
            "order_no": order_no,
            "buyer": mask_name(nickname or "微信用户"),
            "level": c.level,
            "base_fen": c.base_fen,
            "rate_bp": c.rate_bp,
            "campaign_id": c.campaign_id,
            "amount_fen": c.amount_fen,
            "clawed_fen": c.clawed_fen,
            "net_fen": c.net_fen,
            "status": c.status,
            "created_at": c.created_at,
            "settled_at": c.settled_at,
        }
        for c, order_no, nickname in rows
    ]
    return Page(items, total)


def attributed_orders_page(user_id: int, page: int, per_page: int) -> Page:
    """Orders whose snapshot chain names me, newest first, with my net commission."""
    mine = or_(Order.referrer_l1_id == user_id, Order.referrer_l2_id == user_id)
    total = db.session.scalar(select(func.count()).select_from(Order).where(mine)) or 0
    net = (
        select(func.coalesce(func.sum(Commission.amount_fen - Commission.clawed_fen), 0))
        .where(and_(Commission.order_id == Order.id, Commission.beneficiary_id == user_id))
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(Order, User.nickname, net)
        .join(User, User.id == Order.user_id)
        .where(mine)
        .order_by(Order.paid_at.desc(), Order.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    items = [
        {
            "order_no": order.order_no,
            "status": order.status,
            "buyer": mask_name(nickname or "微信用户"),
            "level": 1 if order.referrer_l1_id == user_id else 2,
            "paid_fen": order.paid_fen,
            "refunded_fen": order.refunded_fen,
            "commission_fen": int(commission),
            "paid_at": order.paid_at,
        }
        for order, nickname, commission in rows
    ]
    return Page(items, total)
