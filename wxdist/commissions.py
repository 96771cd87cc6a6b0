"""Commission: attribution when an order is paid, settlement after it completes, and
proportional clawback when it is refunded. Every movement goes through `wxdist.ledger`.

- Attribution snapshots the chain on the order and writes one record per (item,
  beneficiary, depth), frozen. The rate is the product's own, else the beneficiary's
  level's, else the default of the settings; the depths together never take more than
  100 % of an item.
- Settlement: an order completed at least `freeze_days` ago, with no refund open, has its
  frozen commission moved to available (and the beneficiaries' levels re-checked).
- Clawback recomputes what each record may keep from the item's refunded share, and takes
  back the difference: from frozen while unsettled, from available (possibly into debt)
  once settled. It is idempotent: running it twice takes nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from wxdist import daily_stats, distributors, ledger
from wxdist.distribution_settings import Settings, get_settings
from wxdist.extensions import db
from wxdist.models import (
    Commission,
    CommissionStatus,
    Distributor,
    DistributorLevel,
    DistributorStatus,
    LedgerBucket,
    Order,
    OrderItem,
    OrderStatus,
    Product,
    User,
)
from wxdist.models.types import utcnow
from wxdist.money import BP_WHOLE, apply_rate, proportion
from wxdist.referrals import chain_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Beneficiary:
    user_id: int
    level: int  # depth 1 or 2
    level_rates: tuple[int, int] | None  # the distributor level's (l1, l2) rates, if any


def _lock_order(order_id: int) -> Order | None:
    return db.session.scalar(
        select(Order)
        .where(Order.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _beneficiaries(buyer_id: int, settings: Settings, now: datetime) -> list[Beneficiary]:
    """Who earns from this buyer, by depth. A disabled or unapproved referrer earns
    nothing and does not shift the others up."""
    chain = chain_for(buyer_id, now)
    if settings.self_purchase_commission and distributors.is_active_distributor(buyer_id):
        candidates = [buyer_id, chain.parent_id]  # 内购: the buyer earns depth 1
    else:
        candidates = [chain.parent_id, chain.grandparent_id]
    found: list[Beneficiary] = []
    for depth, user_id in enumerate(candidates[: settings.depth], start=1):
        if user_id is None:
            continue
        row = db.session.execute(
            select(Distributor, DistributorLevel)
            .outerjoin(DistributorLevel, Distributor.level_id == DistributorLevel.id)
            .where(Distributor.user_id == user_id)
        ).first()
        if row is None or row[0].status != DistributorStatus.APPROVED:
            continue
        level = row[1]
        rates = (level.level1_rate_bp, level.level2_rate_bp) if level is not None else None
        found.append(Beneficiary(user_id, depth, rates))
    return found


def _rate(
    product_rates: tuple[int | None, int | None], beneficiary: Beneficiary, settings: Settings
) -> tuple[int, str]:
    own = product_rates[beneficiary.level - 1]
    if own is not None:
        return own, "product"
    if beneficiary.level_rates is not None:
        return beneficiary.level_rates[beneficiary.level - 1], "level"
    return settings.rate_for_depth(beneficiary.level), "default"


def attribute_order(order_id: int) -> int:
    """Write the commission of a paid order, once; commits. Returns records written.

    Also counts the purchase towards the buyer's spend (and, in "spend" mode, makes the
    buyer a distributor once the threshold is reached).
    """
    order = _lock_order(order_id)
    if order is None or order.attributed_at is not None or order.paid_at is None:
        db.session.rollback()
        return 0
    now = utcnow()
    settings = get_settings()
    db.session.execute(
        update(User)
        .where(User.id == order.user_id)
        .values(
            paid_orders=User.paid_orders + 1, paid_spend_fen=User.paid_spend_fen + order.paid_fen
        )
    )
    written = earned = 0
    beneficiaries = _beneficiaries(order.user_id, settings, now) if settings.enabled else []
    by_depth = {b.level: b.user_id for b in beneficiaries}
    order.referrer_l1_id = by_depth.get(1)
    order.referrer_l2_id = by_depth.get(2)
    order.attributed_at = now
    product_rates = {
        row.id: (row.commission_l1_bp, row.commission_l2_bp)
        for row in db.session.execute(
            select(Product.id, Product.commission_l1_bp, Product.commission_l2_bp).where(
                Product.id.in_({item.product_id for item in order.items})
            )
        )
    }
    for item in order.items:
        used_bp = 0
        for beneficiary in beneficiaries:
            rate, source = _rate(product_rates[item.product_id], beneficiary, settings)
            rate = min(rate, BP_WHOLE - used_bp)  # the depths together never exceed the item
            used_bp += rate
            amount = apply_rate(item.paid_fen, rate)
            if amount <= 0:
                continue
            commission = Commission(
                order_id=order.id,
                order_item_id=item.id,
                buyer_id=order.user_id,
                beneficiary_id=beneficiary.user_id,
                level=beneficiary.level,
                base_fen=item.paid_fen,
                rate_bp=rate,
                rate_source=source,
                amount_fen=amount,
                created_at=now,
            )
            db.session.add(commission)
            db.session.flush()
            ledger.post(
                beneficiary.user_id,
                LedgerBucket.FROZEN,
                amount,
                kind="commission",
                key=f"c{commission.id}:earn",
                commission_id=commission.id,
                order_id=order.id,
            )
            written += 1
            earned += amount
    for beneficiary in beneficiaries:
        db.session.execute(
            update(Distributor)
            .where(Distributor.user_id == beneficiary.user_id)
            .values(team_sales_fen=Distributor.team_sales_fen + order.paid_fen)
        )
    if order.refunded_fen > 0:
        # A refund settled before this job ran: its clawback commits with the commission,
        # so no later step (or lost job) can leave it undone.
        db.session.flush()
        clawback_locked(order)
    daily_stats.add(
        order.paid_at, order.id, paid_orders=1, paid_fen=order.paid_fen, commission_fen=earned
    )
    db.session.commit()
    if settings.enabled and settings.distributor_mode == "spend":
        distributors.promote_by_spend(order.user_id)
    return written


def attribute_missed(now: datetime | None = None, limit: int = 500) -> int:
    """Periodic: attribute paid orders whose attribution job never ran or failed (a lost RQ
    job, an inline job that raised). Idempotent. Returns records written."""
    cutoff = (now or utcnow()) - timedelta(minutes=1)
    ids = db.session.scalars(
        select(Order.id)
        .where(Order.attributed_at.is_(None), Order.paid_at.is_not(None), Order.paid_at <= cutoff)
        .order_by(Order.paid_at)
        .limit(limit)
    ).all()
    return sum(attribute_order(order_id) for order_id in ids)


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
    daily_stats.add(None, order.id, commission_clawed_fen=taken)
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
        moved = db.session.execute(
            update(Order)
            .where(Order.id == order_id, Order.status == OrderStatus.SHIPPED)
            .values(status=OrderStatus.COMPLETED, completed_at=now)
        )
        done += moved.rowcount
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
    order = _lock_order(order_id)
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
    beneficiaries = set()
    for commission in records:
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
        beneficiaries.add(commission.beneficiary_id)
    order.commission_settled_at = now
    db.session.commit()
    for user_id in sorted(beneficiaries):
        distributors.check_upgrade(user_id)
    return True
