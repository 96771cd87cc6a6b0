"""What the mini-program shows of group buys: activities on now or coming, one activity's
items and its open groups to join, and one group's state for its share page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from wxdist.core.errors import NotFound
from wxdist.core.extensions import db
from wxdist.models import (
    GroupActivity,
    GroupBuy,
    GroupMember,
    GroupSku,
    GroupStatus,
    MemberStatus,
    Product,
    Sku,
    User,
)

OPEN_GROUPS = 20


def _seconds(until: datetime | None, now: datetime) -> int:
    return max(0, int((until - now).total_seconds())) if until else 0


def mask(nickname: str) -> str:
    """The first character and stars: 张** (a shopper without a nickname: 微信用户)."""
    if not nickname:
        return _("WeChat user")
    return nickname[0] + "*" * min(max(len(nickname) - 1, 1), 3)


@dataclass(frozen=True)
class ActivityView:
    id: int
    name: str
    state: str  # live | upcoming
    starts_at: datetime
    ends_at: datetime
    countdown_seconds: int
    group_size: int
    time_limit_minutes: int
    coupons_allowed: bool


def _view(row: Any, now: datetime) -> ActivityView:
    live = row.starts_at <= now
    return ActivityView(
        row.id,
        row.name,
        "live" if live else "upcoming",
        row.starts_at,
        row.ends_at,
        _seconds(row.ends_at if live else row.starts_at, now),
        row.group_size,
        row.time_limit_minutes,
        row.coupons_allowed,
    )


def activities(now: datetime) -> list[ActivityView]:
    """Enabled activities not over, live first."""
    rows = db.session.scalars(
        select(GroupActivity)
        .where(GroupActivity.enabled.is_(True), GroupActivity.ends_at > now)
        .order_by(GroupActivity.starts_at, GroupActivity.id)
        .limit(100)
    ).all()
    views = [_view(row, now) for row in rows]
    return sorted(views, key=lambda v: v.state != "live")


def activity(activity_id: int, now: datetime) -> ActivityView:
    """Raises NotFound for an unknown or disabled activity."""
    row = db.session.get(GroupActivity, activity_id)
    if row is None or not row.enabled:
        raise NotFound(_("no such group-buy activity"))
    return _view(row, now)


def items(activity_id: int) -> list[dict[str, Any]]:
    """The activity's SKUs with their product, group price, list price and stock."""
    rows = db.session.execute(
        select(
            GroupSku.id.label("group_sku_id"),
            Sku.id.label("sku_id"),
            Product.id.label("product_id"),
            Product.title,
            Sku.name.label("sku_name"),
            Product.cover_url.label("image_url"),
            GroupSku.price_fen,
            Sku.price_fen.label("list_price_fen"),
            GroupSku.stock,
            GroupSku.stock_left,
        )
        .join(Sku, Sku.id == GroupSku.sku_id)
        .join(Product, Product.id == Sku.product_id)
        .where(GroupSku.activity_id == activity_id)
        .order_by(GroupSku.id)
    ).all()
    return [{**row._mapping, "image_url": row.image_url or ""} for row in rows]


def open_groups(activity_id: int, now: datetime) -> list[dict[str, Any]]:
    """Open groups with seats left, the soonest deadline first."""
    rows = db.session.execute(
        select(GroupBuy, User.nickname, User.avatar_url)
        .join(User, User.id == GroupBuy.leader_id)
        .where(
            GroupBuy.activity_id == activity_id,
            GroupBuy.status == GroupStatus.OPEN,
            GroupBuy.expires_at > now,
            GroupBuy.taken < GroupBuy.size,
        )
        .order_by(GroupBuy.expires_at)
        .limit(OPEN_GROUPS)
    ).all()
    return [
        {
            "id": group.id,
            "group_sku_id": group.group_sku_id,
            "size": group.size,
            "seats_left": group.size - group.taken,
            "countdown_seconds": _seconds(group.expires_at, now),
            "leader_nickname": mask(nickname),
            "leader_avatar_url": avatar,
        }
        for group, nickname, avatar in rows
    ]


def group(group_id: int, now: datetime) -> dict[str, Any]:
    """One group for its share page: the activity, the item, seats, masked members,
    countdown and state. Raises NotFound for an unknown group."""
    found = db.session.get(GroupBuy, group_id)
    if found is None:
        raise NotFound(_("no such group"), fields={"group_id": _("not found")})
    members = db.session.execute(
        select(GroupMember.is_leader, GroupMember.status, User.nickname, User.avatar_url)
        .join(User, User.id == GroupMember.user_id)
        .where(GroupMember.group_id == group_id)
        .order_by(GroupMember.is_leader.desc(), GroupMember.id)
    ).all()
    item = next(i for i in items(found.activity_id) if i["group_sku_id"] == found.group_sku_id)
    live = found.status == GroupStatus.OPEN
    return {
        "id": found.id,
        "activity": activity(found.activity_id, now),
        "item": item,
        "status": found.status,
        "size": found.size,
        "seats_left": found.size - found.taken if live else 0,
        "paid": found.paid,
        "countdown_seconds": _seconds(found.expires_at, now) if live else 0,
        "members": [
            {
                "nickname": mask(nickname),
                "avatar_url": avatar,
                "is_leader": leader,
                "paid": status != MemberStatus.RESERVED,
            }
            for leader, status, nickname, avatar in members
        ],
    }
