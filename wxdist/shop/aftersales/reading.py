"""Reading a shopper's after-sales: their list (newest first) and one with its log."""

from __future__ import annotations

from sqlalchemy import func, select

from wxdist.core.extensions import db
from wxdist.models import AfterSale, AfterSaleLog


def list_user_aftersales(
    user_id: int, status: str | None, page: int, per_page: int
) -> tuple[list[AfterSale], int]:
    query = select(AfterSale).where(AfterSale.user_id == user_id)
    if status:
        query = query.where(AfterSale.status == status)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(AfterSale.created_at.desc(), AfterSale.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(rows), total


def log_of(sale_id: int) -> list[AfterSaleLog]:
    return list(
        db.session.scalars(
            select(AfterSaleLog)
            .where(AfterSaleLog.aftersale_id == sale_id)
            .order_by(AfterSaleLog.id)
        ).all()
    )
