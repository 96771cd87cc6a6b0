"""The body of WeChat's `upload_shipping_info` for a payment's order (发货信息管理): every
shipment as one package list, RFC 3339 times in China time, `item_desc` within WeChat's 120
characters, SF's receiver phone masked, split delivery with `is_all_delivered`.

Payloads are built for a batch of payments with three queries, whatever its size.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from wxdist.core.clock import to_local
from wxdist.core.extensions import db
from wxdist.models import (
    Order,
    OrderItem,
    OrderStatus,
    Payment,
    Shipment,
    ShipmentItem,
    ShipmentKind,
)

LOGISTICS_TYPE = {ShipmentKind.EXPRESS: 1, ShipmentKind.VIRTUAL: 3, ShipmentKind.PICKUP: 4}
UNIFIED, SPLIT = 1, 2
ITEM_DESC_MAX = 120

Package = tuple[Shipment, list[tuple[str, int]]]  # a shipment and its lines (name, quantity)


def wechat_time(moment: datetime) -> str:
    """RFC 3339 in China time with milliseconds: 2026-12-03T14:05:00.000+08:00."""
    local = to_local(moment)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}+08:00"


def mask_phone(phone: str) -> str:
    """189****1234, as WeChat asks for SF's receiver contact."""
    phone = phone.strip()
    if len(phone) >= 7:
        return phone[:3] + "****" + phone[-4:]
    return "****" + phone[-4:]


def item_desc(lines: list[tuple[str, int]]) -> str:
    """ "title ×2; other ×1", cut to WeChat's 120 characters."""
    text = "; ".join(f"{title} ×{quantity}" for title, quantity in lines)
    return text if len(text) <= ITEM_DESC_MAX else text[: ITEM_DESC_MAX - 1] + "…"


def order_key(payment: Payment) -> dict[str, Any]:
    """How WeChat finds the payment: its transaction id, else merchant id and trade no."""
    if payment.transaction_id:
        return {"order_number_type": 2, "transaction_id": payment.transaction_id}
    return {
        "order_number_type": 1,
        "mchid": current_app.config["WECHAT_MCH_ID"],
        "out_trade_no": payment.out_trade_no,
    }


def is_complete(payload: dict[str, Any]) -> bool:
    """True when the payload says every package has shipped."""
    return payload["delivery_mode"] == UNIFIED or bool(payload.get("is_all_delivered"))


def _packages(order_ids: Sequence[int]) -> dict[int, list[Package]]:
    """Each order's shipments in order, each with its lines: one query."""
    rows = db.session.execute(
        select(Shipment, OrderItem.title, OrderItem.sku_name, ShipmentItem.quantity)
        .join(ShipmentItem, ShipmentItem.shipment_id == Shipment.id)
        .join(OrderItem, OrderItem.id == ShipmentItem.order_item_id)
        .where(Shipment.order_id.in_(order_ids))
        .order_by(Shipment.order_id, Shipment.seq, ShipmentItem.id)
    ).all()
    packages: dict[int, dict[int, Package]] = {}
    for shipment, title, sku_name, quantity in rows:
        name = f"{title} {sku_name}".strip() if sku_name else title
        order = packages.setdefault(shipment.order_id, {})
        order.setdefault(shipment.id, (shipment, []))[1].append((name, quantity))
    return {order_id: list(shipments.values()) for order_id, shipments in packages.items()}


def build_payloads(payments: Sequence[Payment], now: datetime) -> dict[int, dict[str, Any]]:
    """The upload_shipping_info body of each payment's order, by payment id."""
    order_ids = [payment.order_id for payment in payments]
    orders = {
        row.id: row
        for row in db.session.execute(
            select(Order.id, Order.status, Order.receiver_phone).where(Order.id.in_(order_ids))
        )
    }
    packages = _packages(order_ids)
    return {
        payment.id: _payload(
            payment,
            packages.get(payment.order_id, []),
            all_delivered=orders[payment.order_id].status != OrderStatus.PAID,
            phone=orders[payment.order_id].receiver_phone,
            now=now,
        )
        for payment in payments
    }


def build_payload(payment: Payment, now: datetime) -> dict[str, Any]:
    """The upload_shipping_info body for every shipment of the payment's order."""
    return build_payloads([payment], now)[payment.id]


def _payload(
    payment: Payment, packages: list[Package], all_delivered: bool, phone: str, now: datetime
) -> dict[str, Any]:
    kind = packages[0][0].kind if packages else ShipmentKind.EXPRESS
    shipping_list: list[dict[str, Any]] = []
    for shipment, lines in packages:
        entry: dict[str, Any] = {"item_desc": item_desc(lines)}
        if kind == ShipmentKind.EXPRESS:
            entry["tracking_no"] = shipment.tracking_no
            entry["express_company"] = shipment.delivery_id
            if shipment.delivery_id == "SF":
                entry["contact"] = {"receiver_contact": mask_phone(phone)}
        shipping_list.append(entry)
    mode = UNIFIED if len(packages) == 1 and all_delivered else SPLIT
    payload: dict[str, Any] = {
        "order_key": order_key(payment),
        "logistics_type": LOGISTICS_TYPE[kind],
        "delivery_mode": mode,
        "shipping_list": shipping_list,
        "upload_time": wechat_time(now),
        "payer": {"openid": payment.payer_id or ""},
    }
    if mode == SPLIT:
        payload["is_all_delivered"] = all_delivered
    return payload
