"""The reports, read from the aggregates of `wxdist.models.report` (never from orders or
their items), each with the index that serves it:

Distributor centre (one distributor, their rows only):
- `distributor_days`: earnings, orders and team growth per day, last 30 or 90 days:
  `report_daily` by `ix_report_daily_distributor` (distributor_id, day), at most 90 rows;
- `distributor_channels` / `distributor_products`: their direct sales per channel, per
  product (top N): `report_channel_daily` / `report_product_daily` primary key range;
- `funnel`: scans → opens → binds (`share_codes`, by `ix_share_codes_distributor_created`)
  → orders → paid amount (`report_share_codes` by primary key), a page of codes.

Merchant (every figure net of refunds and clawbacks):
- `performance` (per distributor, period over period): `wxdist.reporting.performance`;
- `channel_contribution`: the merchant shards (distributor_id -1..-8) of
  `report_channel_daily`, by primary key range;
- `product_contribution`: `report_product_monthly` for the months mostly inside the
  period, the merchant shards of `report_product_daily` (primary key range) for the other
  days and, subtracted, for those months' days outside it (`period_parts`), grouped once;
- `summary`, `merchant_days`: the merchant shards of `report_daily`, by
  `ix_report_daily_distributor` (8 × the period's days rows).

Conversion is a distributor's orders in the period per new team member (binding) in it,
in per cent (None without new members). A change is (now − before) / before in per cent,
one decimal (None when before is 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, literal, or_, select, union_all

from wxdist.core.clock import to_local
from wxdist.core.extensions import db
from wxdist.models import Product, ShareCode
from wxdist.models.report import (
    REPORT_SHARDS,
    ReportChannelDaily,
    ReportDaily,
    ReportProductDaily,
    ReportProductMonthly,
    ReportShareCode,
)
from wxdist.models.types import utcnow
from wxdist.reporting.daily_stats import NetFigures

MERCHANT = (-REPORT_SHARDS, -1)  # distributor_id range of the merchant shards
# The shards' keys one by one: `IN` them, not `BETWEEN`, where the key goes on to the day
# (distributor_id, day, …): a range on the first column leaves the day out of the index
# range, and every shard's rows of every day were read (8.6 s for a quarter's products at
# 5,000,000 order items a year; bench/insight.py).
MERCHANT_KEYS = tuple(range(-REPORT_SHARDS, 0))


def today() -> date:
    return to_local(utcnow()).date()


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.first - timedelta(days=self.days), self.first - timedelta(days=1))

    @classmethod
    def last_days(cls, days: int, until: date | None = None) -> Period:
        end = until or today()
        return cls(end - timedelta(days=days - 1), end)


def change(now: int | float | None, before: int | float | None) -> float | None:
    """(now − before) / before in per cent, one decimal; None when before is 0 or unknown."""
    if not before or now is None:
        return None
    return round((now - before) * 100 / before, 1)


def percent(part: int, whole: int) -> float | None:
    return round(part * 100 / whole, 1) if whole else None


@dataclass
class Figures(NetFigures):
    orders: int = 0
    paid_fen: int = 0
    refunds: int = 0
    refunded_fen: int = 0
    commission_fen: int = 0
    commission_clawed_fen: int = 0
    new_members: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            **self.__dict__,
            "net_sales_fen": self.net_sales_fen,
            "net_commission_fen": self.net_commission_fen,
        }


def _sum(column: Any) -> Any:
    return func.coalesce(func.sum(column), 0)


def _figures(model: Any, extra: tuple[str, ...] = ()) -> list[Any]:
    names = ["orders", "paid_fen", "refunds", "refunded_fen", "commission_fen"]
    names += ["commission_clawed_fen", *extra]
    return [_sum(getattr(model, name)).label(name) for name in names if hasattr(model, name)]


def figures_of(row: Any) -> Figures:
    mapping = row._mapping
    return Figures(**{k: int(mapping[k]) for k in Figures.__dataclass_fields__ if k in mapping})


def _days(where: Any, period: Period) -> list[tuple[date, Figures]]:
    rows = db.session.execute(
        select(ReportDaily.day, *_figures(ReportDaily, ("new_members",)))
        .where(where, ReportDaily.day >= period.first, ReportDaily.day <= period.last)
        .group_by(ReportDaily.day)
    ).all()
    found = {row.day: figures_of(row) for row in rows}
    return [
        (period.first + timedelta(n), found.get(period.first + timedelta(n), Figures()))
        for n in range(period.days)
    ]


def distributor_days(user_id: int, period: Period) -> list[tuple[date, Figures]]:
    """The distributor's figures per day of `period`, days without activity as zeros."""
    return _days(ReportDaily.distributor_id == user_id, period)


def merchant_days(period: Period) -> list[tuple[date, Figures]]:
    return _days(ReportDaily.distributor_id.between(*MERCHANT), period)


def total(days: list[tuple[date, Figures]]) -> Figures:
    out = Figures()
    for _, figures in days:
        for name in Figures.__dataclass_fields__:
            setattr(out, name, getattr(out, name) + getattr(figures, name))
    return out


@dataclass
class Share:
    """One channel's or product's part of the sales."""

    key: Any
    label: str
    figures: Figures
    share_pct: float | None = None


def _channels(where: Any, period: Period) -> list[Share]:
    rows = db.session.execute(
        select(ReportChannelDaily.channel, *_figures(ReportChannelDaily))
        .where(where, ReportChannelDaily.day >= period.first, ReportChannelDaily.day <= period.last)
        .group_by(ReportChannelDaily.channel)
    ).all()
    shares = [Share(row.channel, row.channel, figures_of(row)) for row in rows]
    return _with_shares(shares)


def _with_shares(shares: list[Share]) -> list[Share]:
    whole = sum(share.figures.net_sales_fen for share in shares)
    for share in shares:
        share.share_pct = percent(share.figures.net_sales_fen, whole)
    shares.sort(key=lambda s: (-s.figures.net_sales_fen, str(s.key)))
    return shares


MONTH_COST_DAYS = 3  # reading a month's rows costs about as much as this many days' rows


def month_end(first_of_month: date) -> date:
    return (first_of_month + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def period_parts(
    period: Period, month_cost: int | None = None
) -> list[tuple[str, date, date, int]]:
    """How to sum a period from the fewest rows: a list of (table, first, last, sign),
    where "month" names the month of `first` in a monthly table (its row holds every day
    of the month; days after today hold nothing) and "days" a range of the daily one. A
    month mostly inside the period (`month_cost`: what reading a month's rows costs in
    days' rows) is its monthly row less the days left out; one barely touched is its days.
    (At 50,000 distributors a day has ~11,000 rows, a month ~38,000; the first three days
    of this month have ~36,000 day rows and ~21,000 month rows, bench/insight.py.)"""
    cost = MONTH_COST_DAYS if month_cost is None else month_cost
    parts: list[tuple[str, date, date, int]] = []
    now = today()
    month = period.first.replace(day=1)
    while month <= period.last:
        end = month_end(month)
        inside = (max(period.first, month), min(period.last, end))
        recorded_end = min(end, now)  # no figures after today
        before = (month, inside[0] - timedelta(days=1))
        after = (inside[1] + timedelta(days=1), recorded_end)
        left_out = [r for r in (before, after) if r[0] <= r[1]]
        out_days = sum((b - a).days + 1 for a, b in left_out)
        in_days = (inside[1] - inside[0]).days + 1
        if out_days + cost <= in_days:  # a tie goes to the month: its rows are fewer
            parts.append(("month", month, month, 1))
            parts.extend(("days", a, b, -1) for a, b in left_out)
        else:
            parts.append(("days", inside[0], inside[1], 1))
        month = end + timedelta(days=1)
    return parts


PRODUCT_FIGURES = ("orders", "paid_fen", "refunded_fen", "commission_fen", "commission_clawed_fen")


def _merchant_product_rows(period: Period) -> Any:
    """(product_id, figures) rows of the merchant over `period`, signed, to be grouped:
    `report_product_monthly` for the months mostly inside it, the shards' day rows for
    the rest (`period_parts`)."""
    selects = []
    for table, first, last, sign in period_parts(period):
        model: Any = ReportProductMonthly if table == "month" else ReportProductDaily
        where = (
            [ReportProductMonthly.month == first]
            if table == "month"
            else [
                ReportProductDaily.distributor_id.in_(MERCHANT_KEYS),
                ReportProductDaily.day >= first,
                ReportProductDaily.day <= last,
            ]
        )
        values = [(getattr(model, n) * literal(sign)).label(n) for n in PRODUCT_FIGURES]
        selects.append(select(model.product_id, *values).where(*where))
    return union_all(*selects).subquery()


def _products(where: Any, period: Period, limit: int) -> list[Share]:
    """The top `limit` products by net sales over `period`: a distributor's own day rows
    (`where` on the distributor), or, with `where` None, the merchant's."""
    if where is None:
        source = _merchant_product_rows(period)
        within: list[Any] = []
    else:
        source = ReportProductDaily.__table__
        within = [where, source.c.day >= period.first, source.c.day <= period.last]
    c = source.c
    net = _sum(c.paid_fen) - _sum(c.refunded_fen)
    sums = [_sum(c[n]).label(n) for n in PRODUCT_FIGURES]
    # Every product's net sales beside each row (a window over the groups, before the
    # limit): the rows are read and grouped once.
    whole = func.sum(net).over().label("whole")
    grouped = (
        select(c.product_id, *sums, net.label("net"), whole).where(*within).group_by(c.product_id)
    )
    if where is None:  # a month less its days may leave a product at zero
        grouped = grouped.having(or_(*[func.sum(c[n]) != 0 for n in PRODUCT_FIGURES]))
    top = grouped.order_by(net.desc(), c.product_id).limit(limit).subquery()
    rows = db.session.execute(
        select(top, Product.title)
        .outerjoin(Product, Product.id == top.c.product_id)
        .order_by(top.c.net.desc(), top.c.product_id)
    ).all()
    return [
        Share(
            row.product_id,
            row.title or f"#{row.product_id}",
            figures_of(row),
            percent(int(row.net), int(row.whole or 0)),
        )
        for row in rows
    ]


def distributor_channels(user_id: int, period: Period) -> list[Share]:
    """The distributor's direct sales per channel ("" for none) with their level-1
    commission, largest net sales first."""
    return _channels(ReportChannelDaily.distributor_id == user_id, period)


def distributor_products(user_id: int, period: Period, limit: int = 10) -> list[Share]:
    """The distributor's top `limit` products by net direct sales."""
    return _products(ReportProductDaily.distributor_id == user_id, period, limit)


def channel_contribution(period: Period) -> list[Share]:
    """Every sale of the period per channel of the binding that brought the buyer."""
    return _channels(ReportChannelDaily.distributor_id.in_(MERCHANT_KEYS), period)


def product_contribution(period: Period, limit: int = 20) -> list[Share]:
    return _products(None, period, limit)


@dataclass
class Summary:
    now: Figures
    before: Figures

    @property
    def cost_pct(self) -> float | None:
        """Commission (net) as a share of sales (net), per cent."""
        return percent(self.now.net_commission_fen, self.now.net_sales_fen)

    @property
    def cost_pct_before(self) -> float | None:
        return percent(self.before.net_commission_fen, self.before.net_sales_fen)


def summary(period: Period) -> Summary:
    merchant = ReportDaily.distributor_id.between(*MERCHANT)

    def of(p: Period) -> Figures:
        row = db.session.execute(
            select(*_figures(ReportDaily, ("new_members",))).where(
                merchant, ReportDaily.day >= p.first, ReportDaily.day <= p.last
            )
        ).one()
        return figures_of(row)

    return Summary(of(period), of(period.previous()))


@dataclass
class FunnelRow:
    share_code_id: int
    scene: str
    channel: str
    product_id: int | None
    product_title: str | None
    scans: int
    opens: int
    binds: int
    orders: int
    paid_fen: int
    refunded_fen: int

    @property
    def net_paid_fen(self) -> int:
        return self.paid_fen - self.refunded_fen


def funnel(user_id: int, page: int, per_page: int) -> tuple[int, list[FunnelRow]]:
    """A page of the distributor's share codes, newest first, each with its funnel:
    scans → opens → binds → orders → paid amount (net of refunds). Returns (total, rows)."""
    total_codes = db.session.scalar(
        select(func.count()).select_from(ShareCode).where(ShareCode.distributor_id == user_id)
    )
    rows = db.session.execute(
        select(
            ShareCode.id,
            ShareCode.scene,
            ShareCode.channel,
            ShareCode.product_id,
            Product.title,
            ShareCode.scans,
            ShareCode.opens,
            ShareCode.binds,
            func.coalesce(ReportShareCode.orders, 0),
            func.coalesce(ReportShareCode.paid_fen, 0),
            func.coalesce(ReportShareCode.refunded_fen, 0),
        )
        .outerjoin(ReportShareCode, ReportShareCode.share_code_id == ShareCode.id)
        .outerjoin(Product, Product.id == ShareCode.product_id)
        .where(ShareCode.distributor_id == user_id)
        .order_by(ShareCode.created_at.desc(), ShareCode.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return int(total_codes or 0), [FunnelRow(*row) for row in rows]
