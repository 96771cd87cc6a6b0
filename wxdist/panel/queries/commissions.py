"""Commission records (page and CSV rows) and the distributor rankings.

The list is newest first (created_at, id); each filter has an index giving that order:
(created_at), (status, created_at), (beneficiary_id, created_at),
(beneficiary_id, status, created_at), (order_id). Rankings are ORDER BY one indexed
counter DESC LIMIT n.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import InstrumentedAttribute, aliased

from wxdist.core.clock import utc_start
from wxdist.core.extensions import db
from wxdist.models import Commission, DistributorAccount, Order, User
from wxdist.models.distribution import Distributor
from wxdist.panel.queries.paging import Page, fetch_page


def _listing(
    status: str, beneficiary: int | None, order: int | None, since: date | None, until: date | None
) -> Select[Any]:
    """Commissions with order number, buyer nickname and beneficiary's real name; `since`
    and `until` are Shanghai days, both inclusive."""
    buyer = aliased(User)
    statement = (
        select(Commission, Order.order_no, buyer.nickname, Distributor.real_name)
        .join(Order, Order.id == Commission.order_id)
        .join(buyer, buyer.id == Commission.buyer_id)
        .outerjoin(Distributor, Distributor.user_id == Commission.beneficiary_id)
        .order_by(Commission.created_at.desc(), Commission.id.desc())
    )
    if status:
        statement = statement.where(Commission.status == status)
    if beneficiary:
        statement = statement.where(Commission.beneficiary_id == beneficiary)
    if order:
        statement = statement.where(Commission.order_id == order)
    if since:
        statement = statement.where(Commission.created_at >= utc_start(since))
    if until:  # inclusive: up to the start of the next day
        statement = statement.where(Commission.created_at < utc_start(until + timedelta(days=1)))
    return statement


def commission_page(
    page: int,
    status: str,
    beneficiary: int | None,
    order: int | None,
    since: date | None,
    until: date | None,
) -> Page:
    """A page of (Commission, order_no, buyer nickname, beneficiary real name) rows."""
    return fetch_page(_listing(status, beneficiary, order, since, until), page, scalars=False)


def commission_rows(
    status: str,
    beneficiary: int | None,
    order: int | None,
    since: date | None,
    until: date | None,
) -> Iterable[Row[Any]]:
    """Every row of the filter (as `commission_page`), streamed 500 at a time."""
    statement = _listing(status, beneficiary, order, since, until)
    return db.session.execute(statement.execution_options(yield_per=500))


def top_distributors(column: InstrumentedAttribute[int], limit: int) -> list[Row[Any]]:
    """(user id, real name, status, value) of the `limit` distributors with the highest
    positive `column` (a Distributor counter)."""
    statement = select(
        Distributor.user_id, Distributor.real_name, Distributor.status, column
    ).order_by(column.desc(), Distributor.user_id.desc())
    return list(db.session.execute(statement.where(column > 0).limit(limit)))


def top_accounts(column: InstrumentedAttribute[int], limit: int) -> list[Row[Any]]:
    """As `top_distributors`, for a DistributorAccount counter (the name may be missing)."""
    statement = (
        select(DistributorAccount.user_id, Distributor.real_name, Distributor.status, column)
        .outerjoin(Distributor, Distributor.user_id == DistributorAccount.user_id)
        .order_by(column.desc(), DistributorAccount.user_id.desc())
    )
    return list(db.session.execute(statement.where(column > 0).limit(limit)))


def team_sales_top(limit: int) -> list[Row[Any]]:
    return top_distributors(Distributor.team_sales_fen, limit)


def earned_top(limit: int) -> list[Row[Any]]:
    return top_accounts(DistributorAccount.lifetime_earned_fen, limit)


def invites_top(limit: int) -> list[Row[Any]]:
    return top_distributors(Distributor.direct_invites, limit)
