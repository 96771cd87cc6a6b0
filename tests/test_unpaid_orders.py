"""Unpaid orders: the closing sweep asks the gateway first, cancel checks it too, and a
payment that arrives for an order that cannot take it is refunded, never lost."""

from __future__ import annotations

from datetime import timedelta

import requests
from flask import Flask
from flask.testing import FlaskClient

from payments.emulator import EmulatorServer
from tests.shop import (
    emulator_pay,
    get_order,
    login,
    make_product,
    place_order,
    sku_stock,
    start_pay,
)
from wxdist.core.extensions import db
from wxdist.models import Order, Payment, Refund
from wxdist.models.types import utcnow
from wxdist.shop.payment_flow import close_expired_orders


def _expire(app: Flask, order_id: int) -> None:
    with app.app_context():
        order = db.session.get(Order, order_id)
        order.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()


def _sweep(app: Flask) -> dict[str, int]:
    with app.app_context():
        return close_expired_orders()


def _trade(emulator: EmulatorServer, channel: str, out_trade_no: str) -> dict:
    return requests.get(
        f"{emulator.url}/_emulator/{channel}/trades/{out_trade_no}", timeout=5
    ).json()


def test_sweep_closes_expired_orders_at_the_gateway_and_releases_stock(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    product = make_product(app, stock=4)
    headers = login(client)
    order = place_order(client, headers, product["sku_id"], quantity=3)
    fresh = place_order(client, headers, product["sku_id"], quantity=1)
    pay = start_pay(client, headers, order["id"])
    _expire(app, order["id"])

    assert _sweep(app) == {"closed": 1, "paid_late": 0, "unreachable": 0}
    assert get_order(client, headers, order["id"])["status"] == "closed"
    assert get_order(client, headers, fresh["id"])["status"] == "pending_payment"
    assert sku_stock(app, product["sku_id"]) == 3  # 3 back, 1 still held by the fresh order
    assert _trade(emulator, "wechat", pay["out_trade_no"])["state"] == "CLOSED"
    late = requests.post(
        f"{emulator.url}/_emulator/wechat/pay",
        json={"out_trade_no": pay["out_trade_no"]},
        timeout=5,
    )
    assert late.status_code == 409  # WeChat no longer takes money for it
    assert _sweep(app)["closed"] == 0  # nothing twice
    assert sku_stock(app, product["sku_id"]) == 3


def test_sweep_finds_a_payment_whose_notify_never_came(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    product = make_product(app, price_fen=880)
    headers = login(client)
    wechat_order = place_order(client, headers, product["sku_id"])
    alipay_order = place_order(client, headers, product["sku_id"])
    wechat_pay = start_pay(client, headers, wechat_order["id"])
    alipay_pay = start_pay(client, headers, alipay_order["id"], channel="alipay")
    requests.get(alipay_pay["alipay_url"], timeout=5)
    emulator_pay(emulator.url, "wechat", wechat_pay["out_trade_no"], notify=False)
    emulator_pay(emulator.url, "alipay", alipay_pay["out_trade_no"], notify=False)
    _expire(app, wechat_order["id"])
    _expire(app, alipay_order["id"])

    assert _sweep(app) == {"closed": 0, "paid_late": 2, "unreachable": 0}
    for order in (wechat_order, alipay_order):
        paid = get_order(client, headers, order["id"])
        assert paid["status"] == "paid" and paid["paid_fen"] == 880


def test_an_unreachable_gateway_keeps_the_order_open_until_it_answers(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    product = make_product(app, stock=2)
    headers = login(client)
    order = place_order(client, headers, product["sku_id"])
    start_pay(client, headers, order["id"])
    _expire(app, order["id"])
    requests.post(
        f"{emulator.url}/_emulator/faults",
        json={"key": "/pay/orderquery", "mode": "error500", "times": 1},
        timeout=5,
    )
    assert _sweep(app) == {"closed": 0, "paid_late": 0, "unreachable": 1}
    assert get_order(client, headers, order["id"])["status"] == "pending_payment"
    assert sku_stock(app, product["sku_id"]) == 1
    assert _sweep(app)["closed"] == 1
    assert sku_stock(app, product["sku_id"]) == 2


def test_cancel_finds_the_payment_instead_of_cancelling(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    product = make_product(app)
    headers = login(client)
    order = place_order(client, headers, product["sku_id"])
    pay = start_pay(client, headers, order["id"])
    emulator_pay(emulator.url, "wechat", pay["out_trade_no"], notify=False)
    response = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers)
    assert response.status_code == 409
    assert get_order(client, headers, order["id"])["status"] == "paid"


def test_a_late_payment_revives_the_order_when_stock_allows(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    product = make_product(app, stock=1)
    headers = login(client)
    order = place_order(client, headers, product["sku_id"])
    pay = start_pay(client, headers, order["id"], channel="alipay")
    # Cancelled before the shopper opened the cashier: Alipay has no trade to close yet.
    assert client.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers).status_code == 200
    assert sku_stock(app, product["sku_id"]) == 1
    requests.get(pay["alipay_url"], timeout=5)  # ...then the shopper opens it and pays
    emulator_pay(emulator.url, "alipay", pay["out_trade_no"])
    revived = get_order(client, headers, order["id"])
    assert revived["status"] == "paid" and revived["paid_fen"] == 1990
    assert sku_stock(app, product["sku_id"]) == 0


def test_a_payment_the_order_cannot_take_is_refunded(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    product = make_product(app, stock=1)
    headers = login(client)
    order = place_order(client, headers, product["sku_id"])
    pay = start_pay(client, headers, order["id"], channel="alipay")
    client.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers)
    other = place_order(client, login(client, "someone-else"), product["sku_id"])  # stock gone
    assert other["status"] == "pending_payment"
    requests.get(pay["alipay_url"], timeout=5)
    result = emulator_pay(emulator.url, "alipay", pay["out_trade_no"])
    assert result["notify_response"] == "success"  # recorded, so Alipay stops notifying
    run_jobs()
    assert get_order(client, headers, order["id"])["status"] == "cancelled"
    with app.app_context():
        payment = db.session.query(Payment).filter_by(out_trade_no=pay["out_trade_no"]).one()
        refund = db.session.query(Refund).filter_by(payment_id=payment.id).one()
        assert payment.status == "paid" and refund.status == "succeeded"
        assert refund.amount_fen == payment.amount_fen == payment.refunded_fen
    assert _trade(emulator, "alipay", pay["out_trade_no"])["trade_status"] == "TRADE_CLOSED"


def test_paying_twice_through_both_channels_refunds_the_second(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    product = make_product(app, price_fen=500)
    headers = login(client)
    order = place_order(client, headers, product["sku_id"])
    wechat = start_pay(client, headers, order["id"])
    alipay = start_pay(client, headers, order["id"], channel="alipay")
    requests.get(alipay["alipay_url"], timeout=5)
    emulator_pay(emulator.url, "wechat", wechat["out_trade_no"])
    emulator_pay(emulator.url, "alipay", alipay["out_trade_no"])
    run_jobs()
    final = get_order(client, headers, order["id"])
    assert (
        final["status"] == "paid" and final["pay_channel"] == "wechat" and final["paid_fen"] == 500
    )
    with app.app_context():
        refunds = db.session.query(Refund).all()
        assert [(r.amount_fen, r.status) for r in refunds] == [(500, "succeeded")]
        assert db.session.get(Payment, refunds[0].payment_id).channel == "alipay"
