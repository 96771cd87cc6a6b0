"""(Beside `aftersales/`, not in it: `refunds` imports this, and `aftersales` imports
`refunds`.) The refund's outcome applied to the after-sale that asked for it, inside the refund's
transaction (`shop.refunds.settle_refund` calls `follow_refund` with the order row locked),
and announced after its commit."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select, update

from wxdist.core.events import aftersale_changed, aftersale_moving
from wxdist.core.extensions import db
from wxdist.models import AfterSale, AfterSaleLog, AfterSaleStatus, Order, OrderItem, Refund, Sku
from wxdist.models.types import utcnow
from wxdist.shop import shipments


class Moved(NamedTuple):
    aftersale_id: int
    user_id: int
    status: str


def moving(aftersale_id: int, user_id: int, status: str) -> Moved:
    """Inside the move's transaction: send `aftersale_moving`; the move to announce after
    commit."""
    aftersale_moving.send(__name__, aftersale_id=aftersale_id, user_id=user_id, status=status)
    return Moved(aftersale_id, user_id, status)


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
    # What never left the warehouse goes back on the shelf (with split delivery, a line may
    # be partly in a package while the order waits for the rest).
    item_quantity = db.session.scalar(
        select(OrderItem.quantity).where(OrderItem.id == sale.order_item_id)
    )
    unshipped = int(item_quantity or 0) - shipments.shipped_quantity(sale.order_item_id)
    if unshipped > 0:
        restock_quantity(sale, min(sale.quantity, unshipped))
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
    return moving(sale.id, sale.user_id, AfterSaleStatus.REFUNDED)


def restock_quantity(sale: AfterSale, quantity: int | None = None) -> None:
    """Put `quantity` (default: the after-sale's) back on its line's SKU, once (a
    conditional update on `restocked_qty`, so a repeat adds nothing)."""
    quantity = sale.quantity if quantity is None else quantity
    marked = db.session.execute(
        update(AfterSale)
        .where(AfterSale.id == sale.id, AfterSale.restocked_qty == 0)
        .values(restocked_qty=quantity)
        .execution_options(synchronize_session=False)
    )
    if marked.rowcount != 1:
        return
    sku_id = db.session.scalar(select(OrderItem.sku_id).where(OrderItem.id == sale.order_item_id))
    db.session.execute(update(Sku).where(Sku.id == sku_id).values(stock=Sku.stock + quantity))


def announce(moved: Moved | None) -> None:
    """After commit: tell the receivers (the shopper's notice) the after-sale moved."""
    if moved is not None:
        aftersale_changed.send(
            __name__, aftersale_id=moved.aftersale_id, user_id=moved.user_id, status=moved.status
        )
