"""What staff read of group buys: the activities with their figures, one activity's SKUs,
and its groups with their members, orders and (for a failed group) refunds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import case, func, select

from wxdist.core.errors import NotFound
from wxdist.core.extensions import db
from wxdist.models import (
    GroupActivity,
    GroupBuy,
    GroupMember,
    GroupSku,
    GroupStatus,
    Order,
    Product,
    Refund,
    Sku,
)

GROUPS = 200


@dataclass(frozen=True)
class ActivityRow:
    activity: GroupActivity
    skus: int
    stock: int
    stock_left: int
    groups: int
    succeeded: int
    failed: int


def activity_rows(limit: int = 200) -> list[ActivityRow]:
    """Every activity, newest first, with its stock and group counts."""
    stock = (
        select(
            GroupSku.activity_id,
            func.count().label("skus"),
            func.sum(GroupSku.stock).label("stock"),
            func.sum(GroupSku.stock_left).label("left"),
        )
        .group_by(GroupSku.activity_id)
        .subquery()
    )
    groups = (
        select(
            GroupBuy.activity_id,
            func.count().label("groups"),
            func.sum(case((GroupBuy.status == GroupStatus.SUCCEEDED, 1), else_=0)).label("ok"),
            func.sum(case((GroupBuy.status == GroupStatus.FAILED, 1), else_=0)).label("ko"),
        )
        .group_by(GroupBuy.activity_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            GroupActivity,
            func.coalesce(stock.c.skus, 0),
            func.coalesce(stock.c.stock, 0),
            func.coalesce(stock.c.left, 0),
            func.coalesce(groups.c.groups, 0),
            func.coalesce(groups.c.ok, 0),
            func.coalesce(groups.c.ko, 0),
        )
        .outerjoin(stock, stock.c.activity_id == GroupActivity.id)
        .outerjoin(groups, groups.c.activity_id == GroupActivity.id)
        .order_by(GroupActivity.id.desc())
        .limit(limit)
    ).all()
    return [ActivityRow(*(int(v) if i else v for i, v in enumerate(row))) for row in rows]


def activity_parts(activity_id: int) -> tuple[GroupActivity, list[Any]]:
    """The activity and its SKUs (with product title, SKU name, list price). Raises
    NotFound."""
    activity = db.session.get(GroupActivity, activity_id)
    if activity is None:
        raise NotFound(_("no such group-buy activity"))
    skus = db.session.execute(
        select(GroupSku, Product.title, Sku.name, Sku.price_fen.label("list_price_fen"))
        .join(Sku, Sku.id == GroupSku.sku_id)
        .join(Product, Product.id == Sku.product_id)
        .where(GroupSku.activity_id == activity_id)
        .order_by(GroupSku.id)
    ).all()
    return activity, list(skus)


def groups(activity_id: int) -> list[dict[str, Any]]:
    """The activity's groups, newest first, each with its members: order, order status,
    paid or not, refund (number and status) for a failed group."""
    found = db.session.scalars(
        select(GroupBuy)
        .where(GroupBuy.activity_id == activity_id)
        .order_by(GroupBuy.id.desc())
        .limit(GROUPS)
    ).all()
    ids = [g.id for g in found]
    members: dict[int, list[Any]] = {i: [] for i in ids}
    if ids:
        rows = db.session.execute(
            select(
                GroupMember.group_id,
                GroupMember.user_id,
                GroupMember.is_leader,
                GroupMember.status,
                Order.id.label("order_id"),
                Order.order_no,
                Order.status.label("order_status"),
                Order.paid_fen,
                Refund.out_refund_no,
                Refund.status.label("refund_status"),
            )
            .join(Order, Order.id == GroupMember.order_id)
            .outerjoin(Refund, Refund.id == GroupMember.refund_id)
            .where(GroupMember.group_id.in_(ids))
            .order_by(GroupMember.group_id, GroupMember.id)
        ).all()
        for row in rows:
            members[row.group_id].append(row)
    return [{"group": g, "members": members[g.id]} for g in found]
