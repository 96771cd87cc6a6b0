"""Helpers for after-sales tests: an order paid through the emulator (then shipped and
completed through the shop's own services), applying through the API, and settling the
emulator's refunds by their notify."""

from __future__ import annotations

from typing import Any

import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from payments.emulator import EmulatorServer
from tests.shop import get_order, login, make_product, pay_order
from wxdist.core.extensions import db
from wxdist.models import Refund, RefundStatus
from wxdist.shop import shipments


def bought(
    client: FlaskClient,
    app: Flask,
    emulator: EmulatorServer,
    code: str = "after-1",
    *,
    price_fen: int = 2500,
    quantity: int = 2,
    stage: str = "paid",  # paid | shipped | completed
) -> dict[str, Any]:
    """A shopper's paid order of one line; returns headers, order, item id and sku id."""
    headers = login(client, code)
    product = make_product(app, price_fen=price_fen, stock=50)
    order = pay_order(client, emulator.url, headers, product["sku_id"], quantity)
    if stage in ("shipped", "completed"):
        with app.app_context():
            shipments.ship_whole_order(order["id"], "SF", "SF1234567890")
    if stage == "completed":
        response = client.post(f"/api/v1/orders/{order['id']}/confirm-receipt", headers=headers)
        assert response.status_code == 200, response.get_json()
    order = get_order(client, headers, order["id"])
    return {
        "headers": headers,
        "order": order,
        "item_id": order["items"][0]["id"],
        "sku_id": product["sku_id"],
    }


def apply(client: FlaskClient, bought_: dict[str, Any], **fields: Any) -> Any:
    data = {
        "order_item_id": bought_["item_id"],
        "kind": "refund_only",
        "quantity": 1,
        "amount_fen": 1000,
        "reason_code": "damaged",
        "description": "外包装破损",
        **fields,
    }
    return client.post("/api/v1/aftersales", json=data, headers=bought_["headers"])


def manual_refunds(emulator: EmulatorServer) -> None:
    """Refunds wait for `settle_refunds` instead of settling by themselves."""
    requests.post(
        f"{emulator.url}/_emulator/wechat/config", json={"auto_refund_notify": False}, timeout=5
    )


def settle_refunds(app: Flask, emulator: EmulatorServer) -> int:
    """The emulator settles every refund still processing and posts its notify."""
    with app.app_context():
        numbers = db.session.scalars(
            select(Refund.out_refund_no).where(Refund.status == RefundStatus.PROCESSING)
        ).all()
    for number in numbers:
        response = requests.post(
            f"{emulator.url}/_emulator/wechat/settle-refund",
            json={"out_refund_no": number},
            timeout=10,
        )
        assert response.status_code == 200, response.text
    return len(numbers)
