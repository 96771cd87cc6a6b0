"""The merchant's report pages: period-over-period figures, sorting and paging, charts,
the pages in Chinese and English, and the exports (the XLSX opens with openpyxl and says
what the CSV says)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from payments.emulator import EmulatorServer
from tests.panel_helpers import staff_client
from tests.reports_helpers import history
from wxdist.reporting import performance, reports


def _period(app: Flask) -> dict[str, str]:
    """Yesterday and today (the second purchases and the refund), against the two days
    before (the first purchase)."""
    with app.app_context():
        today = reports.today()
    return {"first": (today - timedelta(days=1)).isoformat(), "last": today.isoformat()}


def _export(client: FlaskClient, fmt: str, **args: Any) -> Any:
    response = client.get("/panel/reports/export", query_string={"format": fmt, **args})
    assert response.status_code == 200, response.status_code
    return response


def _csv_rows(data: bytes) -> list[list[str]]:
    text = data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def _xlsx_rows(data: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(data)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _same(csv_cell: str, xlsx_cell: Any) -> bool:
    if xlsx_cell is None:
        return csv_cell == ""
    if isinstance(xlsx_cell, int | float) and not isinstance(xlsx_cell, bool):
        return Decimal(csv_cell) == Decimal(str(xlsx_cell))
    return csv_cell == str(xlsx_cell)


def test_performance_compares_with_the_previous_period(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    story = history(client, app, emulator, run_jobs)
    a, b = story["a"]["user_id"], story["b"]["user_id"]
    with app.app_context():
        today = reports.today()
        period = reports.Period(today - timedelta(days=1), today)
        assert period.previous() == reports.Period(today - timedelta(days=3), today - timedelta(2))
        total, rows = performance.performance(period)
    assert total == 2
    by_id = {row.distributor_id: row for row in rows}
    # A: 100.00 two days ago; 100.00 yesterday less 30.00 refunded today.
    assert (by_id[a].before.net_sales_fen, by_id[a].now.net_sales_fen) == (10_000, 7_000)
    assert by_id[a].changes()["net_sales"] == -30.0
    # Commission: 10.00 before; 10.00 + 5.00 (B's sale, level 2) - 3.00 clawed back now.
    assert (by_id[a].before.net_commission_fen, by_id[a].now.net_commission_fen) == (1_000, 1_200)
    assert by_id[a].changes()["net_commission"] == 20.0
    assert by_id[a].now.new_members == 3 and by_id[a].conversion_pct == 33.3
    assert by_id[b].changes()["net_sales"] is None  # nothing before: no change to show
    assert [row.distributor_id for row in rows] == [b, a]  # 100.00 before 70.00
    with app.app_context():
        _, by_orders = performance.performance(period, "new_members", descending=True, per_page=1)
        assert [row.distributor_id for row in by_orders] == [a]
        _, second = performance.performance(
            period, "new_members", descending=True, page=2, per_page=1
        )
        assert [row.distributor_id for row in second] == [b]
        summary = reports.summary(period)
        # This month so far is read from the monthly rows: the same as summing the days.
        month = reports.Period(today.replace(day=1), today)
        month_total, from_months = performance.performance(month, per_page=50)
        for row in from_months:
            days = reports.distributor_days(row.distributor_id, month)
            assert row.now == reports.total(days)
        assert {row.distributor_id for row in from_months} <= {a, b}
        assert month_total == len(from_months) >= 1
    # The shop: 200.00 + 100.00 ... every sale; commission cost 22.00 of 270.00 net.
    assert summary.now.net_sales_fen == 10_000 + 10_000 - 3_000
    assert summary.now.net_commission_fen == 1_000 + 500 + 1_000 - 300
    assert summary.cost_pct == round(2_200 * 100 / 17_000, 1)


def test_report_pages_render_in_chinese_and_english(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    history(client, app, emulator, run_jobs)
    owner = staff_client(app, "owner")
    args = _period(app)
    zh = owner.get(
        "/panel/reports", query_string=args, headers={"Accept-Language": "zh-CN"}
    ).get_data(as_text=True)
    assert "分销员业绩" in zh and "佣金成本" in zh and '<svg class="chart"' in zh
    assert "-30.0%" in zh and "+20.0%" in zh  # A's sales and commission against before
    en = owner.get("/panel/reports", query_string=args, headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert "Distributor performance" in en and "Commission cost" in en
    contribution = owner.get(
        "/panel/reports/contribution", query_string=args, headers={"Accept-Language": "zh-CN"}
    ).get_data(as_text=True)
    assert "渠道贡献" in contribution and "moments" in contribution and "亚麻衬衫" in contribution
    english = owner.get(
        "/panel/reports/contribution", query_string=args, headers={"Accept-Language": "en"}
    ).get_data(as_text=True)
    assert "Channel contribution" in english and "Product contribution" in english
    # Malformed days fall back to the last 30 days, never a 500.
    assert owner.get("/panel/reports?first=2026-13-45&last=x&sort=nope").status_code == 200


def test_exports_are_csv_and_xlsx_with_the_same_rows(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    story = history(client, app, emulator, run_jobs)
    finance = staff_client(app, "finance")
    finance.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    args = _period(app)
    for report in ("performance", "channels", "products", "days"):
        as_csv = _csv_rows(_export(finance, "csv", report=report, **args).data)
        as_xlsx = _xlsx_rows(_export(finance, "xlsx", report=report, **args).data)
        assert len(as_csv) == len(as_xlsx) > 1, report
        for csv_row, xlsx_row in zip(as_csv, as_xlsx, strict=True):
            assert len(csv_row) == len(xlsx_row)
            assert all(_same(c, x) for c, x in zip(csv_row, xlsx_row, strict=True)), (
                report,
                csv_row,
                xlsx_row,
            )
    rows = _csv_rows(_export(finance, "csv", report="performance", **args).data)
    assert rows[0][:4] == ["分销员 ID", "分销员姓名", "订单", "实付（元）"]
    mine = next(row for row in rows if row[0] == str(story["a"]["user_id"]))
    header = rows[0]
    assert mine[header.index("净销售额（元）")] == "70.00"
    assert mine[header.index("净销售额环比（%）")] == "-30.0"


@pytest.mark.parametrize("month_cost", [-1000, 3, 1000])
def test_any_period_sums_the_same_from_months_and_days(
    client: FlaskClient,
    app: Flask,
    emulator: EmulatorServer,
    run_jobs: Any,
    monkeypatch: pytest.MonkeyPatch,
    month_cost: int,
) -> None:
    """Periods mix month rows, day rows, and month rows less their days left out (the
    choice forced each way by the cost it weighs): every way gives what the days give,
    for distributor performance and for the merchant's product contribution."""
    story = history(client, app, emulator, run_jobs)
    monkeypatch.setattr(performance, "MONTH_COST_DAYS", month_cost)
    sellers = (story["a"]["user_id"], story["b"]["user_id"])
    with app.app_context():
        today = reports.today()
        for back in (1, 2, 3, 20, 40, 75, 400):
            span = reports.Period(today - timedelta(days=back), today - timedelta(days=1))
            for period in (span, reports.Period(span.first, today), span.previous()):
                _count, rows = performance.performance(period, per_page=50)
                want = {
                    uid: reports.total(reports.distributor_days(uid, period)) for uid in sellers
                }
                want = {uid: f for uid, f in want.items() if f != reports.Figures()}
                assert {row.distributor_id: row.now for row in rows} == want, period
                monkeypatch.setattr(reports, "MONTH_COST_DAYS", 1000)  # the days alone
                days = [(s.key, s.figures) for s in reports.product_contribution(period, 50)]
                monkeypatch.setattr(reports, "MONTH_COST_DAYS", month_cost)
                got = [(s.key, s.figures) for s in reports.product_contribution(period, 50)]
                assert got == days, period
                for row in rows:
                    before = reports.total(
                        reports.distributor_days(row.distributor_id, period.previous())
                    )
                    assert row.before == before
