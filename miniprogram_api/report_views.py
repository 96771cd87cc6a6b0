"""The distributor centre's reports: earnings, orders and team growth per day, per channel
and per product, and the share funnel per code. Always the caller's own figures."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from miniprogram_api.openapi import api_doc
from miniprogram_api.request import current_user, login_required, query
from miniprogram_api.schemas import reports as schemas
from wxdist.distribution import centre as distributor_centre
from wxdist.reporting import reports

bp = Blueprint("api_reports", __name__)


def _caller() -> int:
    """The signed-in distributor's id (403 not_distributor for anyone else)."""
    return distributor_centre.require_distributor(current_user().id).user_id


def _share(share: reports.Share, **extra: Any) -> dict[str, Any]:
    return {**share.figures.as_dict(), "share_pct": share.share_pct, **extra}


@bp.get("/distributor/reports/trend")
@api_doc(query=schemas.ReportDaysQuery, response=schemas.TrendOut, errors=(400, 403), tag="reports")
@login_required
def trend():  # type: ignore[no-untyped-def]
    """My earnings, orders, refunds and new team members per day, the last `days` days
    (30 or 90), oldest first, with their totals. Orders and sales are my direct (level-1)
    sales; commission counts both levels."""
    params = query(schemas.ReportDaysQuery)
    user_id = _caller()
    period = reports.Period.last_days(params.days)
    days = reports.distributor_days(user_id, period)
    return schemas.TrendOut(
        days=params.days,
        first=period.first,
        last=period.last,
        totals=reports.total(days).as_dict(),
        items=[{"day": day, **figures.as_dict()} for day, figures in days],
    ).model_dump(mode="json")


@bp.get("/distributor/reports/channels")
@api_doc(
    query=schemas.ReportDaysQuery, response=schemas.ChannelsOut, errors=(400, 403), tag="reports"
)
@login_required
def channels():  # type: ignore[no-untyped-def]
    """My direct sales and level-1 commission of the last `days` days per channel, largest
    first, with each channel's share of the net sales."""
    params = query(schemas.ReportDaysQuery)
    user_id = _caller()
    rows = reports.distributor_channels(user_id, reports.Period.last_days(params.days))
    return schemas.ChannelsOut(
        days=params.days, items=[_share(row, channel=row.key) for row in rows]
    ).model_dump(mode="json")


@bp.get("/distributor/reports/products")
@api_doc(
    query=schemas.ReportProductsQuery,
    response=schemas.ProductsOut,
    errors=(400, 403),
    tag="reports",
)
@login_required
def products():  # type: ignore[no-untyped-def]
    """My top `limit` products by net direct sales in the last `days` days."""
    params = query(schemas.ReportProductsQuery)
    user_id = _caller()
    rows = reports.distributor_products(
        user_id, reports.Period.last_days(params.days), params.limit
    )
    return schemas.ProductsOut(
        days=params.days,
        items=[_share(row, product_id=row.key, title=row.label) for row in rows],
    ).model_dump(mode="json")


@bp.get("/distributor/reports/funnel")
@api_doc(query=schemas.FunnelQuery, response=schemas.FunnelPage, errors=(400, 403), tag="reports")
@login_required
def funnel():  # type: ignore[no-untyped-def]
    """My share codes, newest first, each with its funnel: scans → opens → binds → orders →
    paid amount (net of refunds)."""
    params = query(schemas.FunnelQuery)
    user_id = _caller()
    total, rows = reports.funnel(user_id, params.page, params.per_page)
    return schemas.FunnelPage(
        page=params.page,
        per_page=params.per_page,
        total=total,
        items=[{**row.__dict__, "net_paid_fen": row.net_paid_fen} for row in rows],
    ).model_dump(mode="json")
