"""The dashboard: today / 7 / 30 days from the daily aggregates, what waits, low stock."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, render_template

from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp
from wxdist.panel.charts import bar_chart
from wxdist.panel.filters import short_day
from wxdist.panel.queries.dashboard import low_stock as low_stock_rows
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
    threshold = current_app.config["PANEL_LOW_STOCK"]
    low_stock = low_stock_rows(threshold, LOW_STOCK_ROWS)
    chart = bar_chart([(short_day(day), totals.net_sales_fen) for day, totals in days.items()])
    return render_template(
        "panel/dashboard.html",
        periods=periods,
        waiting_count=waiting_count,
        waiting_fen=waiting_fen,
        low_stock=low_stock,
        threshold=threshold,
        chart=chart,
    )
