"""Commission records (filter, CSV) and the distributor rankings.

The list is newest first (created_at, id); each filter has an index giving that order:
(created_at), (status, created_at), (beneficiary_id, created_at),
(beneficiary_id, status, created_at), (order_id). Rankings are ORDER BY one indexed
counter DESC LIMIT 20.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import render_template
from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from wxdist.core.clock import SHANGHAI
from wxdist.core.extensions import db
from wxdist.models import Commission, CommissionStatus, DistributorAccount, Order, User
from wxdist.models.distribution import Distributor
from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp
from wxdist.panel.filters import local_time
from wxdist.panel.ui import choice_arg, csv_response, day_arg, fen_text, int_arg, paginate
from wxdist.panel.withdrawal_views import safe_cell

RANKING_ROWS = 20


def _day_arg(name: str) -> date | None:
    """A YYYY-MM-DD query argument (a Shanghai day), or None when absent or malformed."""
    return day_arg(name)


def _utc_start(day: date) -> datetime:
    """The stored (naive UTC) moment a Shanghai day begins."""
    return datetime.combine(day, time(), SHANGHAI).astimezone(UTC).replace(tzinfo=None)


def _filters() -> dict[str, Any]:
    return {
        "status": choice_arg("status", CommissionStatus.ALL),
        "beneficiary": int_arg("beneficiary"),
        "order": int_arg("order"),
        "since": _day_arg("since"),
        "until": _day_arg("until"),
    }


def _listing(filters: dict[str, Any]) -> Select[Any]:
    """Commissions with order number, buyer nickname and beneficiary's real name."""
    buyer = aliased(User)
    statement = (
        select(Commission, Order.order_no, buyer.nickname, Distributor.real_name)
        .join(Order, Order.id == Commission.order_id)
        .join(buyer, buyer.id == Commission.buyer_id)
        .outerjoin(Distributor, Distributor.user_id == Commission.beneficiary_id)
        .order_by(Commission.created_at.desc(), Commission.id.desc())
    )
    if filters["status"]:
        statement = statement.where(Commission.status == filters["status"])
    if filters["beneficiary"]:
        statement = statement.where(Commission.beneficiary_id == filters["beneficiary"])
    if filters["order"]:
        statement = statement.where(Commission.order_id == filters["order"])
    if filters["since"]:
        statement = statement.where(Commission.created_at >= _utc_start(filters["since"]))
    if filters["until"]:  # inclusive: up to the start of the next day
        end = _utc_start(filters["until"] + timedelta(days=1))
        statement = statement.where(Commission.created_at < end)
    return statement


def _query_args(filters: dict[str, Any]) -> dict[str, str]:
    """The filters as query arguments (for the CSV link), empty ones left out."""
    return {key: str(value) for key, value in filters.items() if value}


@panel_bp.get("/commissions")
@area("commissions")
def commissions():  # type: ignore[no-untyped-def]
    filters = _filters()
    page = paginate(_listing(filters), scalars=False)
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
    statement = _listing(_filters()).execution_options(yield_per=500)

    def rows() -> Iterator[list[Any]]:
        for c, order_no, nickname, real_name in db.session.execute(statement):
            yield [
                c.id,
                local_time(c.created_at, "%Y-%m-%d %H:%M:%S"),
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
                local_time(c.settled_at, "%Y-%m-%d %H:%M:%S"),
            ]

    header = [
        "id",
        "created",
        "order_no",
        "buyer_id",
        "buyer",
        "beneficiary_id",
        "beneficiary",
        "level",
        "base",
        "rate",
        "amount",
        "clawed",
        "net",
        "status",
        "settled",
    ]
    return csv_response("commissions.csv", header, rows())


@panel_bp.get("/rankings")
@area("commissions")
def rankings():  # type: ignore[no-untyped-def]
    def top(column: Any, *, from_accounts: bool = False) -> list[Any]:
        if from_accounts:
            statement = (
                select(
                    DistributorAccount.user_id,
                    Distributor.real_name,
                    Distributor.status,
                    column,
                )
                .outerjoin(Distributor, Distributor.user_id == DistributorAccount.user_id)
                .order_by(column.desc(), DistributorAccount.user_id.desc())
            )
        else:
            statement = select(
                Distributor.user_id, Distributor.real_name, Distributor.status, column
            ).order_by(column.desc(), Distributor.user_id.desc())
        return list(db.session.execute(statement.where(column > 0).limit(RANKING_ROWS)))

    boards = [
        ("Team sales", "fen", top(Distributor.team_sales_fen)),
        (
            "Commission earned (settled, after clawbacks)",
            "fen",
            top(DistributorAccount.lifetime_earned_fen, from_accounts=True),
        ),
        ("Direct invites", "count", top(Distributor.direct_invites)),
    ]
    return render_template("panel/rankings.html", boards=boards, rows=RANKING_ROWS)
