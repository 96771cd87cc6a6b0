"""What each webhook event carries: the subject as the merchant's systems need it, read
with Core inside the transaction of the change (so it shows the state being committed,
not what the session loaded before). Money in integer fen, times in UTC ISO 8601."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import NoResultFound

from wxdist.core.extensions import db
from wxdist.models import (
    AfterSale,
    Distributor,
    Order,
    OrderItem,
    Product,
    Refund,
    Shipment,
    ShipmentItem,
    Sku,
    User,
    Withdrawal,
)

_ORDER_FIELDS = (
    "order_no", "status", "goods_fen", "shipping_fen", "discount_fen", "payable_fen",
    "paid_fen", "refunded_fen", "pay_channel", "receiver_name", "receiver_phone",
    "receiver_region", "receiver_region_code", "receiver_detail", "remark", "carrier",
    "tracking_no", "created_at", "paid_at", "shipped_at", "completed_at", "ended_at",
)  # fmt: skip
_ITEM_FIELDS = (
    "product_id", "sku_id", "title", "sku_name", "price_fen", "quantity", "amount_fen",
    "paid_fen", "refunded_fen",
)  # fmt: skip


_WITHDRAWAL_FIELDS = (
    "payout_no", "user_id", "amount_fen", "fee_fen", "net_fen", "method", "account_masked",
    "gateway_ref", "status",
)  # fmt: skip
_AFTERSALE_FIELDS = (
    "id", "order_id", "order_item_id", "kind", "status", "quantity", "amount_fen",
    "refunded_fen", "reason_code", "carrier", "tracking_no", "created_at", "updated_at",
)  # fmt: skip


def _current(query: Any) -> Any:
    """The one row of `query` as the transaction has it now: the session's pending
    changes flushed first, read with Core (the session's loaded objects left alone)."""
    db.session.flush()
    return db.session.execute(query).one()


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def _row(row: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: _json(getattr(row, name)) for name in fields}


def order(order_id: int) -> dict[str, Any]:
    """An order with its lines and buyer's openid. Raises NoResultFound for no such order."""
    db.session.flush()
    found = orders([order_id])
    if not found:
        raise NoResultFound(f"no order {order_id}")
    return found[0]


def orders(order_ids: list[int]) -> list[dict[str, Any]]:
    """Orders as `order` gives them, in the order of `order_ids`, in two reads (the open
    API's feed); ids that name no order are left out."""
    if not order_ids:
        return []
    heads = db.session.execute(
        select(*(getattr(Order, f) for f in _ORDER_FIELDS), Order.id, Order.updated_at,
               User.openid)
        .join(User, User.id == Order.user_id)
        .where(Order.id.in_(order_ids))
    ).all()  # fmt: skip
    lines: dict[int, list[dict[str, Any]]] = {}
    for line in db.session.execute(
        select(OrderItem.id, OrderItem.order_id, *(getattr(OrderItem, f) for f in _ITEM_FIELDS))
        .where(OrderItem.order_id.in_(order_ids))
        .order_by(OrderItem.id)
    ):
        lines.setdefault(line.order_id, []).append({"id": line.id, **_row(line, _ITEM_FIELDS)})
    by_id = {
        head.id: {
            "id": head.id,
            **_row(head, _ORDER_FIELDS),
            "updated_at": _json(head.updated_at),
            "buyer_openid": head.openid,
            "items": lines.get(head.id, []),
        }
        for head in heads
    }
    return [by_id[i] for i in order_ids if i in by_id]


def refund(refund_id: int) -> dict[str, Any]:
    """A refund, its order's figures after it, and the order's lines with what each has
    had refunded (the order's own status moves on later in the same transaction, so it is
    not given here)."""
    found = db.session.get_one(Refund, refund_id)
    whole = order(found.order_id)
    return {
        "out_refund_no": found.out_refund_no,
        "amount_fen": found.amount_fen,
        "reason": found.reason,
        "order_item_id": found.order_item_id,
        "order_id": whole["id"],
        "order_no": whole["order_no"],
        "order_paid_fen": whole["paid_fen"],
        "order_refunded_fen": whole["refunded_fen"],
        "items": whole["items"],
    }


def distributor(user_id: int) -> dict[str, Any]:
    found = db.session.execute(
        select(Distributor.user_id, Distributor.real_name, Distributor.level_id, User.openid)
        .join(User, User.id == Distributor.user_id)
        .where(Distributor.user_id == user_id)
    ).one()
    return {"user_id": found.user_id, "real_name": found.real_name, "level_id": found.level_id,
            "openid": found.openid}  # fmt: skip


def shipment(order_id: int, shipment_id: int, all_delivered: bool) -> dict[str, Any]:
    """The order as shipped so far, and this package: its carrier code (WeChat's), tracking
    number and the order lines (with quantities) it holds."""
    found = db.session.get_one(Shipment, shipment_id)
    lines = db.session.execute(
        select(ShipmentItem.order_item_id, ShipmentItem.quantity)
        .where(ShipmentItem.shipment_id == shipment_id)
        .order_by(ShipmentItem.id)
    )
    return {
        "order": order(order_id),
        "shipment": {
            "id": found.id, "seq": found.seq, "kind": found.kind,
            "delivery_id": found.delivery_id, "tracking_no": found.tracking_no,
            "items": [{"order_item_id": i, "quantity": q} for i, q in lines],
            "all_delivered": all_delivered,
        },
    }  # fmt: skip


def withdrawal(withdrawal_id: int) -> dict[str, Any]:
    """A withdrawal as paid: amounts, method, the masked account, the gateway's reference."""
    found = _current(
        select(*(getattr(Withdrawal, f) for f in _WITHDRAWAL_FIELDS)).where(
            Withdrawal.id == withdrawal_id
        )
    )
    return _row(found, _WITHDRAWAL_FIELDS)


def aftersale(aftersale_id: int) -> dict[str, Any]:
    """An after-sale as it stands after the move: its kind, status, the order line and
    quantity it concerns, the amounts, and the buyer's return parcel."""
    found = _current(
        select(*(getattr(AfterSale, f) for f in _AFTERSALE_FIELDS), Order.order_no)
        .join(Order, Order.id == AfterSale.order_id)
        .where(AfterSale.id == aftersale_id)
    )
    return {**_row(found, _AFTERSALE_FIELDS), "order_no": found.order_no}


def stock(sku_id: int, state: str, stock: int, threshold: int) -> dict[str, Any]:
    """A SKU whose stock crossed its threshold (`state` low) or ran out (`state` out): its
    code (商家编码, None when it has none), name, product, the stock the check saw and the
    threshold, and whether the product is on shelf now (auto-pause takes a sold-out one
    off)."""
    found = _current(
        select(Sku.id, Sku.code, Sku.name, Sku.product_id, Product.title, Product.on_shelf)
        .join(Product, Product.id == Sku.product_id)
        .where(Sku.id == sku_id)
    )
    return {
        "sku_id": found.id, "sku_code": found.code, "sku_name": found.name,
        "product_id": found.product_id, "product_title": found.title,
        "product_on_shelf": bool(found.on_shelf), "stock": stock, "threshold": threshold,
        "state": state,
    }  # fmt: skip
