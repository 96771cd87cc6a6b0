"""The distributor centre's reports (issue 16): figures per day, channel, product and share
code, money in fen, net of refunds and clawbacks where the name says `net_`."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from miniprogram_api.schemas.base import Out, Paged, PageQuery, QueryInt, Strict


class ReportDaysQuery(Strict):
    days: QueryInt = Field(30, ge=1, le=90)  # the last N days, today included (30 or 90)


class ReportProductsQuery(ReportDaysQuery):
    limit: QueryInt = Field(10, ge=1, le=50)


class FiguresOut(Out):
    orders: int
    paid_fen: int
    refunds: int
    refunded_fen: int
    net_sales_fen: int
    commission_fen: int
    commission_clawed_fen: int
    net_commission_fen: int


class DayOut(FiguresOut):
    day: date
    new_members: int


class TotalsOut(FiguresOut):
    new_members: int


class TrendOut(Out):
    days: int
    first: date
    last: date
    totals: TotalsOut
    items: list[DayOut]


class ChannelOut(FiguresOut):
    channel: str  # "" when the buyer came through no channel tag
    share_pct: float | None  # of the period's net direct sales


class ChannelsOut(Out):
    days: int
    items: list[ChannelOut]


class ProductShareOut(FiguresOut):
    product_id: int
    title: str
    share_pct: float | None


class ProductsOut(Out):
    days: int
    items: list[ProductShareOut]


class FunnelOut(Out):
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
    net_paid_fen: int


class FunnelQuery(PageQuery):
    pass


class FunnelPage(Paged):
    items: list[FunnelOut]
