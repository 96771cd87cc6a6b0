"""Flash sales (issue 17): the activity price alone (no discount, no reduction, a coupon
only if the activity allows), the per-order and per-user limits, slots, the activity
stock taken with the order and given back (stock and quota) when an unpaid order ends,
commission per the activity, and reconcile."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from tests.flash_helpers import flash_order, make_activity, stock_left
from tests.shop import (
    become_distributor,
    centre,
    emulator_pay,
    get_order,
    login,
    make_product,
    sku_stock,
    start_pay,
)
from wxdist.core.extensions import db
from wxdist.marketing import promotions
from wxdist.marketing.flash_sales.admin import ActivitySpec, SkuSpec, save_activity
from wxdist.models import FlashQuota, FlashSku, Order
from wxdist.models.types import utcnow
from wxdist.reporting.reconcile import check_all
from wxdist.shop.payment_flow import close_expired_orders


def _code(response: Any) -> str:
    return response.get_json()["error"]["code"]


def _quota(app: Flask, activity_id: int) -> list[int]:
    with app.app_context():
        return [q.bought for q in db.session.query(FlashQuota).filter_by(activity_id=activity_id)]


def test_a_flash_order_pays_the_activity_price_alone(client: FlaskClient, app: Flask) -> None:
    product = make_product(app, price_fen=10_000, stock=20)
    sale = make_activity(
        app, product["sku_id"], price_fen=3_000, stock=5, per_order_limit=2, per_user_limit=2
    )
    now = utcnow()
    with app.app_context():  # a limited-time discount on the same SKU does not apply
        promotions.create_timed_discount(
            "限时折扣",
            product["sku_id"],
            now - timedelta(hours=1),
            now + timedelta(hours=1),
            price_fen=8_000,
        )
        db.session.commit()
    headers = login(client, "flash-price")
    response = flash_order(client, headers, sale["flash_sku_id"], quantity=2)
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    assert order["status"] == "pending_payment"
    assert order["goods_fen"] == 20_000
    assert order["payable_fen"] == 6_000  # 2 × ¥30.00, the discount's ¥80.00 ignored
    assert stock_left(app, sale["flash_sku_id"]) == 3
    assert sku_stock(app, product["sku_id"]) == 18  # the SKU's own stock reserved too
    assert _quota(app, sale["activity_id"]) == [2]
    with app.app_context():
        assert check_all() == []
    # The ordinary order of the same SKU still gets the limited-time discount.
    plain = client.post(
        "/api/v1/orders",
        json={
            "items": [{"sku_id": product["sku_id"], "quantity": 1}],
            "address": {
                "name": "李四",
                "phone": "13900139000",
                "region": "上海市",
                "detail": "世纪大道 100 号",
            },
        },
        headers=headers,
    )
    assert plain.get_json()["payable_fen"] == 8_000


def test_expected_payable_is_checked(client: FlaskClient, app: Flask) -> None:
    product = make_product(app, price_fen=10_000)
    sale = make_activity(app, product["sku_id"], price_fen=3_000)
    headers = login(client, "flash-expected")
    response = flash_order(client, headers, sale["flash_sku_id"], expected_payable_fen=10_000)
    assert response.status_code == 409
    assert _code(response) == "price_changed"
    assert response.get_json()["error"]["data"]["payable_fen"] == 3_000
    assert stock_left(app, sale["flash_sku_id"]) == 10


def _coupon(client: FlaskClient, app: Flask, headers: dict[str, str]) -> int:
    """A ¥5.00 coupon (stackable) claimed by the shopper."""
    from wxdist.marketing import templates

    now = utcnow()
    with app.app_context():
        made = templates.create_template(
            templates.TemplateSpec(
                name="立减券",
                claim_starts_at=now - timedelta(days=1),
                claim_ends_at=now + timedelta(days=1),
                total=10,
                off_fen=500,
                valid_from=now - timedelta(days=1),
                valid_until=now + timedelta(days=1),
            )
        )
        db.session.commit()
        template_id = made.id
    claimed = client.post(f"/api/v1/coupons/{template_id}/claim", json={}, headers=headers)
    assert claimed.status_code == 201, claimed.get_json()
    return claimed.get_json()["id"]


def _preview(client: FlaskClient, headers: dict[str, str], flash_sku_id: int, **extra: Any) -> Any:
    return client.post(
        "/api/v1/flash-sales/orders/preview",
        json={"flash_sku_id": flash_sku_id, "quantity": 1, **extra},
        headers=headers,
    )


def test_a_coupon_is_refused_unless_the_activity_allows_it(client: FlaskClient, app: Flask) -> None:
    product = make_product(app, price_fen=10_000)
    closed = make_activity(app, product["sku_id"], price_fen=3_000)
    headers = login(client, "flash-coupon")
    coupon_id = _coupon(client, app, headers)
    shown = _preview(client, headers, closed["flash_sku_id"]).get_json()
    assert (shown["goods_fen"], shown["activity_fen"], shown["payable_fen"]) == (
        10_000,
        7_000,
        3_000,
    )
    assert [(c["coupon_id"], c["usable"], c["reason"]) for c in shown["coupons"]] == [
        (coupon_id, False, "not_stackable")
    ]
    assert shown["suggested_coupon_id"] is None
    refused = flash_order(client, headers, closed["flash_sku_id"], coupon_id=coupon_id)
    assert refused.status_code == 409
    assert _code(refused) == "coupon_unusable"
    assert stock_left(app, closed["flash_sku_id"]) == 10
    assert _quota(app, closed["activity_id"]) == []  # rolled back with the order

    other = make_product(app, price_fen=10_000)
    allowing = make_activity(app, other["sku_id"], price_fen=3_000, coupons_allowed=True)
    offered = _preview(client, headers, allowing["flash_sku_id"], coupon_id=coupon_id).get_json()
    assert (offered["coupon_fen"], offered["payable_fen"]) == (500, 2_500)
    assert offered["suggested_coupon_id"] == coupon_id
    taken = flash_order(
        client, headers, allowing["flash_sku_id"], coupon_id=coupon_id, expected_payable_fen=2_500
    )
    assert taken.status_code == 201, taken.get_json()
    assert taken.get_json()["payable_fen"] == 2_500


def test_limits_slots_and_sold_out(client: FlaskClient, app: Flask) -> None:
    product = make_product(app, price_fen=10_000, stock=50)
    sale = make_activity(app, product["sku_id"], stock=3, per_order_limit=2, per_user_limit=2)
    one, two = login(client, "flash-one"), login(client, "flash-two")
    too_many = flash_order(client, one, sale["flash_sku_id"], quantity=3)
    assert (too_many.status_code, _code(too_many)) == (409, "flash_order_limit")
    assert flash_order(client, one, sale["flash_sku_id"], quantity=2).status_code == 201
    again = flash_order(client, one, sale["flash_sku_id"])
    assert (again.status_code, _code(again)) == (409, "flash_limit_reached")
    assert flash_order(client, two, sale["flash_sku_id"]).status_code == 201
    gone = flash_order(client, two, sale["flash_sku_id"])
    assert (gone.status_code, _code(gone)) == (409, "sold_out")
    assert stock_left(app, sale["flash_sku_id"]) == 0
    assert sorted(_quota(app, sale["activity_id"])) == [1, 2]

    later = make_activity(app, product["sku_id"], started=False, name="明日秒杀")
    early = flash_order(client, two, later["flash_sku_id"])
    assert (early.status_code, _code(early)) == (409, "flash_not_open")
    with app.app_context():
        assert check_all() == []


def test_an_unpaid_close_returns_activity_stock_and_quota(
    client: FlaskClient, app: Flask, emulator: Any
) -> None:
    product = make_product(app, price_fen=10_000, stock=5)
    sale = make_activity(app, product["sku_id"], stock=1)
    first, second = login(client, "flash-closer"), login(client, "flash-waiter")
    order = flash_order(client, first, sale["flash_sku_id"]).get_json()
    start_pay(client, first, order["id"])
    assert _code(flash_order(client, second, sale["flash_sku_id"])) == "sold_out"
    with app.app_context():
        db.session.execute(
            update(Order)
            .where(Order.id == order["id"])
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        db.session.commit()
        assert close_expired_orders()["closed"] == 1
    assert get_order(client, first, order["id"])["status"] == "closed"
    assert stock_left(app, sale["flash_sku_id"]) == 1
    assert sku_stock(app, product["sku_id"]) == 5
    assert _quota(app, sale["activity_id"]) == [0]
    # The unit is for sale again (the sold-out flag, if any, was cleared).
    assert flash_order(client, second, sale["flash_sku_id"]).status_code == 201
    with app.app_context():
        assert check_all() == []


def test_cancel_returns_the_quota(client: FlaskClient, app: Flask) -> None:
    product = make_product(app, price_fen=10_000, stock=5)
    sale = make_activity(app, product["sku_id"], stock=5)
    headers = login(client, "flash-cancel")
    order = flash_order(client, headers, sale["flash_sku_id"]).get_json()
    assert _code(flash_order(client, headers, sale["flash_sku_id"])) == "flash_limit_reached"
    assert client.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers).status_code == 200
    assert stock_left(app, sale["flash_sku_id"]) == 5
    assert flash_order(client, headers, sale["flash_sku_id"]).status_code == 201
    with app.app_context():
        assert check_all() == []


@pytest.mark.parametrize(("mode", "earned"), [("none", 0), ("normal", 300)])
def test_commission_follows_the_activity(
    client: FlaskClient, app: Flask, emulator: Any, run_jobs: Any, mode: str, earned: int
) -> None:
    from tests.shop import set_settings

    set_settings(app, level1_rate_bp=1000, level2_rate_bp=0)
    seller = become_distributor(client, f"flash-seller-{mode}")
    buyer = login(client, f"flash-buyer-{mode}", scene=seller["centre"]["scene"])
    product = make_product(app, price_fen=10_000)
    sale = make_activity(app, product["sku_id"], price_fen=3_000, commission_mode=mode)
    order = flash_order(client, buyer, sale["flash_sku_id"]).get_json()
    pay = start_pay(client, buyer, order["id"])
    emulator_pay(emulator.url, "wechat", pay["out_trade_no"])
    run_jobs()
    assert get_order(client, buyer, order["id"])["status"] == "paid"
    assert centre(client, seller["headers"])["balances"]["frozen_fen"] == earned
    with app.app_context():
        assert check_all() == []


def test_the_api_lists_activities_and_items(client: FlaskClient, app: Flask) -> None:
    product = make_product(app, price_fen=10_000, title="秒杀商品")
    live = make_activity(
        app, product["sku_id"], price_fen=3_000, stock=4, per_user_limit=3, per_order_limit=3
    )
    make_activity(app, product["sku_id"], started=False, name="明日秒杀")
    listed = client.get("/api/v1/flash-sales").get_json()["items"]
    states = {item["id"]: item["state"] for item in listed}
    assert states[live["activity_id"]] == "live"
    assert "upcoming" in states.values()
    assert all(item["countdown_seconds"] > 0 for item in listed)
    headers = login(client, "flash-lister")
    flash_order(client, headers, live["flash_sku_id"], quantity=2)
    detail = client.get(f"/api/v1/flash-sales/{live['activity_id']}", headers=headers).get_json()
    assert detail["bought"] == 2
    (item,) = detail["items"]
    assert (item["price_fen"], item["list_price_fen"], item["stock"], item["stock_left"]) == (
        3_000,
        10_000,
        4,
        2,
    )


def test_staff_cannot_set_an_activity_stock_above_the_skus(app: Flask) -> None:
    from wxdist.core.errors import BadRequest

    product = make_product(app, price_fen=10_000, stock=5)
    now = utcnow()
    spec = ActivitySpec(
        "超卖", [(now, now + timedelta(hours=1))], [SkuSpec(product["sku_id"], 100, 6)]
    )
    with app.app_context(), pytest.raises(BadRequest) as refused:
        save_activity(spec)
    assert "skus.0.stock" in refused.value.fields


def test_reconcile_sees_a_wrong_counter_and_a_wrong_stock(client: FlaskClient, app: Flask) -> None:
    product = make_product(app, price_fen=10_000)
    sale = make_activity(app, product["sku_id"])
    headers = login(client, "flash-reconcile")
    assert flash_order(client, headers, sale["flash_sku_id"]).status_code == 201
    with app.app_context():
        assert check_all() == []
        db.session.execute(update(FlashQuota).values(bought=FlashQuota.bought + 1))
        db.session.execute(update(FlashSku).values(stock_left=FlashSku.stock_left + 1))
        db.session.commit()
        found = check_all()
    assert any("quota counter" in line for line in found)
    assert any("activity stock" in line for line in found)
