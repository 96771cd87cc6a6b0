"""Groups not full at their deadline fail; every paid member's order is refunded in full
through the shop's refund path, every unpaid member order is cancelled.

`fail_expired_groups` (periodic, `jobs.marketing.fail_expired_groups`; also callable
directly) marks each open group past its deadline failed (a compare-and-set: once), then
`settle_failed_groups` works through the members of failed groups: an unpaid order is
cancelled after asking its gateway (its seat and unit come back by `order_ending`; a
payment found then is applied and refunded in the same run); a paid one gets ONE refund
of what is left of its payment, its member row marked `refunded` with the refund's id in
the same transaction, and its activity unit returned. A rerun finds nothing done twice.
The hold stays on every order of a failed group: no commission, no shipment. Coupons
follow the shop's full-refund policy (`marketing.coupons.after_full_refund`).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update

from payments.errors import GatewayUnavailable
from wxdist.core.errors import ApiError
from wxdist.core.extensions import db
from wxdist.models import (
    GroupBuy,
    GroupMember,
    GroupSku,
    GroupStatus,
    MemberStatus,
    Order,
    OrderStatus,
)
from wxdist.models.types import utcnow
from wxdist.shop import orders as order_service
from wxdist.shop import refunds
from wxdist.shop.payment_flow import settle_unpaid

log = logging.getLogger(__name__)

REASON = "group buy failed"


def fail_expired_groups(now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Fail open groups past their deadline, then settle every failed group's members.
    Returns counts (`failed`, and those of `settle_failed_groups`)."""
    now = now or utcnow()
    ids = db.session.scalars(
        select(GroupBuy.id)
        .where(GroupBuy.status == GroupStatus.OPEN, GroupBuy.expires_at <= now)
        .order_by(GroupBuy.expires_at)
        .limit(limit)
    ).all()
    failed = 0
    for group_id in ids:
        moved = db.session.execute(
            update(GroupBuy)
            .where(GroupBuy.id == group_id, GroupBuy.status == GroupStatus.OPEN)
            .values(status=GroupStatus.FAILED, finished_at=now)
        )
        failed += moved.rowcount
        db.session.commit()
    return {"failed": failed, **settle_failed_groups(limit)}


def _members_of_failed(status: str, limit: int) -> list[tuple[int, int]]:
    rows = db.session.execute(
        select(GroupMember.id, GroupMember.order_id)
        .join(GroupBuy, GroupBuy.id == GroupMember.group_id)
        .where(GroupBuy.status == GroupStatus.FAILED, GroupMember.status == status)
        .order_by(GroupMember.id)
        .limit(limit)
    ).all()
    db.session.rollback()
    return [(m, o) for m, o in rows]


def settle_failed_groups(limit: int = 500) -> dict[str, int]:
    """Cancel the unpaid member orders of failed groups, then refund the paid ones, each
    once. Returns counts: `cancelled`, `refunded`, `unreachable` (a gateway that did not
    answer: next run), `refused` (the refund path said no: logged, next run)."""
    counts = {"cancelled": 0, "refunded": 0, "unreachable": 0, "refused": 0}
    for _member_id, order_id in _members_of_failed(MemberStatus.RESERVED, limit):
        order = db.session.get(Order, order_id)
        if order is None or order.status != OrderStatus.PENDING_PAYMENT:
            db.session.rollback()
            continue
        try:
            may_end = settle_unpaid(order)
        except GatewayUnavailable:
            db.session.rollback()
            counts["unreachable"] += 1
            continue
        if may_end and order_service.end_unpaid_order(order_id, OrderStatus.CANCELLED):
            counts["cancelled"] += 1
    for member_id, order_id in _members_of_failed(MemberStatus.PAID, limit):
        if _refund_member(member_id, order_id):
            counts["refunded"] += 1
        else:
            counts["refused"] += 1
    return counts


def _refund_member(member_id: int, order_id: int) -> bool:
    """One refund of what is left of the order's payment, the member marked refunded and
    the unit returned to the activity and the SKU in the same transaction (so never
    twice); then sent."""
    order = order_service.lock_order(order_id)
    if order is None:
        db.session.rollback()
        return False
    try:
        refund = refunds.prepare_refund(order_id, order.paid_fen - order.refunded_fen, REASON)
    except ApiError as exc:
        db.session.rollback()
        log.warning("group order %s: refund refused (%s): next run", order_id, exc)
        return False
    marked = db.session.execute(
        update(GroupMember)
        .where(GroupMember.id == member_id, GroupMember.status == MemberStatus.PAID)
        .values(status=MemberStatus.REFUNDED, refund_id=refund.id)
    )
    if marked.rowcount != 1:  # another run got here first
        db.session.rollback()
        return False
    group_sku_id = db.session.scalar(
        select(GroupBuy.group_sku_id)
        .join(GroupMember, GroupMember.group_id == GroupBuy.id)
        .where(GroupMember.id == member_id)
    )
    db.session.execute(
        update(GroupSku)
        .where(GroupSku.id == group_sku_id)
        .values(stock_left=GroupSku.stock_left + 1)
    )
    order_service.return_stock(order_id)  # nothing of a forming group's order was shipped
    db.session.commit()
    refunds.send_refund(refund.id)
    return True
