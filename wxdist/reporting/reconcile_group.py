"""`flask reconcile`'s checks of group buys (wxdist.marketing.group_buys):
- per activity SKU: units held by member rows still holding one (reserved or paid) plus
  what is left equal its activity stock, and nothing left is negative;
- every paid member of a failed group has been refunded (a refund requested and none of
  its order's payment left unrefunded once the refund succeeded);
- no commission record on an order of a group still forming or failed, and no such order
  without its hold.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select

from wxdist.core.extensions import db
from wxdist.models import (
    Commission,
    GroupBuy,
    GroupMember,
    GroupSku,
    GroupStatus,
    MemberStatus,
    Order,
    OrderItem,
)

LIMIT = 1000
_FORMING = (GroupStatus.PENDING, GroupStatus.OPEN, GroupStatus.FAILED)


def check_activity_stock() -> list[str]:
    held = (
        select(GroupBuy.group_sku_id, func.count(GroupMember.id).label("units"))
        .join(GroupBuy, GroupBuy.id == GroupMember.group_id)
        .where(GroupMember.status.in_((MemberStatus.RESERVED, MemberStatus.PAID)))
        .group_by(GroupBuy.group_sku_id)
        .subquery()
    )
    units = func.coalesce(held.c.units, 0)
    wrong = db.session.execute(
        select(GroupSku.id, GroupSku.stock, GroupSku.stock_left, units)
        .outerjoin(held, held.c.group_sku_id == GroupSku.id)
        .where(or_(GroupSku.stock_left < 0, units + GroupSku.stock_left != GroupSku.stock))
        .limit(LIMIT)
    ).all()
    return [
        f"group SKU {gid}: members hold {taken} + left {left} ≠ activity stock {stock}"
        for gid, stock, left, taken in wrong
    ]


def check_failed_refunded() -> list[str]:
    wrong = db.session.execute(
        select(GroupMember.group_id, GroupMember.order_id)
        .join(GroupBuy, GroupBuy.id == GroupMember.group_id)
        .where(GroupBuy.status == GroupStatus.FAILED, GroupMember.status == MemberStatus.PAID)
        .limit(LIMIT)
    ).all()
    return [f"failed group {g}: paid order {o} not refunded" for g, o in wrong]


def check_no_commission_while_held() -> list[str]:
    group_orders = (
        select(GroupMember.order_id)
        .join(GroupBuy, GroupBuy.id == GroupMember.group_id)
        .where(GroupBuy.status.in_(_FORMING))
    )
    credited = db.session.execute(
        select(OrderItem.order_id)
        .join(Commission, Commission.order_item_id == OrderItem.id)
        .where(OrderItem.order_id.in_(group_orders))
        .distinct()
        .limit(LIMIT)
    ).scalars()
    unheld = db.session.execute(
        select(Order.id).where(Order.id.in_(group_orders), Order.held_by.is_(None)).limit(LIMIT)
    ).scalars()
    return [f"group order {o}: commission before its group succeeded" for o in credited] + [
        f"group order {o}: not held while its group forms or failed" for o in unheld
    ]


def check_all() -> list[str]:
    return [*check_activity_stock(), *check_failed_refunded(), *check_no_commission_while_held()]
