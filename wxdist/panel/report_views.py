"""报表: the merchant's reports over a chosen period (Shanghai days, the last 30 by
default), each compared with the previous period of the same length: distributor
performance (sortable, paged), channel and product contribution, commission cost as a share
of sales; charts in the dashboard's style; every table as CSV and XLSX. Reads through
`wxdist.reporting.reports` (the pre-aggregated rows), never the orders."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response, render_template, request
from flask_babel import gettext as _

from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp
from wxdist.panel.charts import bar_chart
from wxdist.panel.filters import short_day
from wxdist.panel.queries.paging import Page
from wxdist.panel.ui import choice_arg, day_arg, page_arg
from wxdist.reporting import exports, performance, reports

DEFAULT_DAYS = 30
MAX_DAYS = 366
PER_PAGE = 20
TOP_PRODUCTS = 20


def _period() -> reports.Period:
    """The period of ?first=&last= (YYYY-MM-DD, Shanghai days): this month so far when
    absent or malformed (read from the monthly rows), the two days swapped when reversed,
    at most MAX_DAYS long."""
    last = day_arg("last") or reports.today()
    first = day_arg("first") or last.replace(day=1)
    if first > last:
        first, last = last, first
    if (last - first).days >= MAX_DAYS:
        first = last - timedelta(days=MAX_DAYS - 1)
    return reports.Period(first, last)


def _sorting() -> tuple[str, bool]:
    sort = choice_arg("sort", performance.SORTS) or "net_sales"
    return sort, request.args.get("dir", "desc") != "asc"


def _presets() -> list[tuple[str, dict[str, str]]]:
    """The periods a merchant picks most: this month, last month, the last 7 and 30 days."""
    today = reports.today()
    month = today.replace(day=1)
    last_month_end = month - timedelta(days=1)
    spans = [
        (_("This month"), month, today),
        (_("Last month"), last_month_end.replace(day=1), last_month_end),
        (_("Last 7 days"), today - timedelta(days=6), today),
        (_("Last 30 days"), today - timedelta(days=DEFAULT_DAYS - 1), today),
    ]
    return [(label, _args(reports.Period(a, b))) for label, a, b in spans]


def _args(period: reports.Period, **extra: Any) -> dict[str, Any]:
    return {"first": period.first.isoformat(), "last": period.last.isoformat(), **extra}


@panel_bp.get("/reports")
@area("reports")
def reports_page():  # type: ignore[no-untyped-def]
    period = _period()
    sort, descending = _sorting()
    page_number = page_arg()
    total, rows = performance.performance(period, sort, descending, page_number, PER_PAGE)
    summary = reports.summary(period)
    days = reports.merchant_days(period)
    return render_template(
        "panel/reports.html",
        period=period,
        previous=period.previous(),
        summary=summary,
        changes={
            name: reports.change(getattr(summary.now, name), getattr(summary.before, name))
            for name in ("net_sales_fen", "net_commission_fen", "orders", "new_members")
        },
        cost_change=reports.change(summary.cost_pct, summary.cost_pct_before),
        sales_chart=bar_chart([(short_day(d), f.net_sales_fen) for d, f in days]),
        commission_chart=bar_chart([(short_day(d), f.net_commission_fen) for d, f in days]),
        rows=rows,
        total=total,
        page=Page(rows, page_number, PER_PAGE, page_number * PER_PAGE < total),
        sort=sort,
        descending=descending,
        sorts=performance.SORTS,
        args=_args(period),
        presets=_presets(),
    )


@panel_bp.get("/reports/contribution")
@area("reports")
def reports_contribution():  # type: ignore[no-untyped-def]
    period = _period()
    channels = reports.channel_contribution(period)
    products = reports.product_contribution(period, TOP_PRODUCTS)
    summary = reports.summary(period)
    return render_template(
        "panel/reports_contribution.html",
        period=period,
        summary=summary,
        channels=channels,
        products=products,
        channel_chart=bar_chart([(c.key or "—", c.figures.net_sales_fen) for c in channels]),
        product_chart=bar_chart([(p.label, p.figures.net_sales_fen) for p in products]),
        reports_change=reports.change,
        reports_percent=reports.percent,
        args=_args(period),
        presets=_presets(),
    )


@panel_bp.get("/reports/export")
@area("reports")
def reports_csv():  # type: ignore[no-untyped-def]
    """A download (named `_csv` like the panel's other exports): ?report= performance |
    channels | products | days (default performance), ?format= csv (default) | xlsx, and
    the page's period and sorting."""
    report = choice_arg("report", exports.REPORTS) or "performance"
    kind = choice_arg("format", ("csv", "xlsx")) or "csv"
    period = _period()
    sort, descending = _sorting()
    table = exports.table(report, period, sort, descending)
    name = f"{report}-{period.first.isoformat()}-{period.last.isoformat()}.{kind}"
    if kind == "xlsx":
        body = exports.to_xlsx(table)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body, mimetype = exports.to_csv(table), "text/csv; charset=utf-8"
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
