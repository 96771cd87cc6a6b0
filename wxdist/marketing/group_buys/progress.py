"""A group's life after its orders are placed, driven by the shop's signals:

- `paid` (order_paying, inside the payment's transaction): the leader's payment opens the
  group (its deadline = paid time + the time limit); a member's counts; the payment that
  makes the paid members reach the size succeeds the group and releases the hold on its
  orders. The released ids are sent as `orders_released` once the payment committed
  (`after_paid`, an order_paid receiver), and the `attribute_missed` sweep backs that up.
- `give_back` (order_ending): an unpaid member order that ends frees its seat and unit
  (the leader's drops its pending group); the member row goes, so the shopper may join again.
- `take_again` (order_reviving): an ended group order is never revived (its seat may be
  someone else's): the late payment is refunded by the shop.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update

from wxdist.core import events
from wxdist.core.extensions import db
from wxdist.models import GroupBuy, GroupMember, GroupSku, GroupStatus, MemberStatus, Order
from wxdist.models.types import utcnow
from wxdist.shop import holds

_groups, _members, _gs = GroupBuy.__table__, GroupMember.__table__, GroupSku.__table__
_RELEASED = "group_buys.released"


def _member(order_id: int) -> Any:
    return db.session.execute(select(_members).where(_members.c.order_id == order_id)).first()


def paid(order_id: int) -> None:
    """Inside the payment's transaction of order `order_id` (nothing for another order)."""
    member = _member(order_id)
    if member is None:
        return
    now = utcnow()
    db.session.execute(
        update(_members).where(_members.c.id == member.id).values(status=MemberStatus.PAID)
    )
    if member.is_leader:
        group = db.session.execute(
            select(_groups.c.time_limit_minutes).where(_groups.c.id == member.group_id)
        ).one()
        db.session.execute(
            update(_groups)
            .where(_groups.c.id == member.group_id, _groups.c.status == GroupStatus.PENDING)
            .values(
                status=GroupStatus.OPEN,
                paid=_groups.c.paid + 1,
                expires_at=now + timedelta(minutes=group.time_limit_minutes),
            )
        )
        return
    db.session.execute(
        update(_groups).where(_groups.c.id == member.group_id).values(paid=_groups.c.paid + 1)
    )
    _succeed_if_full(member.group_id)


def _succeed_if_full(group_id: int) -> None:
    """The group succeeds when its paid members reach its size (it was open)."""
    done = db.session.execute(
        update(_groups)
        .where(
            _groups.c.id == group_id,
            _groups.c.status == GroupStatus.OPEN,
            _groups.c.paid >= _groups.c.size,
        )
        .values(status=GroupStatus.SUCCEEDED, finished_at=utcnow())
    )
    if done.rowcount != 1:
        return
    order_ids = list(
        db.session.scalars(
            select(_members.c.order_id).where(
                _members.c.group_id == group_id, _members.c.status == MemberStatus.PAID
            )
        )
    )
    holds.release(order_ids)
    db.session().info.setdefault(_RELEASED, []).extend(order_ids)


def after_paid(order_id: int) -> None:
    """After the payment's commit: send `orders_released` for a group it made succeed.
    (Ids left by a payment that rolled back may ride along: attribution skips an order
    still held, so that sends nothing wrong.)"""
    released = db.session().info.pop(_RELEASED, None)
    if released:
        events.orders_released.send(__name__, order_ids=sorted(released))


def give_back(order_id: int) -> None:
    """Inside the transaction ending unpaid order `order_id`: its seat and unit come back,
    a leader's pending group is dropped."""
    member = _member(order_id)
    if member is None:
        return
    values: dict[str, Any] = {"taken": _groups.c.taken - 1}
    if member.is_leader:
        db.session.execute(
            update(_groups)
            .where(_groups.c.id == member.group_id, _groups.c.status == GroupStatus.PENDING)
            .values(status=GroupStatus.DROPPED, finished_at=utcnow())
        )
    db.session.execute(update(_groups).where(_groups.c.id == member.group_id).values(**values))
    group_sku_id = db.session.scalar(
        select(_groups.c.group_sku_id).where(_groups.c.id == member.group_id)
    )
    db.session.execute(
        update(_gs).where(_gs.c.id == group_sku_id).values(stock_left=_gs.c.stock_left + 1)
    )
    db.session.execute(delete(_members).where(_members.c.id == member.id))


def take_again(order_id: int) -> bool:
    """Inside a late payment's transaction: False for an ended group order (held by a
    group buy), so the shop refunds the payment; True for any other order."""
    held_by = db.session.scalar(select(Order.held_by).where(Order.id == order_id))
    return held_by != "group"
