"""Daily aggregates for the dashboard, kept up to date by the services that move money.

`add()` runs inside the caller's transaction (a payment's attribution, a refund's
settlement, a distributor's approval), so a figure and the change it counts commit or roll
back together. Reading the last 30 days sums at most 30 x SHARDS small rows, whatever the
number of orders.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update

from wxdist.core.clock import to_local, utc_start
from wxdist.core.extensions import db
from wxdist.core.sql import insert_ignore
from wxdist.models.stats import SHARDS, DailyStat
from wxdist.models.types import utcnow

COUNTERS = (
    "paid_orders",
    "paid_fen",
    "refunds",
    "refunded_fen",
    "new_distributors",
    "commission_fen",
    "commission_clawed_fen",
)


def local_day(moment: datetime | None = None) -> date:
    """The merchant's calendar day of a naive-UTC moment (now by default)."""
    moment = moment or utcnow()
    return to_local(moment).date()


def add(moment: datetime | None, shard_key: int, **deltas: int) -> None:
    """Add `deltas` (counter name → amount) to the day of `moment`, in the caller's
    transaction. Raises ValueError for an unknown counter."""
    add_many([(moment, shard_key, deltas)])


def add_many(changes: Iterable[tuple[datetime | None, int, dict[str, int]]]) -> None:
    """Several `add`s in one go: summed per (day, shard), one read for the rows, one UPDATE
    per row, in (day, shard) order so that concurrent callers lock the rows in one order.
    Raises ValueError for an unknown counter."""
    sums: dict[tuple[date, int], dict[str, int]] = {}
    for moment, shard_key, deltas in changes:
        unknown = set(deltas) - set(COUNTERS)
        if unknown:
            raise ValueError(f"unknown daily counters: {sorted(unknown)}")
        row = sums.setdefault((local_day(moment), shard_key % SHARDS), {})
        for name, amount in deltas.items():
            if amount:
                row[name] = row.get(name, 0) + amount
    sums = {key: deltas for key, deltas in sums.items() if any(deltas.values())}
    if not sums:
        return
    days = {day for day, _ in sums}
    present = set(
        db.session.execute(
            select(DailyStat.day, DailyStat.shard).where(DailyStat.day.in_(days))
        ).tuples()
    )
    for day, shard in sorted(sums):
        key = {"day": day, "shard": shard}
        if (day, shard) not in present:
            _create_row(key)
        deltas = sums[(day, shard)]
        statement = (
            update(DailyStat)
            .where(DailyStat.day == day, DailyStat.shard == shard)
            .values({name: getattr(DailyStat, name) + amount for name, amount in deltas.items()})
        )
        if db.session.execute(statement).rowcount != 1:  # deleted since (a rebuild): make it
            insert_ignore(DailyStat.__table__, **key)
            db.session.execute(statement)


def _create_row(key: dict[str, object]) -> None:
    """Make the (day, shard) row of zeros before the caller's UPDATE touches it.

    On MySQL in a short transaction of its own: an UPDATE that finds no row would hold a
    gap lock until the caller commits, and concurrent first writers of a day would then
    block each other's inserts. The plain SELECT before takes no lock."""
    if db.engine.dialect.name == "mysql":
        from sqlalchemy.dialects.mysql import insert

        with db.engine.begin() as conn:
            conn.execute(insert(DailyStat).values(**key).prefix_with("IGNORE"))
    else:
        insert_ignore(DailyStat.__table__, **key)


class NetFigures:
    """Sales and commission net of what went back: for a dataclass with `paid_fen`,
    `refunded_fen`, `commission_fen` and `commission_clawed_fen` (the panel's daily totals,
    the reports' figures)."""

    paid_fen: int
    refunded_fen: int
    commission_fen: int
    commission_clawed_fen: int

    @property
    def net_sales_fen(self) -> int:
        return self.paid_fen - self.refunded_fen

    @property
    def net_commission_fen(self) -> int:
        return self.commission_fen - self.commission_clawed_fen


@dataclass(frozen=True)
class Totals(NetFigures):
    paid_orders: int = 0
    paid_fen: int = 0
    refunds: int = 0
    refunded_fen: int = 0
    new_distributors: int = 0
    commission_fen: int = 0
    commission_clawed_fen: int = 0


def by_day(first: date, last: date) -> dict[date, Totals]:
    """Totals per day from `first` to `last` inclusive; days without activity are zeros."""
    rows = db.session.execute(
        select(DailyStat.day, *[func.sum(getattr(DailyStat, name)) for name in COUNTERS])
        .where(DailyStat.day >= first, DailyStat.day <= last)
        .group_by(DailyStat.day)
    ).all()
    found = {row[0]: Totals(*(int(value or 0) for value in row[1:])) for row in rows}
    days = (last - first).days + 1
    return {first + timedelta(d): found.get(first + timedelta(d), Totals()) for d in range(days)}


def total(days: dict[date, Totals], since: date) -> Totals:
    """Sum of the days on or after `since`."""
    sums = dict.fromkeys(COUNTERS, 0)
    for day, totals in days.items():
        if day >= since:
            for name in COUNTERS:
                sums[name] += getattr(totals, name)
    return Totals(**sums)


def rebuild(first: date, last: date) -> int:
    """Recount the days `first`..`last` from the orders, refunds, distributors, commission
    and ledger, replacing what is stored; commits. For a database that had activity before
    the aggregates existed, or to repair them. Returns the rows written.

    Reads every row of the range once (streamed): run it off-peak on a large shop."""
    from collections import defaultdict

    from sqlalchemy import delete

    from wxdist.models import (
        Commission,
        Distributor,
        LedgerEntry,
        Order,
        Payment,
        PaymentStatus,
        Refund,
        RefundStatus,
    )

    start, end = utc_start(first), utc_start(last + timedelta(days=1))
    sums: dict[tuple[date, int], dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))

    def count(moment: datetime, key: int, **deltas: int) -> None:
        row = sums[(local_day(moment), key % SHARDS)]
        for name, amount in deltas.items():
            row[name] += amount

    def stream(statement):  # type: ignore[no-untyped-def]
        return db.session.execute(statement.execution_options(yield_per=5000))

    for order_id, paid_at, paid_fen in stream(
        select(Order.id, Order.paid_at, Order.paid_fen).where(
            Order.attributed_at.is_not(None), Order.paid_at >= start, Order.paid_at < end
        )
    ):
        count(paid_at, order_id, paid_orders=1, paid_fen=paid_fen)
    for order_id, settled_at, amount in stream(
        select(Refund.order_id, Refund.settled_at, Refund.amount_fen)
        .join(Payment, Payment.id == Refund.payment_id)
        .join(Order, Order.id == Refund.order_id)
        .where(
            Refund.status == RefundStatus.SUCCEEDED,
            Refund.settled_at >= start,
            Refund.settled_at < end,
            Payment.channel == Order.pay_channel,
            Payment.status == PaymentStatus.PAID,
        )
    ):
        count(settled_at, order_id, refunds=1, refunded_fen=amount)
    for user_id, approved_at in stream(
        select(Distributor.user_id, Distributor.approved_at).where(
            Distributor.approved_at >= start, Distributor.approved_at < end
        )
    ):
        count(approved_at, user_id, new_distributors=1)
    for order_id, created_at, amount in stream(
        select(Commission.order_id, Commission.created_at, Commission.amount_fen).where(
            Commission.created_at >= start, Commission.created_at < end
        )
    ):
        count(created_at, order_id, commission_fen=amount)
    for order_id, created_at, amount in stream(
        select(LedgerEntry.order_id, LedgerEntry.created_at, LedgerEntry.amount_fen).where(
            LedgerEntry.kind == "clawback",
            LedgerEntry.created_at >= start,
            LedgerEntry.created_at < end,
        )
    ):
        count(created_at, order_id or 0, commission_clawed_fen=-amount)

    db.session.execute(delete(DailyStat).where(DailyStat.day >= first, DailyStat.day <= last))
    db.session.add_all(
        DailyStat(day=day, shard=shard, **values) for (day, shard), values in sums.items()
    )
    db.session.commit()
    return len(sums)
