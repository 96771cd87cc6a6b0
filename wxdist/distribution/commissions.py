"""Commission attribution when an order is paid (settlement and clawback: `settlement`).
Every movement goes through `accounts.ledger`.

- Attribution snapshots the chain on the order and writes one record per (item,
  beneficiary, depth), frozen. The rate is the product's own, else the beneficiary's
  level's, else the default of the settings, unless an incentive campaign in force when
  the order was paid raises it (`wxdist.incentives.boosts`: the record names the campaign,
  its extra is reserved against the campaign's budget); the depths together never take
  more than 100 % of an item.
- An order refunded before its attribution ran has its clawback committed with the
  commission, so no later step can leave it undone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, insert, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import aliased

from wxdist.accounts import ledger
from wxdist.core.events import (
    AttributedOrder,
    orders_attributed,
    send_required,
)
from wxdist.core.extensions import db
from wxdist.core.money import BP_WHOLE, apply_rate
from wxdist.core.sql import is_deadlock
from wxdist.distribution import attribution_failures, distributors
from wxdist.distribution.settings import Settings, get_settings
from wxdist.distribution.settlement import clawback_locked
from wxdist.incentives import boosts
from wxdist.models import (
    Commission,
    CommissionStatus,
    Distributor,
    DistributorLevel,
    DistributorStatus,
    LedgerBucket,
    Order,
    OrderItem,
    Product,
    Referral,
    User,
)
from wxdist.models.types import utcnow

log = logging.getLogger(__name__)

BATCH = 200  # orders per attribution transaction (the drain pops as many at a time)


@dataclass(frozen=True)
class Beneficiary:
    user_id: int
    level: int  # depth 1 or 2
    level_rates: tuple[int, int] | None  # the distributor level's (l1, l2) rates, if any
    level_id: int | None = None  # the distributor level (a campaign's scope may name it)


def rate_for(
    product_rates: tuple[int | None, int | None], beneficiary: Beneficiary, settings: Settings
) -> tuple[int, str]:
    """The rate (basis points) `beneficiary` earns on an item of a product with these own
    rates (l1, l2), and where it came from: "product", "level" or "default"."""
    own = product_rates[beneficiary.level - 1]
    if own is not None:
        return own, "product"
    if beneficiary.level_rates is not None:
        return beneficiary.level_rates[beneficiary.level - 1], "level"
    return settings.rate_for_depth(beneficiary.level), "default"


def as_direct_referrer(user_id: int, settings: Settings) -> Beneficiary | None:
    """`user_id` as the depth-1 beneficiary of a purchase (their level's rates read as
    `_beneficiaries_of` reads them); None when they would earn nothing: the programme is
    off or they are not an approved distributor."""
    if not settings.enabled:
        return None
    row = db.session.execute(
        select(
            Distributor.status,
            DistributorLevel.level1_rate_bp,
            DistributorLevel.level2_rate_bp,
            DistributorLevel.id,
        )
        .outerjoin(DistributorLevel, Distributor.level_id == DistributorLevel.id)
        .where(Distributor.user_id == user_id)
    ).first()
    if row is None or row.status != DistributorStatus.APPROVED:
        return None
    rates = (row.level1_rate_bp, row.level2_rate_bp) if row.id is not None else None
    return Beneficiary(user_id, 1, rates, row.id)


def _active(parent_id: int | None, expires_at: datetime | None, now: datetime) -> bool:
    """A binding that counts (as `referrals.chain_for` reads it)."""
    return parent_id is not None and (expires_at is None or expires_at > now)


def _beneficiaries_of(
    buyer_ids: set[int], settings: Settings, now: datetime
) -> dict[int, list[Beneficiary]]:
    """Who earns from each buyer, by depth: the chains in one query (a referral joined to
    its parent's), the candidates' distributor rows and levels in another. A disabled or
    unapproved referrer earns nothing and does not shift the others up; with
    self-purchase commission on, an approved buyer earns depth 1 (内购)."""
    if not settings.enabled or not buyer_ids:
        return {}
    parent = aliased(Referral)
    chains: dict[int, tuple[int | None, int | None]] = {}
    for user_id, parent_id, expires_at, grandparent_id, parent_expires_at in db.session.execute(
        select(
            Referral.user_id,
            Referral.parent_id,
            Referral.expires_at,
            parent.parent_id,
            parent.expires_at,
        )
        .outerjoin(parent, parent.user_id == Referral.parent_id)
        .where(Referral.user_id.in_(buyer_ids))
    ):
        if _active(parent_id, expires_at, now):
            upper = grandparent_id if _active(grandparent_id, parent_expires_at, now) else None
            chains[user_id] = (parent_id, upper)
    wanted = {uid for chain in chains.values() for uid in chain if uid is not None}
    if settings.self_purchase_commission:
        wanted |= buyer_ids
    approved: dict[int, tuple[tuple[int, int] | None, int | None]] = {}
    if wanted:
        for user_id, status, rate1, rate2, has_level in db.session.execute(
            select(
                Distributor.user_id,
                Distributor.status,
                DistributorLevel.level1_rate_bp,
                DistributorLevel.level2_rate_bp,
                DistributorLevel.id,
            )
            .outerjoin(DistributorLevel, Distributor.level_id == DistributorLevel.id)
            .where(Distributor.user_id.in_(wanted))
        ):
            if status == DistributorStatus.APPROVED:
                rates = (rate1, rate2) if has_level is not None else None
                approved[user_id] = (rates, has_level)
    found: dict[int, list[Beneficiary]] = {}
    for buyer_id in buyer_ids:
        parent_id, grandparent_id = chains.get(buyer_id, (None, None))
        if settings.self_purchase_commission and buyer_id in approved:
            candidates = [buyer_id, parent_id]
        else:
            candidates = [parent_id, grandparent_id]
        found[buyer_id] = [
            Beneficiary(user_id, depth, *approved[user_id])
            for depth, user_id in enumerate(candidates[: settings.depth], start=1)
            if user_id is not None and user_id in approved
        ]
    return found


@dataclass(frozen=True)
class _Paid:
    """What attribution reads of a locked, paid, unattributed order."""

    id: int
    user_id: int
    paid_fen: int
    refunded_fen: int
    paid_at: datetime


def _lock_unattributed(order_ids: list[int]) -> list[_Paid]:
    """Lock the orders (ascending id, so concurrent batches lock in one order) and keep
    those paid, not yet attributed and not held by an activity (`shop.holds`)."""
    rows = db.session.execute(
        select(Order.id, Order.user_id, Order.paid_fen, Order.refunded_fen, Order.paid_at)
        .where(Order.id.in_(order_ids), Order.attributed_at.is_(None), Order.held_by.is_(None))
        .where(Order.paid_at.is_not(None))
        .order_by(Order.id)
        .with_for_update()
    ).all()
    return [_Paid(*row) for row in rows]


def attribute_order(order_id: int) -> int:
    """Write the commission of a paid order, once; commits. Returns records written.
    See `attribute_orders`."""
    return attribute_orders([order_id])


def attribute_orders(order_ids: Iterable[int]) -> int:
    """Write the commission of many paid orders in one transaction, once each; commits.
    Returns the records written. An order missing, unpaid or already attributed is skipped
    and nothing is written for it (a duplicate push, a retried job).

    Per order, as one: the chain snapshot and `attributed_at` on the order, one frozen
    record per (item, beneficiary, depth) with its ledger entry, the buyer's paid count and
    spend (in "spend" mode the buyer may then become a distributor), the beneficiaries'
    team sales, the day's figures, and the clawback of a refund settled before this ran.
    Rows batches share are locked in one order (orders, boost campaigns whose budget they
    draw on, buyers, then, after the records, distributors, accounts, daily figures, each
    in key order), so concurrent batches wait for each other instead of deadlocking.

    Raises what the database raises (a unique key broken by a record already there, a
    deadlock), ledger.AlreadyPosted; the transaction is then rolled back and nothing of
    the batch is written: attribute the orders one by one to find the culprit.
    """
    ids = sorted(set(order_ids))
    if not ids:
        return 0
    try:
        written, buyers, settings = _attribute_locked(ids)
    except BaseException:
        db.session.rollback()
        raise
    if settings is not None and settings.enabled and settings.distributor_mode == "spend":
        for buyer_id in sorted(buyers):
            distributors.promote_by_spend(buyer_id)
    return written


def _attribute_locked(ids: list[int]) -> tuple[int, set[int], Settings | None]:
    """The body of `attribute_orders`; commits, or raises with the transaction open.
    Returns the records written, the buyers and the settings it attributed with (None
    when there was nothing to attribute)."""
    orders = _lock_unattributed(ids)
    if not orders:
        db.session.rollback()
        return 0, set(), None
    now = utcnow()
    settings = get_settings()  # after the locks: the first plain read takes the snapshot
    buyers = {order.user_id for order in orders}
    beneficiaries = _beneficiaries_of(buyers, settings, now)
    records, earned = _commission_rows(orders, beneficiaries, settings, now)
    # The buyers' rows before the records: inserting those checks their foreign keys with
    # a shared lock on the buyers' rows, and upgrading that lock for this UPDATE later
    # would deadlock two batches with a buyer in common.
    _add_spend(orders)
    credits = _insert_records(records, [order.id for order in orders])
    _snapshot_chains(orders, beneficiaries, now)
    # Shared rows, each table in key order: distributors, accounts, daily figures.
    _add_team_sales(orders, beneficiaries)
    ledger.credit_many(LedgerBucket.FROZEN, credits, kind="commission")
    for order in orders:
        if order.refunded_fen > 0:
            # A refund settled before this ran: its clawback commits with the commission,
            # so no later step (or lost job) can leave it undone.
            clawback_locked(
                db.session.get(Order, order.id, populate_existing=True)  # type: ignore[arg-type]
            )
    send_required(
        orders_attributed,
        __name__,
        orders=[
            AttributedOrder(o.paid_at, o.id, o.paid_fen, earned[o.id], o.user_id, o.refunded_fen)
            for o in orders
        ],
    )
    db.session.commit()
    return len(records), buyers, settings


def _commission_rows(
    orders: list[_Paid],
    beneficiaries: dict[int, list[Beneficiary]],
    settings: Settings,
    now: datetime,
) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """The records to write (one per item, beneficiary and depth, as `commissions` rows)
    and the commission each order earns in total. Reads the items, the products' rates
    and the boost campaigns, one query each; reserves the boosts' extra (`boosts.reserve`)."""
    by_id = {order.id: order for order in orders}
    items = db.session.execute(
        select(
            OrderItem.id,
            OrderItem.order_id,
            OrderItem.product_id,
            OrderItem.commission_base_fen.label("base_fen"),
        )
        .where(OrderItem.order_id.in_(by_id))
        .order_by(OrderItem.id)
    ).all()
    products = {
        row.id: row
        for row in db.session.execute(
            select(
                Product.id, Product.commission_l1_bp, Product.commission_l2_bp, Product.category_id
            ).where(Product.id.in_({item.product_id for item in items}))
        )
    }
    campaigns = boosts.load(order.paid_at for order in orders)
    records: list[dict[str, Any]] = []
    pending: list[boosts.Pending] = []
    for item in items:
        order = by_id[item.order_id]
        product = products[item.product_id]
        used_bp = 0
        for beneficiary in beneficiaries.get(order.user_id, []):
            normal, source = rate_for(
                (product.commission_l1_bp, product.commission_l2_bp), beneficiary, settings
            )
            rate = min(normal, BP_WHOLE - used_bp)  # the depths together never exceed the item
            record = {
                "order_id": order.id,
                "order_item_id": item.id,
                "buyer_id": order.user_id,
                "beneficiary_id": beneficiary.user_id,
                "level": beneficiary.level,
                "base_fen": item.base_fen,
                "rate_bp": rate,
                "rate_source": source,
                "amount_fen": apply_rate(item.base_fen, rate),
                "clawed_fen": 0,
                "status": CommissionStatus.FROZEN,
                "created_at": now,
                "campaign_id": None,
                "campaign_extra_fen": 0,
            }
            boost = boosts.pick(
                campaigns, order.paid_at, product.id, product.category_id, beneficiary.level_id
            )
            if boost is not None:
                found = boosts.boosted(record, boost, normal, source, BP_WHOLE - used_bp)
                pending += [found] if found is not None else []
            used_bp += record["rate_bp"]  # a fallback to the normal rate only lowers it
            records.append(record)
    boosts.reserve(pending)
    records = [record for record in records if record["amount_fen"] > 0]
    earned = dict.fromkeys(by_id, 0)
    for record in records:
        earned[record["order_id"]] += record["amount_fen"]
    return records, earned


def _add_spend(orders: list[_Paid]) -> None:
    """Count the purchases towards each buyer's paid orders and spend (one UPDATE)."""
    spend: dict[int, tuple[int, int]] = {}
    for order in orders:
        count, fen = spend.get(order.user_id, (0, 0))
        spend[order.user_id] = (count + 1, fen + order.paid_fen)
    users = sorted(spend)
    db.session.execute(
        update(User)
        .where(User.id.in_(users))
        .values(
            paid_orders=User.paid_orders
            + case({uid: spend[uid][0] for uid in users}, value=User.id),
            paid_spend_fen=User.paid_spend_fen
            + case({uid: spend[uid][1] for uid in users}, value=User.id),
        )
        .execution_options(synchronize_session=False)
    )


def _insert_records(records: list[dict[str, Any]], order_ids: list[int]) -> list[ledger.Credit]:
    """Insert the records in one statement (their unique key makes each happen once), read
    their ids back, and return the ledger credit of each (`c<id>:earn`)."""
    if not records:
        return []
    db.session.execute(insert(Commission.__table__), records)
    record_ids = {
        (row.order_item_id, row.beneficiary_id, row.level): row.id
        for row in db.session.execute(
            select(
                Commission.id, Commission.order_item_id, Commission.beneficiary_id, Commission.level
            ).where(Commission.order_id.in_(order_ids))
        )
    }
    credits = []
    for record in records:
        commission_id = record_ids[
            (record["order_item_id"], record["beneficiary_id"], record["level"])
        ]
        credits.append(
            ledger.Credit(
                user_id=record["beneficiary_id"],
                amount_fen=record["amount_fen"],
                key=f"c{commission_id}:earn",
                commission_id=commission_id,
                order_id=record["order_id"],
            )
        )
    return credits


def _snapshot_chains(
    orders: list[_Paid], beneficiaries: dict[int, list[Beneficiary]], now: datetime
) -> None:
    """Mark the orders (locked already) attributed, with the chain that earned (one UPDATE)."""
    l1: dict[int, int | None] = {}
    l2: dict[int, int | None] = {}
    for order in orders:
        depth = {b.level: b.user_id for b in beneficiaries.get(order.user_id, [])}
        l1[order.id], l2[order.id] = depth.get(1), depth.get(2)
    db.session.execute(
        update(Order)
        .where(Order.id.in_(l1))
        .values(
            attributed_at=now,
            referrer_l1_id=case(l1, value=Order.id, else_=None),
            referrer_l2_id=case(l2, value=Order.id, else_=None),
        )
        .execution_options(synchronize_session=False)
    )


def _add_team_sales(orders: list[_Paid], beneficiaries: dict[int, list[Beneficiary]]) -> None:
    """Add each order's paid amount to its beneficiaries' team sales (one UPDATE)."""
    sales: dict[int, int] = {}
    for order in orders:
        for beneficiary in beneficiaries.get(order.user_id, []):
            sales[beneficiary.user_id] = sales.get(beneficiary.user_id, 0) + order.paid_fen
    if sales:
        db.session.execute(
            update(Distributor)
            .where(Distributor.user_id.in_(sorted(sales)))
            .values(
                team_sales_fen=Distributor.team_sales_fen + case(sales, value=Distributor.user_id)
            )
            .execution_options(synchronize_session=False)
        )


def attribute_missed(now: datetime | None = None, limit: int = 500) -> int:
    """Periodic: attribute paid orders whose attribution never ran or failed (a lost RQ
    job, an inline job that raised, an order the drain parked), in batches; an order that
    fails again is counted (wxdist.distribution.attribution_failures) and skipped. Returns records
    written."""
    cutoff = (now or utcnow()) - timedelta(minutes=1)
    ids = db.session.scalars(
        select(Order.id)
        .where(Order.attributed_at.is_(None), Order.held_by.is_(None), Order.paid_at <= cutoff)
        .order_by(Order.paid_at)
        .limit(limit)
    ).all()
    written = 0
    for start in range(0, len(ids), BATCH):
        outcome = attribute_many(ids[start : start + BATCH])
        written += outcome.written
    attribution_failures.forget_attributed()
    return written


@dataclass
class Outcome:
    """What `attribute_many` did: records written; orders that failed and may be retried;
    orders that failed and are parked."""

    written: int = 0
    failed: list[int] = field(default_factory=list)
    parked: list[int] = field(default_factory=list)


def attribute_many(order_ids: list[int]) -> Outcome:
    """Attribute `order_ids` in one transaction; if that fails (a deadlock, one bad order),
    each order in a transaction of its own (a deadlock victim retried once), so one order
    cannot block its neighbours. Each order that still fails is rolled back, logged and
    counted in wxdist.distribution.attribution_failures, which parks it after PARK_AFTER attempts.
    Never raises for a failed order; the outcome lists them."""
    outcome = Outcome()
    try:
        outcome.written = attribute_orders(order_ids)
        return outcome
    except Exception as exc:
        log.warning(
            "attribution of a batch of %d orders failed (%s): attributing them one by one",
            len(order_ids),
            exc.__class__.__name__,
        )
    for order_id in order_ids:
        try:
            outcome.written += _attribute_one(order_id)
        except Exception as exc:
            db.session.rollback()
            log.exception("attribution of order %s failed", order_id)
            if attribution_failures.record(order_id, exc):
                outcome.parked.append(order_id)
            else:
                outcome.failed.append(order_id)
    return outcome


def _attribute_one(order_id: int) -> int:
    """`attribute_order`, retried once if it was a deadlock victim (MySQL rolled it back)."""
    try:
        return attribute_order(order_id)
    except OperationalError as exc:
        if not is_deadlock(exc):
            raise
        log.warning("attribution of order %s was a deadlock victim: retrying once", order_id)
        return attribute_order(order_id)
