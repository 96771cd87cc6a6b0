"""(Beside `aftersales/`, not in it: `refunds` imports this, and `aftersales` imports
`refunds`.) The refund's outcome applied to the after-sale that asked for it, inside the refund's
transaction (`shop.refunds.settle_refund` calls `follow_refund` with the order row locked),
and announced after its commit."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select, update

from wxdist.core.events import aftersale_changed
from wxdist.core.extensions import db
from wxdist.models import AfterSale, AfterSaleLog, AfterSaleStatus, Order, OrderItem, Refund, Sku
from wxdist.models.types import utcnow


class Moved(NamedTuple):
    aftersale_id: int
    user_id: int
    status: str


def follow_refund(
    refund: Refund, order: Order, succeeded: bool, failure: str | None = None
) -> Moved | None:
    """Refunded when the refund succeeded (restocking a line refunded before shipping);
    when it failed, the after-sale stays refunding with a log row saying so, for staff to
    send again. Returns the move to announce, or None."""
    sale = db.session.scalar(
        select(AfterSale)
        .where(AfterSale.refund_id == refund.id)
        .execution_options(populate_existing=True)
    )
    if sale is None or sale.status != AfterSaleStatus.REFUNDING:
        return None
    now = utcnow()
    if not succeeded:
        db.session.add(
            AfterSaleLog(
                aftersale_id=sale.id,
                actor="system",
                from_status=AfterSaleStatus.REFUNDING,
                to_status=AfterSaleStatus.REFUNDING,
                note=f"{refund.out_refund_no}: {failure or ''}"[:255],
                created_at=now,
            )
        )
        return None
    moved = db.session.execute(
        update(AfterSale)
        .where(AfterSale.id == sale.id, AfterSale.status == AfterSaleStatus.REFUNDING)
        .values(
            status=AfterSaleStatus.REFUNDED,
            refunded_fen=refund.amount_fen,
            open_item_id=None,
            deadline_at=None,
            closed_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        return None
    if order.shipped_at is None:
        restock_quantity(sale)
    db.session.add(
        AfterSaleLog(
            aftersale_id=sale.id,
            actor="system",
            from_status=AfterSaleStatus.REFUNDING,
            to_status=AfterSaleStatus.REFUNDED,
            note=refund.out_refund_no,
            created_at=now,
        )
    )
    return Moved(sale.id, sale.user_id, AfterSaleStatus.REFUNDED)


def restock_quantity(sale: AfterSale) -> None:
    """Put the after-sale's quantity back on its line's SKU, once (a conditional update on
    `restocked_qty`, so a repeat adds nothing)."""
    marked = db.session.execute(
        update(AfterSale)
        .where(AfterSale.id == sale.id, AfterSale.restocked_qty == 0)
        .values(restocked_qty=sale.quantity)
        .execution_options(synchronize_session=False)
    )
    if marked.rowcount != 1:
        return
    sku_id = db.session.scalar(select(OrderItem.sku_id).where(OrderItem.id == sale.order_item_id))
    db.session.execute(update(Sku).where(Sku.id == sku_id).values(stock=Sku.stock + sale.quantity))


def announce(moved: Moved | None) -> None:
    """After commit: tell the receivers (the shopper's notice) the after-sale moved."""
    if moved is not None:
        aftersale_changed.send(
            __name__, aftersale_id=moved.aftersale_id, user_id=moved.user_id, status=moved.status
        )
