"""A customer's figures under concurrency: refunds of many of one buyer's orders at once
(each moving the same customer row inside its refund's transaction) leave the figures the
orders say, and reconcile clean. Runs on SQLite and, in CI, on MariaDB."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from payments.emulator import EmulatorServer
from tests.shop import login, make_product, pay_order, storm, wait_for_status
from tests.test_withdrawals import clean
from wxdist.core.extensions import db
from wxdist.customers import listing, stats
from wxdist.shop.refunds import request_refund


def test_concurrent_refunds_of_one_buyer_keep_the_figures_right(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    headers = login(client, "many-refunds")
    buyer = client.get("/api/v1/me", headers=headers).get_json()["id"]
    product = make_product(app, price_fen=3000, stock=50)
    orders = [pay_order(client, emulator.url, headers, product["sku_id"]) for _ in range(8)]
    run_jobs()

    def refund(i: int) -> int:
        with app.app_context():
            amount = 3000 if i % 2 == 0 else 1000  # half wholly, half in part
            request_refund(orders[i]["id"], amount, "并发退款")
            db.session.remove()
            return amount

    refunded = sum(storm(8, refund))
    for i, order in enumerate(orders):
        wait_for_status(client, headers, order["id"], "refunded" if i % 2 == 0 else "paid")
    with app.app_context():
        row = listing.detail(buyer).row  # type: ignore[union-attr]
        assert (row.orders, row.spend_fen) == (4, 8 * 3000 - refunded)
        assert stats.check() == []
    clean(app)
