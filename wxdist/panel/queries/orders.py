"""Orders: the list and one order's page.

Every filter of the list is answered from an index (the table holds millions of rows, and
nothing here counts them): order number by its unique key; receiver phone by
ix_orders_receiver_phone_created (exact number only — a prefix or partial phone is not
searched); user id by ix_orders_user_created; status by ix_orders_status_created; no
filter or a date range alone by ix_orders_created. The order is always (created_at, id)
descending, which each of those indexes yields without sorting.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from wxdist.core.clock import utc_start
from wxdist.core.extensions import db
from wxdist.models import Commission, Order, Payment, Refund, User
from wxdist.panel.queries.paging import Page, fetch_page

ORDER_NO = re.compile(r"^\d{24}$")
PHONE = re.compile(r"^\+?\d{11,15}$")


def search_kind(q: str) -> str:
    """What a search text is taken for: 'order_no', 'phone', 'user_id', '' (empty) or
    'none' (none of those: the search answers nothing)."""
    if not q:
        return ""
    if ORDER_NO.match(q):
        return "order_no"
    if PHONE.match(q):
        return "phone"
    if q.isascii() and q.isdigit() and len(q) <= 10:
        return "user_id"
    return "none"


def order_page(page: int, q: str, status: str, since: date | None, until: date | None) -> Page:
    """Orders newest first, searched by `q` (see `search_kind`), of `status`, created on the
    Shanghai days `since` to `until` (both inclusive; None: open)."""
    statement = select(Order).order_by(Order.created_at.desc(), Order.id.desc())
    kind = search_kind(q)
    if kind == "order_no":
        statement = statement.where(Order.order_no == q)
    elif kind == "phone":
        statement = statement.where(Order.receiver_phone == q)
    elif kind == "user_id":
        statement = statement.where(Order.user_id == int(q))
    elif kind == "none":
        statement = statement.where(Order.id.is_(None))  # answers nothing, from the key
    if status:
        statement = statement.where(Order.status == status)
    if since:
        statement = statement.where(Order.created_at >= utc_start(since))
    if until:
        statement = statement.where(Order.created_at < utc_start(until + timedelta(days=1)))
    return fetch_page(statement, page)


def order(order_id: int) -> Order | None:
    return db.session.get(Order, order_id)


@dataclass(frozen=True)
class OrderFacts:
    """What one order's page shows besides the order and its items."""

    buyer: User | None
    payments: Sequence[Payment]
    refunds: Sequence[Refund]
    commission: Sequence[Commission]


def order_facts(row: Order) -> OrderFacts:
    """The buyer, payments, refunds and commission records of one order."""
    payments = db.session.scalars(
        select(Payment).where(Payment.order_id == row.id).order_by(Payment.id)
    ).all()
    refunds = db.session.scalars(
        select(Refund).where(Refund.order_id == row.id).order_by(Refund.id)
    ).all()
    commission = db.session.scalars(
        select(Commission)
        .where(Commission.order_id == row.id)
        .order_by(Commission.level, Commission.order_item_id, Commission.id)
    ).all()
    return OrderFacts(db.session.get(User, row.user_id), payments, refunds, commission)
