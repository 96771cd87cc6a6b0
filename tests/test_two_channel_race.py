"""An order paid through both channels at the same instant: the order keeps one payment and
the other is refunded, on SQLite (no row locks) as on MariaDB. Real SDKs, the emulator's
signed notifies over HTTP, real SQL, real RQ when REDIS_URL is set."""

from __future__ import annotations

from collections.abc import Callable

import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from payments.emulator import EmulatorServer
from tests.shop import emulator_pay, login, make_product, place_order, start_pay, storm
from wxdist.extensions import db
from wxdist.models import Order, Payment, Refund
from wxdist.reconcile import check_all

ROUNDS = 12


def _notify(emulator_url: str, channel: str, out_trade_no: str) -> requests.Response:
    """The gateway posts its signed notify (again) to the app; answers the app's reply."""
    return requests.post(
        f"{emulator_url}/_emulator/{channel}/notify",
        json={"out_trade_no": out_trade_no},
        timeout=60,
    )


def test_both_channels_paid_at_once_keep_one_payment_and_refund_the_other(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Callable[[], int]
) -> None:
    product = make_product(app, price_fen=2600, stock=ROUNDS)
    headers = login(client)
    orders: list[int] = []
    for _ in range(ROUNDS):
        order = place_order(client, headers, product["sku_id"])
        wechat = start_pay(client, headers, order["id"], channel="wechat")
        alipay = start_pay(client, headers, order["id"], channel="alipay")
        assert requests.get(alipay["alipay_url"], timeout=10).status_code == 200  # cashier
        trades = {"wechat": wechat["out_trade_no"], "alipay": alipay["out_trade_no"]}
        for channel, out_trade_no in trades.items():  # the shopper pays twice
            emulator_pay(emulator.url, channel, out_trade_no, notify=False)

        pairs = list(trades.items())
        answers = storm(2, lambda i, pairs=pairs: _notify(emulator.url, *pairs[i]))
        for answer in answers:  # both notifies are acknowledged: neither is sent again
            assert answer.status_code == 200, answer.text
            assert answer.json()["notify_status"] == 200, answer.json()
        orders.append(order["id"])
    run_jobs()

    with app.app_context():
        for order_id in orders:
            order = db.session.get(Order, order_id)
            assert order.status == "paid" and order.paid_fen == 2600
            payments = db.session.scalars(select(Payment).where(Payment.order_id == order_id))
            by_channel = {p.channel: p for p in payments}
            assert {p.status for p in by_channel.values()} == {"paid"}
            kept = by_channel[order.pay_channel]
            other = by_channel["alipay" if order.pay_channel == "wechat" else "wechat"]
            refunds = db.session.scalars(select(Refund).where(Refund.order_id == order_id)).all()
            assert [(r.payment_id, r.amount_fen) for r in refunds] == [(other.id, 2600)], (
                f"order {order_id}: the second payment ({other.channel}) is not refunded"
            )
            assert refunds[0].status in ("processing", "succeeded")
            assert kept.refunded_fen == 0
        assert check_all() == []
