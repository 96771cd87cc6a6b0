"""The sold-out flag and the late payment of a flash-sale order.

The flag: once the database finds an activity SKU sold out, the next buyer is answered
from Redis without reading the row (shown by a flag set by hand while stock remains);
an unpaid close clears it once committed. Redis unreachable: buyers are answered from the
database, never oversold. A late payment of a closed flash-sale order takes the activity
stock and quota back when they are there, else it is refunded and everything stays
returned.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from tests.flash_helpers import flash_order, make_activity, stock_left
from tests.shop import emulator_pay, get_order, login, make_product, sku_stock, start_pay
from wxdist.core.extensions import db
from wxdist.marketing.flash_sales import soldout
from wxdist.models import FlashQuota
from wxdist.reporting.reconcile import check_all


def _code(response: Any) -> str:
    return response.get_json()["error"]["code"]


def _bought(app: Flask, activity_id: int) -> list[int]:
    with app.app_context():
        return [q.bought for q in db.session.query(FlashQuota).filter_by(activity_id=activity_id)]


def test_the_flag_answers_first_and_an_unpaid_end_clears_it(
    client: FlaskClient, app: Flask
) -> None:
    if not app.config.get("REDIS_URL"):
        pytest.skip("the sold-out flag lives in Redis: set REDIS_URL")
    product = make_product(app, price_fen=10_000, stock=10)
    sale = make_activity(app, product["sku_id"], stock=2)
    first, second = login(client, "flag-one"), login(client, "flag-two")
    with app.app_context():
        soldout.mark_sold_out(sale["flash_sku_id"], None)
    flagged = flash_order(client, first, sale["flash_sku_id"])
    assert (flagged.status_code, _code(flagged)) == (409, "sold_out")
    assert stock_left(app, sale["flash_sku_id"]) == 2  # the flag answered, not the row
    with app.app_context():
        soldout.clear([sale["flash_sku_id"]])

    order = flash_order(client, first, sale["flash_sku_id"], quantity=1).get_json()
    assert flash_order(client, second, sale["flash_sku_id"]).status_code == 201
    third = login(client, "flag-three")
    assert _code(flash_order(client, third, sale["flash_sku_id"])) == "sold_out"
    with app.app_context():
        assert soldout.is_sold_out(sale["flash_sku_id"])  # set by the database's refusal
    assert client.post(f"/api/v1/orders/{order['id']}/cancel", headers=first).status_code == 200
    with app.app_context():
        assert not soldout.is_sold_out(sale["flash_sku_id"])  # cleared after the commit
    assert flash_order(client, third, sale["flash_sku_id"]).status_code == 201


def test_redis_unreachable_the_database_answers(
    client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not app.config["INLINE_JOBS"]:
        pytest.skip("a dead REDIS_URL would also stop this app's queues")
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    product = make_product(app, price_fen=10_000, stock=10)
    sale = make_activity(app, product["sku_id"], stock=2)
    answers = [
        flash_order(client, login(client, f"dead-redis-{i}"), sale["flash_sku_id"])
        for i in range(4)
    ]
    assert [r.status_code for r in answers] == [201, 201, 409, 409]
    assert {_code(r) for r in answers[2:]} == {"sold_out"}
    assert stock_left(app, sale["flash_sku_id"]) == 0
    with app.app_context():
        assert check_all() == []


def _closed_then_paid_late(
    client: FlaskClient, app: Flask, emulator: Any, taken_meanwhile: bool
) -> tuple[dict[str, Any], dict[str, str], dict[str, int], dict[str, int]]:
    product = make_product(app, price_fen=10_000, stock=5)
    sale = make_activity(app, product["sku_id"], stock=1)
    headers = login(client, f"late-{taken_meanwhile}")
    order = flash_order(client, headers, sale["flash_sku_id"]).get_json()
    pay = start_pay(client, headers, order["id"], channel="alipay")
    assert client.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers).status_code == 200
    assert stock_left(app, sale["flash_sku_id"]) == 1
    if taken_meanwhile:
        other = login(client, f"late-other-{taken_meanwhile}")
        assert flash_order(client, other, sale["flash_sku_id"]).status_code == 201
    requests.get(pay["alipay_url"], timeout=5)
    emulator_pay(emulator.url, "alipay", pay["out_trade_no"])
    return order, headers, sale, product


def test_a_late_payment_takes_the_activity_stock_and_quota_again(
    client: FlaskClient, app: Flask, emulator: Any
) -> None:
    order, headers, sale, product = _closed_then_paid_late(client, app, emulator, False)
    assert get_order(client, headers, order["id"])["status"] == "paid"
    assert stock_left(app, sale["flash_sku_id"]) == 0
    assert _bought(app, sale["activity_id"]) == [1]
    assert sku_stock(app, product["sku_id"]) == 4
    with app.app_context():
        assert check_all() == []


def test_a_late_payment_without_activity_stock_is_refunded(
    client: FlaskClient, app: Flask, emulator: Any, run_jobs: Any
) -> None:
    order, headers, sale, product = _closed_then_paid_late(client, app, emulator, True)
    run_jobs()
    assert get_order(client, headers, order["id"])["status"] == "cancelled"
    assert stock_left(app, sale["flash_sku_id"]) == 0  # the other buyer's
    assert sku_stock(app, product["sku_id"]) == 4  # only the other order's unit is out
    assert sorted(_bought(app, sale["activity_id"])) == [0, 1]
    with app.app_context():
        assert check_all() == []
