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
- `channel_contribution`, `product_contribution`: the merchant shards (distributor_id
  -1..-8) of `report_channel_daily` / `report_product_daily`, by primary key range;
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

from sqlalchemy import func, select

from wxdist.core.clock import to_local
from wxdist.core.extensions import db
from wxdist.models import Product, ShareCode
from wxdist.models.report import (
    REPORT_SHARDS,
    ReportChannelDaily,
    ReportDaily,
    ReportProductDaily,
    ReportShareCode,
)
from wxdist.models.types import utcnow
from wxdist.reporting.daily_stats import NetFigures

MERCHANT = (-REPORT_SHARDS, -1)  # distributor_id range of the merchant shards


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


def _products(where: Any, period: Period, limit: int) -> list[Share]:
    net = _sum(ReportProductDaily.paid_fen) - _sum(ReportProductDaily.refunded_fen)
    whole = db.session.scalar(
        select(net).where(
            where, ReportProductDaily.day >= period.first, ReportProductDaily.day <= period.last
        )
    )
    grouped = (
        select(ReportProductDaily.product_id, *_figures(ReportProductDaily), net.label("net"))
        .where(where, ReportProductDaily.day >= period.first, ReportProductDaily.day <= period.last)
        .group_by(ReportProductDaily.product_id)
        .order_by(net.desc(), ReportProductDaily.product_id)
        .limit(limit)
    ).subquery()
    rows = db.session.execute(
        select(grouped, Product.title)
        .outerjoin(Product, Product.id == grouped.c.product_id)
        .order_by(grouped.c.net.desc(), grouped.c.product_id)
    ).all()
    return [
        Share(
            row.product_id,
            row.title or f"#{row.product_id}",
            figures_of(row),
            percent(int(row.net), int(whole or 0)),
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
    return _channels(ReportChannelDaily.distributor_id.between(*MERCHANT), period)


def product_contribution(period: Period, limit: int = 20) -> list[Share]:
    return _products(ReportProductDaily.distributor_id.between(*MERCHANT), period, limit)


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
