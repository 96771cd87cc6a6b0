"""A purchase paid with Alipay (H5): alipay-sdk-python against the emulator."""

from __future__ import annotations

from typing import Any

import requests
from flask import Flask
from flask.testing import FlaskClient

from payments.emulator import EmulatorServer
from payments.emulator.alipay import sign_notify
from tests.shop import emulator_pay, get_order, login, make_product, place_order, start_pay
from wxdist.core.extensions import db
from wxdist.models import Order, Payment
from wxdist.shop.refunds import request_refund


def _opened_alipay_order(client: FlaskClient, app: Flask, price_fen: int = 1234):
    product = make_product(app, price_fen=price_fen)
    headers = login(client)
    order = place_order(client, headers, product["sku_id"])
    pay = start_pay(client, headers, order["id"], channel="alipay")
    cashier = requests.get(pay["alipay_url"], timeout=10)  # the shopper opens the cashier
    assert cashier.status_code == 200
    return headers, order, pay


def _notify(app: Flask, out_trade_no: str, amount: str, **overrides: Any) -> dict[str, str]:
    fields = {
        "notify_time": "2026-11-26 12:00:00",
        "notify_type": "trade_status_sync",
        "notify_id": "ac05099524730693a8b330c5ecf72da9786",
        "app_id": app.config["ALIPAY_APP_ID"],
        "charset": "utf-8",
        "version": "1.0",
        "trade_no": "2026112622001400000000000042",
        "out_trade_no": out_trade_no,
        "trade_status": "TRADE_SUCCESS",
        "total_amount": amount,
        "receipt_amount": amount,
        "buyer_id": "2088000000000042",
    }
    fields.update(overrides)
    return sign_notify(fields, app.config["EMULATOR_ALIPAY_PRIVATE_KEY"])


def _post(app: Flask, form: dict[str, str] | list[tuple[str, str]]) -> requests.Response:
    return requests.post(f"{app.config['LIVE_URL']}/notify/alipay", data=form, timeout=10)


def _state(app: Flask, order_id: int) -> tuple[str, int, int]:
    with app.app_context():
        order = db.session.get(Order, order_id)
        paid = db.session.query(Payment).filter_by(order_id=order_id, status="paid").count()
        return order.status, order.paid_fen, paid


def test_alipay_purchase_is_paid_once_despite_duplicate_notifies(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    headers, order, pay = _opened_alipay_order(client, app)
    assert pay["alipay_url"].startswith(emulator.url + "/gateway.do?")
    result = emulator_pay(emulator.url, "alipay", pay["out_trade_no"])
    assert result["notify_status"] == 200 and result["notify_response"] == "success"
    for _ in range(2):
        again = requests.post(
            f"{emulator.url}/_emulator/alipay/notify",
            json={"out_trade_no": pay["out_trade_no"]},
            timeout=10,
        ).json()
        assert again["notify_response"] == "success"
    paid = get_order(client, headers, order["id"])
    assert paid["status"] == "paid" and paid["paid_fen"] == 1234 and paid["pay_channel"] == "alipay"
    assert _state(app, order["id"]) == ("paid", 1234, 1)


def test_forged_alipay_notifies_change_nothing(client: FlaskClient, app: Flask) -> None:
    _, order, pay = _opened_alipay_order(client, app)
    out_trade_no = pay["out_trade_no"]
    from config import _read_key_file

    app_key = _read_key_file("alipay_app_private.pem")  # a real key, but not Alipay's
    genuine = _notify(app, out_trade_no, "12.34")
    cases = {
        "signed by another key": sign_notify(dict(genuine), app_key),
        "changed amount": _notify(app, out_trade_no, "0.01"),
        "amount edited after signing": {**genuine, "total_amount": "0.01"},
        "other app_id": _notify(app, out_trade_no, "12.34", app_id="2021999999999999"),
        "unknown order": _notify(app, "20990101000000000000A", "12.34"),
        "no sign": {k: v for k, v in genuine.items() if k != "sign"},
        "bad amount": _notify(app, out_trade_no, "12.345"),
        "empty": {},
        # A field given twice is refused, whichever copy is the signed one.
        "repeated amount after": [*genuine.items(), ("total_amount", "0.01")],
        "repeated amount before": [("total_amount", "0.01"), *genuine.items()],
        "repeated trade_status": [*genuine.items(), ("trade_status", "TRADE_CLOSED")],
        "repeated empty field": [*genuine.items(), ("out_trade_no", "")],
    }
    for name, form in cases.items():
        response = _post(app, form)
        assert response.status_code >= 400 and response.text == "fail", name
    assert _state(app, order["id"]) == ("pending_payment", 0, 0)
    assert _post(app, genuine).text == "success"
    assert _state(app, order["id"]) == ("paid", 1234, 1)


def test_alipay_refund_settles_synchronously_and_idempotently(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    headers, order, pay = _opened_alipay_order(client, app, price_fen=5000)
    emulator_pay(emulator.url, "alipay", pay["out_trade_no"])
    with app.app_context():
        part = request_refund(order["id"], 2000, "部分退款")
        assert part.status == "succeeded"
    assert get_order(client, headers, order["id"])["status"] == "paid"
    with app.app_context():
        request_refund(order["id"], 3000, "余款")
    final = get_order(client, headers, order["id"])
    assert final["status"] == "refunded" and final["refunded_fen"] == 5000
    trade = requests.get(
        f"{emulator.url}/_emulator/alipay/trades/{pay['out_trade_no']}", timeout=5
    ).json()
    refunded = trade.get("refunded_fen", trade.get("refunded"))
    assert refunded in (5000, "50.00")
