"""Concurrency over real HTTP (threaded server, one connection per client): no overselling,
one payment per notify storm. Runs on SQLite and, in CI, on MariaDB."""

from __future__ import annotations

from collections import Counter

import requests
from flask import Flask
from flask.testing import FlaskClient

from config import DEV_WECHAT_PAY_API_KEY
from payments.emulator.wechat import sign_notify
from tests.shop import ADDRESS, login, make_product, place_order, sku_stock, start_pay, storm
from wxdist.core.extensions import db
from wxdist.models import Order, Payment


def test_fifty_concurrent_orders_for_ten_in_stock_sell_exactly_ten(
    client: FlaskClient, app: Flask
) -> None:
    product = make_product(app, stock=10)
    tokens = [login(client, f"buyer-{i}") for i in range(50)]
    url = f"{app.config['LIVE_URL']}/api/v1/orders"

    def order(i: int) -> int:
        with requests.Session() as http:
            response = http.post(
                url,
                json={"items": [{"sku_id": product["sku_id"], "quantity": 1}], "address": ADDRESS},
                headers=tokens[i],
                timeout=60,
            )
        return response.status_code

    statuses = Counter(storm(50, order))
    assert statuses == {201: 10, 409: 40}
    assert sku_stock(app, product["sku_id"]) == 0
    with app.app_context():
        assert db.session.query(Order).count() == 10


def test_twenty_copies_of_one_notify_record_one_payment_and_all_get_success(
    client: FlaskClient, app: Flask
) -> None:
    product = make_product(app, price_fen=4200)
    headers = login(client)
    order = place_order(client, headers, product["sku_id"])
    pay = start_pay(client, headers, order["id"])
    body = sign_notify(
        {
            "return_code": "SUCCESS",
            "result_code": "SUCCESS",
            "appid": app.config["WECHAT_APPID"],
            "mch_id": app.config["WECHAT_MCH_ID"],
            "nonce_str": "storm",
            "openid": "oStorm",
            "out_trade_no": pay["out_trade_no"],
            "transaction_id": "4200000000202611260000000777",
            "total_fee": "4200",
            "cash_fee": "4200",
            "fee_type": "CNY",
            "bank_type": "OTHERS",
            "trade_type": "JSAPI",
            "time_end": "20261126120000",
        },
        DEV_WECHAT_PAY_API_KEY,
    )
    url = f"{app.config['LIVE_URL']}/notify/wechat/pay"

    def notify(_: int) -> tuple[int, bool]:
        response = requests.post(url, data=body, timeout=60)
        return (
            response.status_code,
            "<return_code><![CDATA[SUCCESS]]></return_code>" in response.text,
        )

    answers = storm(20, notify)
    assert answers == [(200, True)] * 20
    with app.app_context():
        payments = db.session.query(Payment).filter_by(order_id=order["id"]).all()
        assert [(p.status, p.transaction_id) for p in payments] == [
            ("paid", "4200000000202611260000000777")
        ]
        paid = db.session.get(Order, order["id"])
        assert paid.status == "paid" and paid.paid_fen == 4200


def test_concurrent_pay_requests_open_one_payment(client: FlaskClient, app: Flask) -> None:
    product = make_product(app)
    headers = login(client)
    order = place_order(client, headers, product["sku_id"])
    url = f"{app.config['LIVE_URL']}/api/v1/orders/{order['id']}/pay"

    def pay(_: int) -> str:
        response = requests.post(url, json={"channel": "wechat"}, headers=headers, timeout=60)
        assert response.status_code == 200, response.text
        return response.json()["wechat"]["package"]

    packages = set(storm(10, pay))
    assert len(packages) == 1
    with app.app_context():
        assert db.session.query(Payment).filter_by(order_id=order["id"]).count() == 1
