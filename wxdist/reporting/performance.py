"""The merchant's distributor performance report: per distributor over a period, with the
previous period of the same length, sorted and paged in the database, read from the
report aggregates (`wxdist.models.report`), never the orders.

The `report_monthly` rows (primary key: month, distributor) of the months mostly inside
the period, the `report_daily` rows (primary key: day, distributor) of the other days and,
subtracted, of those months' days outside it. This month so far (the panel's default) is
one month row per distributor, sorted and paged without grouping; another period is
ranked from a narrow union (the sort key and a presence sum, grouped once), then the
page's twenty distributors read in full; the previous period's figures for the page's
distributors only (`ix_report_daily_distributor`, the `report_monthly` key).

Conversion is a distributor's orders in the period per new team member (binding) in it,
in per cent (None without new members).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, literal, or_, select, union_all

from wxdist.core.extensions import db
from wxdist.models import Distributor, User
from wxdist.models.report import ReportDaily, ReportMonthly
from wxdist.reporting.reports import Figures, Period, change, figures_of, percent, period_parts

SORTS = ("net_sales", "net_commission", "orders", "new_members", "conversion")


@dataclass
class Performance:
    distributor_id: int
    name: str
    now: Figures
    before: Figures = field(default_factory=Figures)

    @property
    def conversion_pct(self) -> float | None:
        return percent(self.now.orders, self.now.new_members)

    @property
    def conversion_pct_before(self) -> float | None:
        return percent(self.before.orders, self.before.new_members)

    def changes(self) -> dict[str, float | None]:
        return {
            "net_sales": change(self.now.net_sales_fen, self.before.net_sales_fen),
            "net_commission": change(self.now.net_commission_fen, self.before.net_commission_fen),
            "orders": change(self.now.orders, self.before.orders),
            "new_members": change(self.now.new_members, self.before.new_members),
            "conversion": change(self.conversion_pct, self.conversion_pct_before),
        }


MONTH_COST_DAYS = 3  # reading a month's rows costs about as much as this many days' rows


def _parts(period: Period) -> list[tuple[str, date, date, int]]:
    """`reports.period_parts` at this module's MONTH_COST_DAYS."""
    return period_parts(period, MONTH_COST_DAYS)


def _single_month(period: Period) -> bool:
    """True when the period is read from one month's rows alone (no grouping)."""
    return [part[0] for part in _parts(period)] == ["month"]


def _union(period: Period, columns: Any, ids: list[int] | None = None) -> list[Any]:
    """One SELECT per part of the period (`_parts`), each of the distributor id and the
    labelled `columns(model)`, signed (distributors only, or those of `ids`)."""

    def part(model: Any, where: list[Any], sign: int) -> Any:
        who = model.distributor_id > 0 if ids is None else model.distributor_id.in_(ids)
        values = [(value * sign).label(name) for name, value in columns(model)]
        return select(model.distributor_id, *values).where(who, *where)

    selects = []
    for table, first, last, sign in _parts(period):
        if table == "month":
            selects.append(part(ReportMonthly, [ReportMonthly.month == first], sign))
        else:
            days = [ReportDaily.day >= first, ReportDaily.day <= last]
            selects.append(part(ReportDaily, days, sign))
    return selects


def _figure_columns(model: Any) -> list[tuple[str, Any]]:
    return [(name, getattr(model, name)) for name in Figures.__dataclass_fields__]


def _grouped(period: Period, ids: list[int] | None = None) -> Any:
    """Per distributor figures over the period (distributors only, or those of `ids`):
    `report_monthly` rows for the months mostly inside it, `report_daily` rows for the rest
    (and, subtracted, for the days of those months outside it), grouped once."""
    names = [*Figures.__dataclass_fields__]
    selects = _union(period, _figure_columns, ids)
    if ids is None and _single_month(period):
        return selects[0]  # one month: one row per distributor already
    rows = union_all(*selects).subquery()
    sums = [func.sum(rows.c[n]) for n in names]
    return (
        select(rows.c.distributor_id, *[t.label(n) for t, n in zip(sums, names, strict=True)])
        .group_by(rows.c.distributor_id)
        .having(or_(*[t != 0 for t in sums]))  # a month less its days may leave zeros
    )


# Counters that are never negative and one of which moves with every change a row counts:
# their sum over a period is 0 exactly when the distributor has no figure in it.
PRESENCE = ("orders", "refunds", "new_members", "commission_fen", "commission_clawed_fen")


def _ranked(period: Period, sort: str) -> Any:
    """Per distributor with any figure in the period, only what `sort` needs (k1, and k2
    for a ratio): a narrow union to group, so ranking 50,000 distributors stays cheap."""

    def columns(model: Any) -> list[tuple[str, Any]]:
        keys = {
            "net_sales": [model.paid_fen - model.refunded_fen],
            "net_commission": [model.commission_fen - model.commission_clawed_fen],
            "orders": [model.orders],
            "new_members": [model.new_members],
            "conversion": [model.orders, model.new_members],
        }[sort]
        presence = sum((getattr(model, name) for name in PRESENCE[1:]), getattr(model, PRESENCE[0]))
        return [*((f"k{n}", key) for n, key in enumerate(keys, start=1)), ("presence", presence)]

    rows = union_all(*_union(period, columns)).subquery()
    sums = [
        func.sum(column).label(column.name) for column in rows.c if column.name != "distributor_id"
    ]
    return (
        select(rows.c.distributor_id, *[s for s in sums if s.name != "presence"])
        .group_by(rows.c.distributor_id)
        .having(func.sum(rows.c.presence) != 0)
    )


def _keys(c: Any) -> dict[str, Any]:
    """The sort keys over a statement's columns."""
    return {
        "net_sales": c.paid_fen - c.refunded_fen,
        "net_commission": c.commission_fen - c.commission_clawed_fen,
        "orders": c.orders,
        "new_members": c.new_members,
        "conversion": c.orders * literal(1.0) / func.nullif(c.new_members, 0),
    }


def _page_of_month(
    period: Period, sort: str, descending: bool, page: int, per_page: int
) -> tuple[list[Performance], int]:
    """A page from one month's rows (one per distributor, no grouping); the total counted
    apart (cheaper on MariaDB than a window over the sort)."""
    grouped = _grouped(period).subquery()
    c = grouped.c
    order = _keys(c)[sort].desc() if descending else _keys(c)[sort].asc()
    paged = (
        select(grouped)
        .order_by(order, c.distributor_id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).subquery()
    p = paged.c
    rows = db.session.execute(
        select(paged, Distributor.real_name, User.nickname)
        .outerjoin(Distributor, Distributor.user_id == p.distributor_id)
        .outerjoin(User, User.id == p.distributor_id)
        .order_by(_keys(p)[sort].desc() if descending else _keys(p)[sort].asc(), p.distributor_id)
    ).all()
    count = db.session.scalar(select(func.count()).select_from(grouped))
    found = [
        Performance(row.distributor_id, row.real_name or row.nickname or "", figures_of(row))
        for row in rows
    ]
    return found, int(count or 0)


def _page_grouped(
    period: Period, sort: str, descending: bool, page: int, per_page: int
) -> tuple[list[Performance], int]:
    """A page ranked from the narrow grouping (`_ranked`, the total by a window over the
    same pass), then the page's figures and names for its ids only."""
    ranked = _ranked(period, sort).subquery()
    r = ranked.c
    key = r.k1 * literal(1.0) / func.nullif(r.k2, 0) if sort == "conversion" else r.k1
    order = key.desc() if descending else key.asc()
    rows = db.session.execute(
        select(r.distributor_id, func.count().over().label("total"))
        .order_by(order, r.distributor_id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    if not rows:  # a page past the end counts on its own
        return [], int(db.session.scalar(select(func.count()).select_from(ranked)) or 0)
    ids = [row.distributor_id for row in rows]
    figures = {
        row.distributor_id: figures_of(row) for row in db.session.execute(_grouped(period, ids))
    }
    names = {
        uid: real_name or nickname or ""
        for uid, real_name, nickname in db.session.execute(
            select(User.id, Distributor.real_name, User.nickname)
            .outerjoin(Distributor, Distributor.user_id == User.id)
            .where(User.id.in_(ids))
        )
    }
    found = [Performance(uid, names.get(uid, ""), figures.get(uid, Figures())) for uid in ids]
    return found, int(rows[0].total)


def performance(
    period: Period,
    sort: str = "net_sales",
    descending: bool = True,
    page: int = 1,
    per_page: int = 20,
) -> tuple[int, list[Performance]]:
    """Distributors with any figure in `period`, sorted by `sort` (one of SORTS) and
    paged, each with the previous period's figures. Returns (total, rows)."""
    if _single_month(period):
        found, count = _page_of_month(period, sort, descending, page, per_page)
    else:
        found, count = _page_grouped(period, sort, descending, page, per_page)
    if found:
        ids = [item.distributor_id for item in found]
        before = {
            row.distributor_id: figures_of(row)
            for row in db.session.execute(_grouped(period.previous(), ids))
        }
        for item in found:
            item.before = before.get(item.distributor_id, Figures())
    return int(count or 0), found
