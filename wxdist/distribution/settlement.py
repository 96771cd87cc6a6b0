"""Settlement and clawback of commission.

- Settlement: an order completed at least `freeze_days` ago, with no refund open, has its
  frozen commission moved to available, except on a line with an after-sale open (that
  line's is settled on a later run, once the after-sale ended), and the beneficiaries'
  levels re-checked; orders shipped `auto_complete_days` ago that nobody confirmed are
  completed first.
- Clawback recomputes what each record may keep from the item's refunded share, and takes
  back the difference: from frozen while unsettled, from available (possibly into debt)
  once settled. It is idempotent: running it twice takes nothing twice.

Every movement goes through `accounts.ledger`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from wxdist.accounts import ledger
from wxdist.core.events import commission_clawed, commission_settled, send_required
from wxdist.core.extensions import db
from wxdist.core.money import proportion
from wxdist.distribution import distributors
from wxdist.distribution.settings import get_settings
from wxdist.models import (
    Commission,
    CommissionStatus,
    LedgerBucket,
    Order,
    OrderItem,
    OrderStatus,
)
from wxdist.models.types import utcnow
from wxdist.shop import completion
from wxdist.shop.aftersales import rules as aftersale_rules
from wxdist.shop.orders import lock_order


def clawback_locked(order: Order) -> int:
    """The clawback, inside the caller's transaction, which holds the order's row lock
    (a refund settling calls this so the refund and its clawback commit together)."""
    items = {item.id: item for item in order.items}
    records = db.session.scalars(
        select(Commission)
        .where(Commission.order_id == order.id, Commission.status != CommissionStatus.CANCELLED)
        .order_by(Commission.id)
        .with_for_update()
    ).all()
    taken = 0
    for commission in records:
        item: OrderItem = items[commission.order_item_id]
        keep = proportion(commission.amount_fen, item.paid_fen - item.refunded_fen, item.paid_fen)
        delta = commission.net_fen - keep
        if delta <= 0:
            continue
        commission.clawed_fen += delta
        key = f"c{commission.id}:claw:{commission.clawed_fen}"
        if commission.status == CommissionStatus.FROZEN:
            ledger.post(
                commission.beneficiary_id,
                LedgerBucket.FROZEN,
                -delta,
                kind="clawback",
                key=key,
                commission_id=commission.id,
                order_id=order.id,
            )
            if commission.net_fen == 0:
                commission.status = CommissionStatus.CANCELLED
        else:
            ledger.post(
                commission.beneficiary_id,
                LedgerBucket.AVAILABLE,
                -delta,
                kind="clawback",
                key=key,
                commission_id=commission.id,
                order_id=order.id,
                may_go_negative=True,  # a shortfall stays as a debt
                lifetime_delta=-delta,
            )
        taken += delta
    send_required(commission_clawed, __name__, order_id=order.id, taken_fen=taken)
    return taken


def auto_complete_orders(now: datetime | None = None, limit: int = 500) -> int:
    """Complete orders shipped `auto_complete_days` ago that nobody confirmed."""
    now = now or utcnow()
    settings = get_settings()
    cutoff = now - timedelta(days=settings.auto_complete_days)
    ids = db.session.scalars(
        select(Order.id)
        .where(Order.status == OrderStatus.SHIPPED, Order.shipped_at <= cutoff)
        .limit(limit)
    ).all()
    done = 0
    for order_id in ids:
        done += completion.mark_completed(order_id, now)
    db.session.commit()
    return done


def settle_due(now: datetime | None = None, limit: int = 500) -> int:
    """Move to available the commission of orders completed `freeze_days` ago with no open
    refund. Returns how many orders were settled."""
    now = now or utcnow()
    settings = get_settings()
    cutoff = now - timedelta(days=settings.freeze_days)
    ids = db.session.scalars(
        select(Order.id)
        .where(
            Order.status == OrderStatus.COMPLETED,
            Order.completed_at <= cutoff,
            Order.attributed_at.is_not(None),
            Order.commission_settled_at.is_(None),
        )
        .order_by(Order.completed_at)
        .limit(limit)
    ).all()
    settled = 0
    for order_id in ids:
        if settle_order(order_id, now):
            settled += 1
    return settled


def settle_order(order_id: int, now: datetime | None = None) -> bool:
    """Settle one order's frozen commission; commits. False if it is not due any more."""
    now = now or utcnow()
    order = lock_order(order_id)
    if (
        order is None
        or order.status != OrderStatus.COMPLETED
        or order.commission_settled_at is not None
    ):
        db.session.rollback()
        return False
    records = db.session.scalars(
        select(Commission)
        .where(Commission.order_id == order_id, Commission.status == CommissionStatus.FROZEN)
        .order_by(Commission.id)
        .with_for_update()
    ).all()
    # A line with an after-sale open keeps its commission frozen; the order is settled
    # (marked) only once every line could be, on a later run.
    held = aftersale_rules.open_item_ids(order_id)
    settled: dict[int, int] = {}
    for commission in records:
        if commission.order_item_id in held:
            continue
        net = commission.net_fen
        ledger.move(
            commission.beneficiary_id,
            LedgerBucket.FROZEN,
            LedgerBucket.AVAILABLE,
            net,
            kind="settle",
            key=f"c{commission.id}:settle",
            commission_id=commission.id,
            order_id=order_id,
            lifetime_delta=net,
        )
        commission.status = CommissionStatus.SETTLED
        commission.settled_at = now
        settled[commission.beneficiary_id] = settled.get(commission.beneficiary_id, 0) + net
    if not held:
        order.commission_settled_at = now
    db.session.commit()
    for user_id in sorted(settled):
        distributors.check_upgrade(user_id)
    for user_id, amount_fen in sorted(settled.items()):
        commission_settled.send(
            __name__, beneficiary_id=user_id, amount_fen=amount_fen, order_id=order_id
        )
    return True
