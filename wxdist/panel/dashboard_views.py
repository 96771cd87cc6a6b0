"""The dashboard: today / 7 / 30 days from the daily aggregates, what waits, low stock."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, render_template
from sqlalchemy import func, select

from wxdist.core.extensions import db
from wxdist.models import Product, Sku, Withdrawal, WithdrawalStatus
from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp
from wxdist.panel.charts import bar_chart
from wxdist.reporting import daily_stats

LOW_STOCK_ROWS = 20


@panel_bp.get("/")
@area("dashboard")
def dashboard():  # type: ignore[no-untyped-def]
    today = daily_stats.local_day()
    days = daily_stats.by_day(today - timedelta(days=29), today)
    periods = [
        ("Today", daily_stats.total(days, today)),
        ("7 days", daily_stats.total(days, today - timedelta(days=6))),
        ("30 days", daily_stats.total(days, today - timedelta(days=29))),
    ]
    waiting_count, waiting_fen = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Withdrawal.amount_fen), 0)).where(
            Withdrawal.status == WithdrawalStatus.PENDING_REVIEW
        )
    ).one()
    threshold = current_app.config["PANEL_LOW_STOCK"]
    low_stock = db.session.execute(
        select(Sku.id, Sku.name, Sku.stock, Product.id, Product.title)
        .join(Product, Product.id == Sku.product_id)
        .where(Sku.stock <= threshold)
        .order_by(Sku.stock, Sku.id)
        .limit(LOW_STOCK_ROWS)
    ).all()
    chart = bar_chart(
        [(day.strftime("%m-%d"), totals.net_sales_fen) for day, totals in days.items()]
    )
    return render_template(
        "panel/dashboard.html",
        periods=periods,
        waiting_count=waiting_count,
        waiting_fen=int(waiting_fen),
        low_stock=low_stock,
        threshold=threshold,
        chart=chart,
    )
