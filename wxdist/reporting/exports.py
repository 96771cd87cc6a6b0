"""The merchant reports as tables to download, CSV and XLSX from the same rows: headers in
the reader's language (Chinese first), money in yuan with two decimals (`Yuan`), shares
and changes in per cent with one decimal, empty where there is nothing to compare with.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _

from wxdist.reporting import performance, reports

REPORTS = ("performance", "channels", "products", "days")


class Yuan(Decimal):
    """An amount of fen shown as yuan with two decimals."""

    @classmethod
    def of(cls, fen: int) -> Yuan:
        return cls(fen).scaleb(-2).quantize(Decimal("0.01"))


@dataclass
class Table:
    name: str  # the sheet's title
    headers: list[str]
    rows: list[list[Any]]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Yuan):
        return f"{value:.2f}"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def to_csv(table: Table) -> bytes:
    """UTF-8 with a BOM, so Excel shows the Chinese headers."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow([_cell(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(table: Table) -> bytes:
    """One sheet; money cells are numbers formatted 0.00, per cents 0.0."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = table.name[:31]
    sheet.append(table.headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in table.rows:
        sheet.append([float(v) if isinstance(v, Decimal) else v for v in row])
        for value, cell in zip(row, sheet[sheet.max_row], strict=True):
            if isinstance(value, Yuan):
                cell.number_format = "0.00"
            elif isinstance(value, float):
                cell.number_format = "0.0"
    for column in sheet.columns:
        width = max(len(str(c.value or "")) for c in column)
        sheet.column_dimensions[column[0].column_letter].width = min(max(10, width * 2), 40)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _money_headers() -> list[str]:
    return [
        _("Orders"),
        _("Paid (¥)"),
        _("Refunded (¥)"),
        _("Net sales (¥)"),
        _("Commission (¥)"),
        _("Commission clawed back (¥)"),
        _("Net commission (¥)"),
    ]


def _money(figures: reports.Figures) -> list[Any]:
    return [
        figures.orders,
        Yuan.of(figures.paid_fen),
        Yuan.of(figures.refunded_fen),
        Yuan.of(figures.net_sales_fen),
        Yuan.of(figures.commission_fen),
        Yuan.of(figures.commission_clawed_fen),
        Yuan.of(figures.net_commission_fen),
    ]


def performance_table(period: reports.Period, sort: str, descending: bool) -> Table:
    """Every distributor with figures in the period (all pages), with the change on the
    previous period."""
    _total, rows = performance.performance(period, sort, descending, 1, 1_000_000)
    headers = [
        _("Distributor ID"),
        _("Distributor name"),
        *_money_headers(),
        _("New team members"),
        _("Conversion (%)"),
        _("Net sales, previous period (¥)"),
        _("Net sales change (%)"),
        _("Net commission change (%)"),
        _("Orders change (%)"),
        _("Team growth change (%)"),
    ]
    body = []
    for row in rows:
        changes = row.changes()
        body.append(
            [
                row.distributor_id,
                row.name,
                *_money(row.now),
                row.now.new_members,
                row.conversion_pct,
                Yuan.of(row.before.net_sales_fen),
                changes["net_sales"],
                changes["net_commission"],
                changes["orders"],
                changes["new_members"],
            ]
        )
    return Table(_("Distributor performance"), headers, body)


def channels_table(period: reports.Period) -> Table:
    rows = reports.channel_contribution(period)
    headers = [_("Share channel"), *_money_headers(), _("Share of net sales (%)")]
    body = [[row.key or _("(none)"), *_money(row.figures), row.share_pct] for row in rows]
    return Table(_("Channel contribution"), headers, body)


def products_table(period: reports.Period, limit: int = 1000) -> Table:
    rows = reports.product_contribution(period, limit)
    headers = [_("Product ID"), _("Product"), *_money_headers(), _("Share of net sales (%)")]
    body = [[row.key, row.label, *_money(row.figures), row.share_pct] for row in rows]
    return Table(_("Product contribution"), headers, body)


def days_table(period: reports.Period) -> Table:
    days = reports.merchant_days(period)
    headers = [_("Day"), *_money_headers(), _("Commission cost (%)"), _("New team members")]
    body = [
        [
            day.isoformat(),
            *_money(figures),
            reports.percent(figures.net_commission_fen, figures.net_sales_fen),
            figures.new_members,
        ]
        for day, figures in days
    ]
    return Table(_("Sales and commission per day"), headers, body)


def table(report: str, period: reports.Period, sort: str = "net_sales", descending: bool = True):  # type: ignore[no-untyped-def]
    """The table of `report` (one of REPORTS). Raises KeyError for another name."""
    builders = {
        "performance": lambda: performance_table(period, sort, descending),
        "channels": lambda: channels_table(period),
        "products": lambda: products_table(period),
        "days": lambda: days_table(period),
    }
    return builders[report]()
