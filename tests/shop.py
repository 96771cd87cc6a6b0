"""Helpers that act as a shopper through the HTTP API (and as WeChat through the emulator)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import requests
from flask import Flask
from flask.testing import FlaskClient

from wxdist.core.extensions import db
from wxdist.models import Category, Product, ProductImage, Sku
from wxdist.models.types import utcnow

ADDRESS = {
    "name": "李四",
    "phone": "13900139000",
    "region": "上海市 浦东新区",
    "detail": "世纪大道 100 号",
}


def make_product(
    app: Flask,
    *,
    price_fen: int = 1990,
    stock: int = 10,
    on_shelf: bool = True,
    title: str = "测试商品",
    category: str | None = None,
    skus: int = 1,
) -> dict[str, Any]:
    """Create a product (what the merchant panel will do) and return its ids."""
    with app.app_context():
        category_id = None
        if category:
            cat = Category(name=category)
            db.session.add(cat)
            db.session.flush()
            category_id = cat.id
        product = Product(
            title=title,
            category_id=category_id,
            on_shelf=on_shelf,
            images=[ProductImage(url="https://img.example/p.jpg")],
            skus=[Sku(name=f"规格{i + 1}", price_fen=price_fen, stock=stock) for i in range(skus)],
        )
        db.session.add(product)
        db.session.commit()
        return {
            "product_id": product.id,
            "sku_id": product.skus[0].id,
            "sku_ids": [s.id for s in product.skus],
            "category_id": category_id,
        }


def login(client: FlaskClient, code: str = "shopper-1", **extra: Any) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"code": code, **extra})
    assert response.status_code in (200, 201), response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def place_order(
    client: FlaskClient, headers: dict[str, str], sku_id: int, quantity: int = 1
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/orders",
        json={"items": [{"sku_id": sku_id, "quantity": quantity}], "address": ADDRESS},
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def start_pay(
    client: FlaskClient, headers: dict[str, str], order_id: int, channel: str = "wechat"
) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/orders/{order_id}/pay", json={"channel": channel}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def emulator_pay(
    emulator_url: str, channel: str, out_trade_no: str, notify: bool = True
) -> dict[str, Any]:
    """The shopper pays; the emulator posts the signed notify to the app."""
    response = requests.post(
        f"{emulator_url}/_emulator/{channel}/pay",
        json={"out_trade_no": out_trade_no, "notify": notify},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def get_order(client: FlaskClient, headers: dict[str, str], order_id: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/orders/{order_id}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def sku_stock(app: Flask, sku_id: int) -> int:
    with app.app_context():
        return db.session.get(Sku, sku_id).stock


def become_distributor(client: FlaskClient, code: str, **application: Any) -> dict[str, Any]:
    """Log in and apply; returns the headers, the user id and the centre overview."""
    headers = login(client, code)
    body = {"real_name": "王五", "phone": "13700137000", **application}
    response = client.post("/api/v1/distributor/application", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    me = client.get("/api/v1/me", headers=headers).get_json()
    return {"headers": headers, "user_id": me["id"], "centre": response.get_json()}


def set_settings(app: Flask, **changes: Any) -> None:
    """What the merchant panel (and `flask settings set`) does."""
    from wxdist.distribution.settings import update_settings

    with app.app_context():
        update_settings(**changes)


def pay_order(
    client: FlaskClient, emulator_url: str, headers: dict[str, str], sku_id: int, quantity: int = 1
) -> dict[str, Any]:
    """Order and pay with WeChat through the emulator; returns the paid order."""
    order = place_order(client, headers, sku_id, quantity)
    pay = start_pay(client, headers, order["id"])
    emulator_pay(emulator_url, "wechat", pay["out_trade_no"])
    return {**get_order(client, headers, order["id"]), "out_trade_no": pay["out_trade_no"]}


def centre(client: FlaskClient, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get("/api/v1/distributor", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def wait_for_status(
    client: FlaskClient, headers: dict[str, str], order_id: int, status: str, seconds: float = 10
) -> dict[str, Any]:
    """Poll the order until it reaches `status` (a gateway notify arrives asynchronously)."""
    import time

    deadline = time.monotonic() + seconds
    while True:
        order = get_order(client, headers, order_id)
        if order["status"] == status or time.monotonic() > deadline:
            assert order["status"] == status, order["status"]
            return order
        time.sleep(0.05)


def storm(n: int, call: Callable[[int], Any]) -> list[Any]:
    """Run `call(i)` in n threads released at the same instant."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait()
        return call(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def fund(
    client: FlaskClient, app: Flask, emulator: Any, run_jobs: Any, code: str, fen: int
) -> dict:
    """A distributor with `fen` available, earned the real way: a referred purchase at 10 %,
    received, and settled after the freeze."""
    from wxdist.distribution import settlement
    from wxdist.shop.shipments import ship_whole_order

    set_settings(app, level1_rate_bp=1000, level2_rate_bp=0, freeze_days=0)
    distributor = become_distributor(client, code)
    buyer = login(client, f"{code}-buyer", scene=distributor["centre"]["scene"])
    product = make_product(app, price_fen=fen * 10, stock=1)
    order = pay_order(client, emulator.url, buyer, product["sku_id"])
    run_jobs()  # attribution
    with app.app_context():
        ship_whole_order(order["id"], "SF", "SF")
    client.post(f"/api/v1/orders/{order['id']}/confirm-receipt", headers=buyer)
    with app.app_context():
        settlement.settle_due(utcnow() + timedelta(seconds=1))
    assert centre(client, distributor["headers"])["balances"]["available_fen"] == fen
    return distributor


def withdraw(client: FlaskClient, who: dict, amount: int, method: str = "wechat", **account: Any):
    return client.post(
        "/api/v1/distributor/withdrawals",
        json={"amount_fen": amount, "method": method, "account": account},
        headers=who["headers"],
    )
