"""The report aggregates' writer (grain and indexes: `wxdist.models.report`).

Each change is counted inside the transaction that makes it (receivers in
`reporting.receivers`): an order's attribution (`orders_attributed`), a refund settling
with its clawback (`refund_applying`, after distribution's clawback ran), a binding
(`referral_bound`). For an order, the writer reads its current figures from the source
rows (the order, its items, its commission records, its settled refunds: a few rows by
`order_id`), compares them with what `report_orders.state` says was counted, and adds the
difference to the aggregate rows with one `INSERT … ON DUPLICATE KEY UPDATE n = n + …`
per table (rows in key order, so concurrent writers lock them in one order). Counting the
same order twice adds nothing; a refund settled before its order was attributed is counted
with the attribution, on that day.

Who counts what:
- the order's level-1 distributor: its orders, paid and refunded amounts, per day (and
  per month beside it), per channel and per product, and (channel, product) the level-1
  commission on them;
- every beneficiary: the commission they earned and lost, per day;
- the merchant shards (-1..-REPORT_SHARDS): every attributed order, all commission;
- the share code the buyer came through: the order, paid and refunded amounts.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from wxdist.core.clock import to_local
from wxdist.core.extensions import db
from wxdist.models import (
    Commission,
    Order,
    OrderItem,
    Payment,
    PaymentStatus,
    ReferralBinding,
    Refund,
    RefundStatus,
)
from wxdist.models.report import (
    REPORT_SHARDS,
    ReportChannelDaily,
    ReportDaily,
    ReportMonthly,
    ReportOrder,
    ReportProductDaily,
    ReportProductMonthly,
    ReportShareCode,
)
from wxdist.models.types import utcnow

DAILY = ("orders", "paid_fen", "refunds", "refunded_fen", "commission_fen", "commission_clawed_fen")
PRODUCT = ("orders", "paid_fen", "refunded_fen", "commission_fen", "commission_clawed_fen")
CODE = ("orders", "paid_fen", "refunded_fen")
# Counted on the day of the change, not the paid day.
LATER = {"refunds", "refunded_fen", "commission_clawed_fen"}

TABLES: dict[str, tuple[Any, tuple[str, ...], tuple[str, ...]]] = {
    # name: (model, key columns after the day, counters)
    "daily": (ReportDaily, ("distributor_id", "day"), (*DAILY, "new_members")),
    "monthly": (ReportMonthly, ("distributor_id", "month"), (*DAILY, "new_members")),
    "channel": (ReportChannelDaily, ("distributor_id", "day", "channel"), DAILY),
    "product": (ReportProductDaily, ("distributor_id", "day", "product_id"), PRODUCT),
    "product_monthly": (ReportProductMonthly, ("month", "product_id"), PRODUCT),
    "code": (ReportShareCode, ("share_code_id",), CODE),
}


def local_day(moment: datetime) -> date:
    return to_local(moment).date()


def merchant_key(number: int) -> int:
    """The merchant shard a number (order or user id) writes to."""
    return -(1 + number % REPORT_SHARDS)


@dataclass
class _Meta:
    order_id: int
    distributor_id: int | None
    share_code_id: int | None
    channel: str
    paid_day: date


# A contribution: (table, key without the day or with it, counter) -> amount, where the
# key's day slot holds None for "the day of the change".
Contribution = dict[tuple[str, tuple[Any, ...], str], int]


def _state_of(order: Any, items: list[Any], records: list[Any], refunds: int) -> dict[str, Any]:
    """An order's current figures, as stored in `report_orders.state`."""
    product_of = {item.id: item.product_id for item in items}
    products: dict[str, list[int]] = {}
    for item in items:
        row = products.setdefault(str(item.product_id), [0, 0, 0, 0, 0, 0])
        row[0] += item.paid_fen
        row[1] += item.refunded_fen
    earners: dict[str, list[int]] = {}
    for record in records:
        row = products[str(product_of[record.order_item_id])]
        row[2] += record.amount_fen
        row[3] += record.clawed_fen
        if record.level == 1:
            row[4] += record.amount_fen
            row[5] += record.clawed_fen
        mine = earners.setdefault(str(record.beneficiary_id), [0, 0])
        mine[0] += record.amount_fen
        mine[1] += record.clawed_fen
    return {
        "paid": order.paid_fen,
        "refunded": order.refunded_fen,
        "refunds": refunds,
        "products": products,
        "earners": earners,
    }


def _contribution(meta: _Meta, state: dict[str, Any] | None) -> Contribution:
    """What an order with `state` adds to every aggregate (nothing for None)."""
    out: Contribution = defaultdict(int)
    if state is None:
        return out

    def add(table: str, key: tuple[Any, ...], **counters: int) -> None:
        for name, amount in counters.items():
            day = None if name in LATER else meta.paid_day
            full = (*key[:1], day, *key[1:]) if table != "code" else key
            out[(table, full, name)] += amount

    products = state["products"]
    all_commission = sum(row[2] for row in products.values())
    all_clawed = sum(row[3] for row in products.values())
    l1_commission = sum(row[4] for row in products.values())
    l1_clawed = sum(row[5] for row in products.values())
    order_figures = {
        "orders": 1,
        "paid_fen": state["paid"],
        "refunds": state["refunds"],
        "refunded_fen": state["refunded"],
    }
    shard = merchant_key(meta.order_id)
    money = {"commission_fen": all_commission, "commission_clawed_fen": all_clawed}
    add("daily", (shard,), **order_figures, **money)
    add("channel", (shard, meta.channel), **order_figures, **money)
    for product_id, row in products.items():
        add("product", (shard, int(product_id)), orders=1, paid_fen=row[0], refunded_fen=row[1])
        add("product", (shard, int(product_id)), commission_fen=row[2])
        add("product", (shard, int(product_id)), commission_clawed_fen=row[3])
    seller = meta.distributor_id
    if seller is not None:
        add("daily", (seller,), **order_figures)
        l1 = {"commission_fen": l1_commission, "commission_clawed_fen": l1_clawed}
        add("channel", (seller, meta.channel), **order_figures, **l1)
        for product_id, row in products.items():
            add(
                "product",
                (seller, int(product_id)),
                orders=1,
                paid_fen=row[0],
                refunded_fen=row[1],
                commission_fen=row[4],
                commission_clawed_fen=row[5],
            )
    for earner, (amount, clawed) in state["earners"].items():
        add("daily", (int(earner),), commission_fen=amount, commission_clawed_fen=clawed)
    if meta.share_code_id is not None:
        add(
            "code",
            (meta.share_code_id,),
            orders=1,
            paid_fen=state["paid"],
            refunded_fen=state["refunded"],
        )
    return out


def record_orders(
    order_ids: Iterable[int],
    now: datetime | None = None,
    later_days: dict[int, date] | None = None,
) -> None:
    """Bring the aggregates of these (attributed) orders up to date, in the caller's
    transaction, which holds the orders' row locks. Orders not attributed are skipped.
    Refunds and clawbacks count on the day of `now`, or (a rebuild) on `later_days`."""
    ids = sorted(set(order_ids))
    if not ids:
        return
    today = local_day(now or utcnow())
    orders = db.session.execute(
        select(
            Order.id,
            Order.user_id,
            Order.paid_at,
            Order.paid_fen,
            Order.refunded_fen,
            Order.referrer_l1_id,
        ).where(Order.id.in_(ids), Order.attributed_at.is_not(None))
    ).all()
    if not orders:
        return
    ids = [order.id for order in orders]
    items: dict[int, list[Any]] = defaultdict(list)
    for item in db.session.execute(
        select(
            OrderItem.id,
            OrderItem.order_id,
            OrderItem.product_id,
            OrderItem.paid_fen,
            OrderItem.refunded_fen,
        ).where(OrderItem.order_id.in_(ids))
    ):
        items[item.order_id].append(item)
    records: dict[int, list[Any]] = defaultdict(list)
    for record in db.session.execute(
        select(
            Commission.order_id,
            Commission.order_item_id,
            Commission.beneficiary_id,
            Commission.level,
            Commission.amount_fen,
            Commission.clawed_fen,
        ).where(Commission.order_id.in_(ids))
    ):
        records[record.order_id].append(record)
    refunds = refund_counts(ids)
    stored = {
        row.order_id: row
        for row in db.session.scalars(select(ReportOrder).where(ReportOrder.order_id.in_(ids)))
    }
    new = [order for order in orders if order.id not in stored]
    origins = _origins(new)
    total: Contribution = defaultdict(int)
    for order in orders:
        state = _state_of(order, items[order.id], records[order.id], refunds.get(order.id, 0))
        row = stored.get(order.id)
        if row is None:
            code, channel = origins.get(order.id, (None, ""))
            row = ReportOrder(
                order_id=order.id,
                distributor_id=order.referrer_l1_id,
                share_code_id=code,
                channel=channel,
                paid_day=local_day(order.paid_at),
                state="null",
            )
            db.session.add(row)
        meta = _Meta(row.order_id, row.distributor_id, row.share_code_id, row.channel, row.paid_day)
        before = _contribution(meta, json.loads(row.state))
        after = _contribution(meta, state)
        later = (later_days or {}).get(order.id, today)
        for key in after.keys() | before.keys():
            table, full, counter = key
            if table != "code" and full[1] is None:
                full = (full[0], later, *full[2:])
            total[(table, full, counter)] += after.get(key, 0) - before.get(key, 0)
        row.state = json.dumps(state, separators=(",", ":"))
    db.session.flush()
    apply(total, today)


def refund_counts(order_ids: list[int]) -> dict[int, int]:
    """Settled refunds per order that count towards it (as `shop.refunds` counts them)."""
    rows = db.session.execute(
        select(Refund.order_id, func.count())
        .join(Payment, Payment.id == Refund.payment_id)
        .join(Order, Order.id == Refund.order_id)
        .where(
            Refund.order_id.in_(order_ids),
            Refund.status == RefundStatus.SUCCEEDED,
            Payment.channel == Order.pay_channel,
            Payment.status == PaymentStatus.PAID,
        )
        .group_by(Refund.order_id)
    ).all()
    return {order_id: int(n) for order_id, n in rows}


def _origins(orders: list[Any]) -> dict[int, tuple[int | None, str]]:
    """(share code, channel) of the binding that brought each buyer to the order's
    level-1 distributor: the buyer's latest binding to them."""
    wanted = {order.user_id: order for order in orders if order.referrer_l1_id is not None}
    if not wanted:
        return {}
    latest: dict[tuple[int, int], tuple[int | None, str]] = {}
    for user_id, referrer_id, code, channel in db.session.execute(
        select(
            ReferralBinding.user_id,
            ReferralBinding.referrer_id,
            ReferralBinding.share_code_id,
            ReferralBinding.channel,
        )
        .where(ReferralBinding.user_id.in_(wanted))
        .order_by(ReferralBinding.id)
    ):
        latest[(user_id, referrer_id)] = (code, channel or "")
    return {
        order.id: latest[(order.user_id, order.referrer_l1_id)]
        for order in orders
        if (order.user_id, order.referrer_l1_id) in latest
    }


def count_member(referrer_id: int, user_id: int, now: datetime | None = None) -> None:
    """A new team member of `referrer_id` today (and in the merchant's total)."""
    day = local_day(now or utcnow())
    apply(
        {
            ("daily", (referrer_id, day), "new_members"): 1,
            ("daily", (merchant_key(user_id), day), "new_members"): 1,
        },
        day,
    )


def apply(changes: Contribution, today: date) -> None:
    """Add the changes to their rows (a None day is `today`), one upsert per table."""
    per_table: dict[str, dict[tuple[Any, ...], dict[str, int]]] = defaultdict(dict)
    for (table, key, counter), amount in changes.items():
        if not amount:
            continue
        if table != "code":
            key = tuple(today if part is None and i == 1 else part for i, part in enumerate(key))
        per_table[table].setdefault(key, {})[counter] = (
            per_table[table].get(key, {}).get(counter, 0) + amount
        )
        month = monthly_key(table, key)
        if month is not None:  # the month's row moves with the day's
            name = MONTHLY[table]
            per_table[name].setdefault(month, {})[counter] = (
                per_table[name].get(month, {}).get(counter, 0) + amount
            )
    for table in ("code", "daily", "monthly", "channel", "product", "product_monthly"):
        if per_table.get(table):
            model, keys, counters = TABLES[table]
            upsert_add(model.__table__, keys, counters, per_table[table])


# The monthly table a daily one's rows are summed into (`monthly_key`).
MONTHLY = {"daily": "monthly", "product": "product_monthly"}


def monthly_key(table: str, key: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The key of the monthly row a daily row's change also goes to, or None: every
    (distributor, day) row to its (distributor, month); a merchant shard's (shard, day,
    product) row to the merchant's (month, product)."""
    if table == "daily":
        return (key[0], key[1].replace(day=1))
    if table == "product" and key[0] < 0:
        return (key[1].replace(day=1), key[2])
    return None


def upsert_add(
    table: Table,
    keys: tuple[str, ...],
    counters: tuple[str, ...],
    rows: dict[tuple[Any, ...], dict[str, int]],
) -> None:
    """INSERT the rows, or add their counters to the rows already there (MySQL: ON DUPLICATE
    KEY UPDATE; SQLite: ON CONFLICT DO UPDATE), in key order: one statement, built once per
    table (`_upsert`) and executed with the rows as its parameter sets."""
    values = [
        {**dict(zip(keys, key, strict=True)), **{c: rows[key].get(c, 0) for c in counters}}
        for key in sorted(rows, key=lambda k: tuple(str(p) for p in k))
    ]
    connection = db.session.connection()
    connection.execute(_upsert(table, keys, counters, connection.dialect.name), values)


@cache
def _upsert(table: Table, keys: tuple[str, ...], counters: tuple[str, ...], dialect: str) -> Any:
    """The add-or-insert statement of `upsert_add` for one table. Built once: a statement
    whose VALUES hold the rows themselves has no cache key, so SQLAlchemy would compile it
    anew on every call (most of an attribution's time, measured)."""
    if dialect == "mysql":
        statement = mysql_insert(table)
        return statement.on_duplicate_key_update(
            {c: table.c[c] + statement.inserted[c] for c in counters}
        )
    statement = sqlite_insert(table)
    return statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={c: table.c[c] + statement.excluded[c] for c in counters},
    )


def rebuild(batch: int = 1000) -> int:
    """Recount every report aggregate from the orders, commission records, refunds and
    bindings, replacing what is stored; commits per batch. For a database that had orders
    before the aggregates existed (the migration's note says to run `flask reports
    rebuild`), or to repair them. Refunds and clawbacks of an order count on the day of its
    last settled refund (live counting puts each on its own day). Returns orders counted.

    Reads every attributed order once: run it off-peak on a large shop."""
    from sqlalchemy import delete

    for model in (
        ReportOrder,
        ReportDaily,
        ReportMonthly,
        ReportChannelDaily,
        ReportProductDaily,
        ReportProductMonthly,
        ReportShareCode,
    ):
        db.session.execute(delete(model))
    db.session.commit()
    counted = 0
    last_id = 0
    while True:
        ids = list(
            db.session.scalars(
                select(Order.id)
                .where(Order.attributed_at.is_not(None), Order.id > last_id)
                .order_by(Order.id)
                .limit(batch)
            )
        )
        if not ids:
            break
        last_id = ids[-1]
        later = {
            order_id: local_day(settled_at)
            for order_id, settled_at in db.session.execute(
                select(Refund.order_id, func.max(Refund.settled_at))
                .where(Refund.order_id.in_(ids), Refund.status == RefundStatus.SUCCEEDED)
                .group_by(Refund.order_id)
            )
            if settled_at is not None
        }
        record_orders(ids, later_days=later)
        db.session.commit()
        counted += len(ids)
    members: Contribution = defaultdict(int)
    for referrer_id, user_id, created_at in db.session.execute(
        select(ReferralBinding.referrer_id, ReferralBinding.user_id, ReferralBinding.created_at)
    ):
        day = local_day(created_at)
        members[("daily", (referrer_id, day), "new_members")] += 1
        members[("daily", (merchant_key(user_id), day), "new_members")] += 1
    if members:
        apply(members, local_day(utcnow()))
    db.session.commit()
    return counted
