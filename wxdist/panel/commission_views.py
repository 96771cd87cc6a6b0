"""Commission records (filter, CSV) and the distributor rankings, read through
`wxdist.panel.queries.commissions` (which says which index answers each filter)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from flask import render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from wxdist.models import CommissionStatus
from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp
from wxdist.panel.filters import csv_time
from wxdist.panel.queries import commissions as queries
from wxdist.panel.ui import choice_arg, csv_response, day_arg, fen_text, int_arg, page_arg
from wxdist.panel.withdrawal_views import safe_cell

RANKING_ROWS = 20
# The CSV's column names, in the reader's language (the cells keep the stored codes).
CSV_HEADER = (
    _l("ID"),
    _l("Created"),
    _l("Order number"),
    _l("Buyer ID"),
    _l("Buyer"),
    _l("Beneficiary ID"),
    _l("Beneficiary"),
    _l("Level"),
    _l("Base"),
    _l("Rate"),
    _l("Amount"),
    _l("Clawed back"),
    _l("Net"),
    _l("Status"),
    _l("Settled at"),
)


def _day_arg(name: str) -> date | None:
    """A YYYY-MM-DD query argument (a Shanghai day), or None when absent or malformed."""
    return day_arg(name)


def _filters() -> dict[str, Any]:
    return {
        "status": choice_arg("status", CommissionStatus.ALL),
        "beneficiary": int_arg("beneficiary"),
        "order": int_arg("order"),
        "since": _day_arg("since"),
        "until": _day_arg("until"),
    }


def _query_args(filters: dict[str, Any]) -> dict[str, str]:
    """The filters as query arguments (for the CSV link), empty ones left out."""
    return {key: str(value) for key, value in filters.items() if value}


@panel_bp.get("/commissions")
@area("commissions")
def commissions():  # type: ignore[no-untyped-def]
    filters = _filters()
    page = queries.commission_page(page_arg(), **filters)
    return render_template(
        "panel/commissions.html",
        page=page,
        filters=filters,
        args=_query_args(filters),
        statuses=CommissionStatus.ALL,
    )


@panel_bp.get("/commissions.csv")
@area("commissions")
def commissions_csv():  # type: ignore[no-untyped-def]
    filters = _filters()

    def rows() -> Iterator[list[Any]]:
        for c, order_no, nickname, real_name in queries.commission_rows(**filters):
            yield [
                c.id,
                csv_time(c.created_at),
                order_no,
                c.buyer_id,
                safe_cell(nickname or ""),
                c.beneficiary_id,
                safe_cell(real_name or ""),
                c.level,
                fen_text(c.base_fen),
                f"{c.rate_bp / 100:.2f}%",
                fen_text(c.amount_fen),
                fen_text(c.clawed_fen),
                fen_text(c.net_fen),
                c.status,
                csv_time(c.settled_at),
            ]

    return csv_response("commissions.csv", [str(name) for name in CSV_HEADER], rows())


@panel_bp.get("/rankings")
@area("commissions")
def rankings():  # type: ignore[no-untyped-def]
    boards = [
        (_("Team sales"), "fen", queries.team_sales_top(RANKING_ROWS)),
        (
            _("Commission earned (settled, after clawbacks)"),
            "fen",
            queries.earned_top(RANKING_ROWS),
        ),
        (_("Direct invites"), "count", queries.invites_top(RANKING_ROWS)),
    ]
    return render_template("panel/rankings.html", boards=boards, rows=RANKING_ROWS)
