"""Coupons and promotions through the API, as a shopper meets them: claim, preview, order
with a coupon, pay, cancel, refund; commission on what was paid. Real HTTP handlers, real
SQL, the WeChat emulator for payments."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from payments.emulator import EmulatorServer
from tests.shop import (
    ADDRESS,
    become_distributor,
    centre,
    emulator_pay,
    get_order,
    login,
    make_product,
    set_settings,
    start_pay,
    wait_for_status,
)
from wxdist.core.extensions import db
from wxdist.marketing.templates import TemplateSpec, create_template
from wxdist.models import (
    Coupon,
    CouponTemplate,
    FullReductionRecord,
    OrderAdjustment,
    TimedDiscountRecord,
)
from wxdist.models.types import utcnow
from wxdist.reporting.reconcile import check_all
from wxdist.shop.refunds import request_refund


def make_template(app: Flask, **changes: Any) -> int:
    now = utcnow()
    values: dict[str, Any] = {
        "name": "满100减20",
        "claim_starts_at": now - timedelta(hours=1),
        "claim_ends_at": now + timedelta(days=7),
        "total": 100,
        "off_fen": 2_000,
        "threshold_fen": 10_000,
        "valid_days": 30,
    }
    values.update(changes)
    with app.app_context():
        template = create_template(TemplateSpec(**values))
        db.session.commit()
        return template.id


def claim(client: FlaskClient, headers: dict[str, str], template_id: int, **body: Any) -> Any:
    return client.post(f"/api/v1/coupons/{template_id}/claim", json=body, headers=headers)


def order_body(sku_id: int, quantity: int = 1, **extra: Any) -> dict[str, Any]:
    return {"items": [{"sku_id": sku_id, "quantity": quantity}], "address": ADDRESS, **extra}


def coupon_status(app: Flask, coupon_id: int) -> str:
    with app.app_context():
        return db.session.get(Coupon, coupon_id).status


def test_a_shopper_claims_previews_orders_and_pays_with_a_coupon_and_commission_follows_the_paid_amount(  # noqa: E501
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=0)
    seller = become_distributor(client, "coupon-seller")
    buyer = client.post(
        "/api/v1/auth/login", json={"code": "coupon-buyer", "scene": seller["centre"]["scene"]}
    ).get_json()
    headers = {"Authorization": f"Bearer {buyer['token']}"}
    product = make_product(app, price_fen=6_000)
    template_id = make_template(app)

    listed = client.get(f"/api/v1/coupons?product_id={product['product_id']}").get_json()
    assert [t["id"] for t in listed["items"]] == [template_id]
    claimed = claim(client, headers, template_id, claim_key="first-claim-1")
    assert claimed.status_code == 201, claimed.get_json()
    coupon = claimed.get_json()
    assert coupon["status"] == "unused" and coupon["name"] == "满100减20"
    again = claim(client, headers, template_id, claim_key="first-claim-1")
    assert again.status_code == 201 and again.get_json()["id"] == coupon["id"]  # idempotent
    over = claim(client, headers, template_id)
    assert over.status_code == 409 and over.get_json()["error"]["code"] == "limit_reached"

    one = client.post(
        "/api/v1/orders/preview",
        json={"items": [{"sku_id": product["sku_id"], "quantity": 1}]},
        headers=headers,
    ).get_json()
    assert one["payable_fen"] == 6_000 and one["suggested_coupon_id"] is None
    assert one["coupons"][0]["reason"] == "below_threshold"
    two = client.post(
        "/api/v1/orders/preview",
        json={"items": [{"sku_id": product["sku_id"], "quantity": 2}], "coupon_id": coupon["id"]},
        headers=headers,
    ).get_json()
    assert (two["goods_fen"], two["coupon_fen"], two["payable_fen"]) == (12_000, 2_000, 10_000)
    assert two["suggested_coupon_id"] == coupon["id"] and two["coupons"][0]["usable"]

    stale = client.post(
        "/api/v1/orders",
        json=order_body(product["sku_id"], 2, coupon_id=coupon["id"], expected_payable_fen=12_000),
        headers=headers,
    )
    assert stale.status_code == 409
    assert stale.get_json()["error"]["code"] == "price_changed"
    assert stale.get_json()["error"]["data"] == {"payable_fen": 10_000}
    assert coupon_status(app, coupon["id"]) == "unused"  # nothing placed, nothing locked

    placed = client.post(
        "/api/v1/orders",
        json=order_body(product["sku_id"], 2, coupon_id=coupon["id"], expected_payable_fen=10_000),
        headers=headers,
    )
    assert placed.status_code == 201, placed.get_json()
    order = placed.get_json()
    assert (order["discount_fen"], order["payable_fen"], order["coupon_id"]) == (
        2_000,
        10_000,
        coupon["id"],
    )
    assert order["items"][0]["paid_fen"] == 10_000
    assert coupon_status(app, coupon["id"]) == "locked"
    twice = client.post(
        "/api/v1/orders",
        json=order_body(product["sku_id"], 2, coupon_id=coupon["id"]),
        headers=headers,
    )
    assert twice.status_code == 409 and twice.get_json()["error"]["code"] == "coupon_unusable"

    pay = start_pay(client, headers, order["id"])
    emulator_pay(emulator.url, "wechat", pay["out_trade_no"])
    wait_for_status(client, headers, order["id"], "paid")
    run_jobs()
    assert coupon_status(app, coupon["id"]) == "used"
    # 10% of what was paid (¥100.00), not of the list price (¥120.00).
    assert centre(client, seller["headers"])["balances"]["frozen_fen"] == 1_000
    with app.app_context():
        template = db.session.get(CouponTemplate, template_id)
        assert (template.issued_count, template.used_count, template.cost_fen) == (1, 1, 2_000)
        assert template.remaining == 99
        assert check_all() == []
    mine = client.get("/api/v1/me/coupons?status=used", headers=headers).get_json()
    assert [c["id"] for c in mine["items"]] == [coupon["id"]]


def test_cancelling_an_unpaid_order_gives_the_coupon_back(client: FlaskClient, app: Flask) -> None:
    headers = login(client, "cancel-coupon")
    product = make_product(app, price_fen=20_000)
    coupon = claim(client, headers, make_template(app)).get_json()
    order = client.post(
        "/api/v1/orders",
        json=order_body(product["sku_id"], coupon_id=coupon["id"]),
        headers=headers,
    ).get_json()
    assert coupon_status(app, coupon["id"]) == "locked"
    cancelled = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200, cancelled.get_json()
    assert coupon_status(app, coupon["id"]) == "unused"
    again = client.post(
        "/api/v1/orders",
        json=order_body(product["sku_id"], coupon_id=coupon["id"]),
        headers=headers,
    )
    assert again.status_code == 201 and again.get_json()["payable_fen"] == 18_000


def _paid_with_coupon(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, code: str, policy: str
) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
    headers = login(client, code)
    product = make_product(app, price_fen=15_000)
    coupon = claim(client, headers, make_template(app, refund_policy=policy)).get_json()
    order = client.post(
        "/api/v1/orders",
        json=order_body(product["sku_id"], coupon_id=coupon["id"]),
        headers=headers,
    ).get_json()
    pay = start_pay(client, headers, order["id"])
    emulator_pay(emulator.url, "wechat", pay["out_trade_no"])
    wait_for_status(client, headers, order["id"], "paid")
    return headers, coupon, get_order(client, headers, order["id"])


def test_a_full_refund_returns_reissues_or_keeps_the_coupon_by_the_templates_policy(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    outcomes = {}
    for policy in ("return", "reissue", "keep"):
        headers, coupon, order = _paid_with_coupon(client, app, emulator, f"r-{policy}", policy)
        with app.app_context():
            request_refund(order["id"], order["paid_fen"] // 2, "退一半")
        wait_for_status(client, headers, order["id"], "paid")
        assert coupon_status(app, coupon["id"]) == "used"  # a partial refund keeps it used
        with app.app_context():
            request_refund(order["id"], order["paid_fen"] - order["paid_fen"] // 2, "余款")
        wait_for_status(client, headers, order["id"], "refunded")
        unused = client.get("/api/v1/me/coupons?status=unused", headers=headers).get_json()
        outcomes[policy] = (coupon_status(app, coupon["id"]), len(unused["items"]))
    assert outcomes == {"return": ("unused", 1), "reissue": ("returned", 1), "keep": ("used", 0)}
    with app.app_context():
        assert check_all() == []


def test_promotions_apply_in_order_and_each_share_is_stored_on_the_item(
    client: FlaskClient, app: Flask
) -> None:
    headers = login(client, "promo-buyer")
    product = make_product(app, price_fen=10_000, skus=2)
    now = utcnow()
    with app.app_context():
        db.session.add(
            TimedDiscountRecord(
                name="限时8折",
                sku_id=product["sku_ids"][0],
                product_id=product["product_id"],
                pay_rate_bp=8_000,
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(hours=1),
            )
        )
        db.session.add(
            FullReductionRecord(
                name="满150减10",
                tiers=[{"threshold": 15_000, "off_fen": 1_000}],
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(hours=1),
            )
        )
        db.session.commit()
    body = {
        "items": [
            {"sku_id": product["sku_ids"][0], "quantity": 1},
            {"sku_id": product["sku_ids"][1], "quantity": 1},
        ],
        "address": ADDRESS,
    }
    preview = client.post(
        "/api/v1/orders/preview", json={"items": body["items"]}, headers=headers
    ).get_json()
    # 100 + 100 → 80 + 100 (8折 on the first) → 180 ≥ 150: 10 off, split 80:100 → 4.44 : 5.56
    assert [i["paid_fen"] for i in preview["items"]] == [7_556, 9_444]
    assert (preview["discount_fen"], preview["reduction_fen"], preview["payable_fen"]) == (
        2_000,
        1_000,
        17_000,
    )
    placed = client.post("/api/v1/orders", json=body, headers=headers).get_json()
    assert placed["payable_fen"] == 17_000
    with app.app_context():
        shares = db.session.execute(
            select(OrderAdjustment.kind, OrderAdjustment.amount_fen)
            .where(OrderAdjustment.order_id == placed["id"])
            .order_by(OrderAdjustment.id)
        ).all()
    assert sorted(shares) == sorted([("discount", 2_000), ("reduction", 444), ("reduction", 556)])


def test_a_retried_claim_returns_its_coupon_even_once_sold_out_and_a_revoked_token_is_refused(
    client: FlaskClient, app: Flask
) -> None:
    template_id = make_template(app, total=1)
    first = login(client, "last-one")
    won = claim(client, first, template_id, claim_key="retry-after-sold-out")
    assert won.status_code == 201
    other = login(client, "too-late")
    late = claim(client, other, template_id)
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "sold_out"
    again = claim(client, first, template_id, claim_key="retry-after-sold-out")
    assert again.status_code == 201 and again.get_json()["id"] == won.get_json()["id"]
    with app.app_context():
        from wxdist.models import User

        db.session.execute(db.update(User).values(token_version=User.token_version + 1))
        db.session.commit()
    revoked = claim(client, other, template_id)
    assert revoked.status_code == 401 and revoked.get_json()["error"]["code"] == "invalid_token"
