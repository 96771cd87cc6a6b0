"""The shop's part of account deletion and export (`core.events`: deletion_blockers,
account_deleted, export_sections).

A deletion waits for every order to end: one paid but not completed (paid, shipped,
refunding) or still waiting for payment, and any open after-sale, blocks it. Afterwards the
orders stay for the books (amounts, items, payments, refunds) with the receiver masked:
the name keeps its first character (张**), the phone its first three and last four digits
(the form every page shows), the region (province, city, district) stays for the
shipping and tax records, the street address and the remark are emptied. The payments
forget the payer's openid; the after-sales their description and evidence pictures. The
cart is emptied (it is only the person's intent) and exported as it stands.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, exists, select, update

from wxdist.accounts.export import iso
from wxdist.accounts.phone import mask_phone
from wxdist.core.events import DeletionBlocker
from wxdist.core.extensions import db
from wxdist.models import AfterSale, CartLine, Order, OrderItem, OrderStatus, Payment

OPEN_STATUSES = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.REFUNDING)


def _mask_name(name: str) -> str:
    return (name[:1] + "**") if name else ""


def blockers(user_id: int) -> list[DeletionBlocker]:
    found: list[DeletionBlocker] = []
    mine = Order.user_id == user_id
    if db.session.scalar(select(exists().where(mine, Order.status.in_(OPEN_STATUSES)))):
        found.append(DeletionBlocker("order_open", _("an order is paid but not completed yet")))
    unpaid = Order.status == OrderStatus.PENDING_PAYMENT
    if db.session.scalar(select(exists().where(mine, unpaid))):
        found.append(DeletionBlocker("order_unpaid", _("an order waits for payment: cancel it")))
    open_sale = AfterSale.open_item_id.is_not(None)
    if db.session.scalar(select(exists().where(AfterSale.user_id == user_id, open_sale))):
        found.append(DeletionBlocker("aftersale_open", _("an after-sale is still open")))
    return found


def anonymise(user_id: int) -> None:
    """Mask the receiver of every order of `user_id` (in the caller's transaction)."""
    rows = db.session.execute(
        select(Order.id, Order.receiver_name, Order.receiver_phone).where(Order.user_id == user_id)
    ).all()
    for order_id, name, phone in rows:
        db.session.execute(
            update(Order)
            .where(Order.id == order_id)
            .values(
                receiver_name=_mask_name(name),
                receiver_phone=mask_phone(phone) or "",
                receiver_detail="",
                remark="",
            )
        )
    order_ids = select(Order.id).where(Order.user_id == user_id).scalar_subquery()
    db.session.execute(update(Payment).where(Payment.order_id.in_(order_ids)).values(payer_id=None))
    db.session.execute(
        update(AfterSale).where(AfterSale.user_id == user_id).values(description="", evidence=[])
    )
    db.session.execute(delete(CartLine).where(CartLine.user_id == user_id))


def export(user_id: int) -> dict[str, Any]:
    orders = db.session.scalars(
        select(Order).where(Order.user_id == user_id).order_by(Order.id)
    ).all()
    items: dict[int, list[OrderItem]] = {}
    if orders:
        for item in db.session.scalars(
            select(OrderItem).where(OrderItem.order_id.in_([o.id for o in orders]))
        ):
            items.setdefault(item.order_id, []).append(item)
    return {
        "orders": [
            {
                "order_no": o.order_no,
                "status": o.status,
                "payable_fen": o.payable_fen,
                "paid_fen": o.paid_fen,
                "refunded_fen": o.refunded_fen,
                "shipping_fen": o.shipping_fen,
                "discount_fen": o.discount_fen,
                "receiver_name": o.receiver_name,
                "receiver_phone": o.receiver_phone,
                "receiver_region": o.receiver_region,
                "receiver_detail": o.receiver_detail,
                "remark": o.remark,
                "created_at": iso(o.created_at),
                "paid_at": iso(o.paid_at),
                "completed_at": iso(o.completed_at),
                "items": [
                    {
                        "title": i.title,
                        "sku_name": i.sku_name,
                        "price_fen": i.price_fen,
                        "quantity": i.quantity,
                        "paid_fen": i.paid_fen,
                        "refunded_fen": i.refunded_fen,
                    }
                    for i in items.get(o.id, [])
                ],
            }
            for o in orders
        ],
        "cart": [
            {"sku_id": line.sku_id, "quantity": line.quantity, "added_at": iso(line.created_at)}
            for line in db.session.scalars(
                select(CartLine).where(CartLine.user_id == user_id).order_by(CartLine.id)
            )
        ],
    }
