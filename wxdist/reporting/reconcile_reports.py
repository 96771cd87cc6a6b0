"""`flask reconcile`'s check of the report aggregates (`reporting.insight`) against the rows
they count, totals only (a few aggregate queries): the merchant shards hold every
attributed order, its paid and refunded amounts and all its commission; the distributors'
rows hold the level-1 orders and every beneficiary's commission; the months sum the days
(distributors' and the merchant's products' alike).
A difference means a change was counted wrong or the tables were never filled
(`flask reports rebuild`).
"""

from __future__ import annotations

from sqlalchemy import func, select

from wxdist.core.extensions import db
from wxdist.models import (
    Commission,
    Order,
    ReportDaily,
    ReportMonthly,
    ReportOrder,
    ReportProductDaily,
    ReportProductMonthly,
)


def _sums(*where, model=ReportDaily):  # type: ignore[no-untyped-def]
    return db.session.execute(
        select(
            func.coalesce(func.sum(model.orders), 0),
            func.coalesce(func.sum(model.paid_fen), 0),
            func.coalesce(func.sum(model.refunded_fen), 0),
            func.coalesce(func.sum(model.commission_fen), 0),
            func.coalesce(func.sum(model.commission_clawed_fen), 0),
            func.coalesce(func.sum(model.new_members), 0),
        ).where(*where)
    ).one()


def check_all() -> list[str]:
    attributed = Order.attributed_at.is_not(None)
    orders, paid, refunded = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(Order.paid_fen), 0),
            func.coalesce(func.sum(Order.refunded_fen), 0),
        )
        .select_from(Order)
        .where(attributed)
    ).one()
    direct = db.session.scalar(
        select(func.count()).select_from(Order).where(attributed, Order.referrer_l1_id.is_not(None))
    )
    earned, clawed = db.session.execute(
        select(
            func.coalesce(func.sum(Commission.amount_fen), 0),
            func.coalesce(func.sum(Commission.clawed_fen), 0),
        )
    ).one()
    counted = db.session.scalar(select(func.count()).select_from(ReportOrder))
    merchant = _sums(ReportDaily.distributor_id < 0)
    sellers = _sums(ReportDaily.distributor_id > 0)
    expected = {
        "orders counted": (counted, orders),
        "merchant orders": (merchant[0], orders),
        "merchant paid": (merchant[1], paid),
        "merchant refunded": (merchant[2], refunded),
        "merchant commission": (merchant[3], earned),
        "merchant commission clawed": (merchant[4], clawed),
        "distributors' orders": (sellers[0], direct),
        "distributors' commission": (sellers[3], earned),
        "distributors' commission clawed": (sellers[4], clawed),
    }
    months = _sums(model=ReportMonthly)
    days = _sums()
    names = ("orders", "paid", "refunded", "commission", "commission clawed", "new members")
    for name, month_sum, day_sum in zip(names, months, days, strict=True):
        expected[f"monthly {name} (against the days)"] = (month_sum, day_sum)
    product_names = ("orders", "paid", "refunded", "commission", "commission clawed")

    def product_sums(model, *where):  # type: ignore[no-untyped-def]
        columns = ("orders", "paid_fen", "refunded_fen", "commission_fen", "commission_clawed_fen")
        return db.session.execute(
            select(*[func.coalesce(func.sum(getattr(model, c)), 0) for c in columns]).where(*where)
        ).one()

    product_months = product_sums(ReportProductMonthly)
    product_days = product_sums(ReportProductDaily, ReportProductDaily.distributor_id < 0)
    for name, month_sum, day_sum in zip(product_names, product_months, product_days, strict=True):
        expected[f"merchant product months' {name} (against the days)"] = (month_sum, day_sum)
    return [
        f"report aggregates: {name} {int(got)} ≠ {int(want)} from the orders and commission "
        "(flask reports rebuild recounts them)"
        for name, (got, want) in expected.items()
        if int(got) != int(want)
    ]
