"""After-sales for the panel: the queue (newest first, or by deadline for the states that
wait on staff) and one after-sale with its order, line, refund and log."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from wxdist.core.extensions import db
from wxdist.models import AfterSale, AfterSaleLog, AfterSaleStatus, Order, OrderItem, Refund
from wxdist.panel.queries.paging import Page, fetch_page


def aftersale_page(page: int, status: str) -> Page:
    """Of `status` ('' any): waiting states soonest deadline first, the rest newest first."""
    statement = select(AfterSale)
    if status:
        statement = statement.where(AfterSale.status == status)
    if status in (AfterSaleStatus.APPLIED, AfterSaleStatus.AGREED):
        statement = statement.order_by(AfterSale.deadline_at, AfterSale.id)
    else:
        statement = statement.order_by(AfterSale.created_at.desc(), AfterSale.id.desc())
    return fetch_page(statement, page)


@dataclass
class AfterSaleFacts:
    sale: AfterSale
    order: Order
    item: OrderItem
    refund: Refund | None
    log: list[AfterSaleLog]


def aftersale(sale_id: int) -> AfterSaleFacts | None:
    sale = db.session.get(AfterSale, sale_id)
    if sale is None:
        return None
    order = db.session.get(Order, sale.order_id)
    item = db.session.get(OrderItem, sale.order_item_id)
    assert order is not None and item is not None
    refund = db.session.get(Refund, sale.refund_id) if sale.refund_id else None
    log = list(
        db.session.scalars(
            select(AfterSaleLog)
            .where(AfterSaleLog.aftersale_id == sale_id)
            .order_by(AfterSaleLog.id)
        ).all()
    )
    return AfterSaleFacts(sale, order, item, refund, log)
