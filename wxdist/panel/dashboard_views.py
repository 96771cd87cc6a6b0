"""The dashboard: today / 7 / 30 days from the daily aggregates, what waits, and the stock
notice (the SKUs the stock alerts hold low or sold out)."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template

from wxdist.catalog import stock_settings
from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp
from wxdist.panel.charts import bar_chart
from wxdist.panel.filters import short_day
from wxdist.panel.queries.dashboard import stock_counts, stock_notice
from wxdist.panel.queries.withdrawals import waiting_totals
from wxdist.reporting import daily_stats

LOW_STOCK_ROWS = 20


@panel_bp.get("/")
@area("dashboard")
def dashboard():  # type: ignore[no-untyped-def]
    today = daily_stats.local_day()
    days = daily_stats.by_day(today - timedelta(days=29), today)
    periods = [
        daily_stats.total(days, today),
        daily_stats.total(days, today - timedelta(days=6)),
        daily_stats.total(days, today - timedelta(days=29)),
    ]
    waiting_count, waiting_fen = waiting_totals()
    threshold = stock_settings.current().low_stock_threshold
    low_stock = stock_notice(threshold, LOW_STOCK_ROWS)
    chart = bar_chart([(short_day(day), totals.net_sales_fen) for day, totals in days.items()])
    return render_template(
        "panel/dashboard.html",
        periods=periods,
        waiting_count=waiting_count,
        waiting_fen=waiting_fen,
        low_stock=low_stock,
        stock_counts=stock_counts(threshold),
        threshold=threshold,
        chart=chart,
    )
