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
from wxdist.core.extensions import db
from wxdist.models import Order, Payment, Refund
from wxdist.reporting.reconcile import check_all

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


def test_two_refunds_of_one_order_at_once_make_one_refund(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    """Two staff (or a double click) refund the same paid order at the same instant: one
    refund is made, the other is told the order is already being refunded."""
    from wxdist.core.errors import Conflict
    from wxdist.shop.refunds import request_refund

    requests.post(  # keep refunds processing: the race is on requesting them
        f"{emulator.url}/_emulator/wechat/config", json={"auto_refund_notify": False}, timeout=5
    )
    product = make_product(app, price_fen=3000, stock=ROUNDS)
    headers = login(client)
    for _ in range(ROUNDS):
        order = place_order(client, headers, product["sku_id"])
        pay = start_pay(client, headers, order["id"])
        emulator_pay(emulator.url, "wechat", pay["out_trade_no"])

        def refund(_: int, order_id: int = order["id"]) -> str:
            with app.app_context():
                try:
                    request_refund(order_id, 3000, "重复点击")
                except Conflict as exc:
                    return exc.code
                return "refunded"

        assert sorted(storm(2, refund)) == ["invalid_status", "refunded"]
        with app.app_context():
            refunds = db.session.scalars(select(Refund).where(Refund.order_id == order["id"]))
            assert [r.amount_fen for r in refunds] == [3000]
            assert db.session.get(Order, order["id"]).status == "refunding"


def test_a_second_payment_refunded_by_two_jobs_at_once_is_refunded_once(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    """The refund job of a payment the order could not take runs twice at once (a retry
    beside the first try): one refund row, refunded once, neither run fails."""
    from wxdist.shop.refunds import refund_orphan_payment

    product = make_product(app, price_fen=1800, stock=ROUNDS)
    headers = login(client)
    for _ in range(ROUNDS):
        order = place_order(client, headers, product["sku_id"])
        wechat = start_pay(client, headers, order["id"], channel="wechat")
        alipay = start_pay(client, headers, order["id"], channel="alipay")
        assert requests.get(alipay["alipay_url"], timeout=10).status_code == 200
        emulator_pay(emulator.url, "wechat", wechat["out_trade_no"])
        paid = emulator_pay(emulator.url, "alipay", alipay["out_trade_no"], notify=False)
        with app.app_context():  # what apply_payment leaves before the refund job runs
            payment = db.session.scalars(
                select(Payment).where(Payment.out_trade_no == alipay["out_trade_no"])
            ).one()
            payment.status, payment.transaction_id = "paid", paid["trade_no"]
            db.session.commit()
            payment_id = payment.id

        def job(_: int, payment_id: int = payment_id) -> None:
            with app.app_context():
                refund_orphan_payment(payment_id)

        storm(2, job)
        with app.app_context():
            refunds = db.session.scalars(select(Refund).where(Refund.payment_id == payment_id))
            assert [(r.amount_fen, r.status) for r in refunds] == [(1800, "succeeded")]
            assert db.session.get(Payment, payment_id).refunded_fen == 1800
        trade = requests.get(
            f"{emulator.url}/_emulator/alipay/trades/{alipay['out_trade_no']}", timeout=5
        ).json()
        assert trade["refunded_fen"] == 1800
    with app.app_context():
        assert check_all() == []
