"""After-sales in `flask reconcile`:
- an after-sale is refunded exactly when its refund succeeded, and for the refund's amount
  (and one not refunded has refunded nothing);
- no commission was settled on a line while an after-sale on it was open (after it was
  created, before it ended).
"""

from __future__ import annotations

from sqlalchemy import and_, or_, select

from wxdist.core.extensions import db
from wxdist.models import (
    AfterSale,
    AfterSaleStatus,
    Commission,
    CommissionStatus,
    Refund,
    RefundStatus,
)

LIMIT = 1000


def check_refunded_amounts() -> list[str]:
    rows = db.session.execute(
        select(
            AfterSale.id,
            AfterSale.status,
            AfterSale.amount_fen,
            AfterSale.refunded_fen,
            Refund.status,
            Refund.amount_fen,
        )
        .outerjoin(Refund, Refund.id == AfterSale.refund_id)
        .where(
            or_(
                and_(
                    AfterSale.status == AfterSaleStatus.REFUNDED,
                    or_(
                        Refund.id.is_(None),
                        Refund.status != RefundStatus.SUCCEEDED,
                        Refund.amount_fen != AfterSale.refunded_fen,
                        AfterSale.refunded_fen != AfterSale.amount_fen,
                    ),
                ),
                and_(AfterSale.status != AfterSaleStatus.REFUNDED, AfterSale.refunded_fen != 0),
                and_(
                    AfterSale.status != AfterSaleStatus.REFUNDED,
                    Refund.status == RefundStatus.SUCCEEDED,
                ),
            )
        )
        .limit(LIMIT)
    ).all()
    return [
        f"after-sale {sid} ({status}): asked {asked}, refunded {refunded}, its refund "
        f"{refund_status or 'none'} for {refund_fen}"
        for sid, status, asked, refunded, refund_status, refund_fen in rows
    ]


def check_no_settlement_while_open() -> list[str]:
    rows = db.session.execute(
        select(Commission.id, Commission.order_item_id, AfterSale.id)
        .join(AfterSale, AfterSale.order_item_id == Commission.order_item_id)
        .where(
            Commission.status == CommissionStatus.SETTLED,
            Commission.settled_at > AfterSale.created_at,
            or_(AfterSale.closed_at.is_(None), Commission.settled_at < AfterSale.closed_at),
        )
        .limit(LIMIT)
    ).all()
    return [
        f"commission {cid} on item {item_id} settled while after-sale {sid} was open"
        for cid, item_id, sid in rows
    ]


def check_all() -> list[str]:
    return [*check_refunded_amounts(), *check_no_settlement_while_open()]
