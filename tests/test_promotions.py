"""Limited-time discounts and full reductions as staff set them up and shoppers see them;
coupon limits and expiry as a shopper meets them; reconcile catching a price that does
not add up."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from miniprogram_api.schemas import shanghai_iso
from tests.shop import login, make_product
from tests.test_coupons import claim, coupon_status, make_template, order_body
from wxdist.core.errors import BadRequest, Conflict
from wxdist.core.extensions import db
from wxdist.marketing import coupons, promotions
from wxdist.models import Coupon, CouponAudience, CouponTemplate, OrderItem, TimedDiscountRecord
from wxdist.models.types import utcnow
from wxdist.reporting.reconcile import check_all


def test_a_sku_takes_one_limited_time_discount_at_a_time_and_shoppers_see_price_and_end(
    client: FlaskClient, app: Flask
) -> None:
    product = make_product(app, price_fen=9_900, skus=2)
    now = utcnow()
    ends = now + timedelta(hours=5)
    with app.app_context():
        promotions.create_timed_discount(
            "双十二", product["sku_ids"][0], now - timedelta(hours=1), ends, price_fen=6_900
        )
        db.session.commit()
        with pytest.raises(Conflict) as clash:
            promotions.create_timed_discount(
                "又一个", product["sku_ids"][0], now, now + timedelta(days=1), pay_rate_bp=5_000
            )
        assert clash.value.code == "overlapping" and "sku_id" in clash.value.fields
        with pytest.raises(BadRequest) as bad:
            promotions.create_timed_discount(
                "太贵", product["sku_ids"][1], now, ends, price_fen=9_900
            )
        assert set(bad.value.fields) == {"price_fen"}
        with pytest.raises(BadRequest) as both:
            promotions.create_timed_discount(
                "", product["sku_ids"][1], ends, now, price_fen=100, pay_rate_bp=100
            )
        assert set(both.value.fields) == {"name", "ends_at", "price_fen"}
        assert db.session.query(TimedDiscountRecord).count() == 1

    listed = client.get("/api/v1/products").get_json()["items"][0]
    assert (listed["min_price_fen"], listed["promo_min_price_fen"]) == (9_900, 6_900)
    assert listed["promo_ends_at"] == shanghai_iso(ends)
    detail = client.get(f"/api/v1/products/{product['product_id']}").get_json()
    promos = {sku["id"]: sku["promo_price_fen"] for sku in detail["skus"]}
    assert promos == {product["sku_ids"][0]: 6_900, product["sku_ids"][1]: None}
    headers = login(client, "promo-shopper")
    placed = client.post(
        "/api/v1/orders", json=order_body(product["sku_ids"][0], 2), headers=headers
    ).get_json()
    assert (placed["goods_fen"], placed["discount_fen"], placed["payable_fen"]) == (
        19_800,
        6_000,
        13_800,
    )


def test_full_reduction_tiers_are_checked_field_by_field(app: Flask) -> None:
    now = utcnow()
    bad_tiers = [
        [],
        [{"threshold": 10_000, "off_fen": 1_000, "pay_rate_bp": 9_000}],
        [{"threshold": 10_000, "off_fen": 10_000}],
        [{"threshold": 10_000, "pay_rate_bp": 10_000}],
        [{"threshold": 5_000, "off_fen": 500}, {"threshold": 5_000, "off_fen": 800}],
    ]
    with app.app_context():
        for tiers in bad_tiers:
            with pytest.raises(BadRequest) as refused:
                promotions.create_full_reduction(
                    promotions.ReductionSpec("满减", now, now + timedelta(days=1), tiers)
                )
            assert set(refused.value.fields) == {"tiers"}, tiers
        made = promotions.create_full_reduction(
            promotions.ReductionSpec(
                "满2件9折",
                now,
                now + timedelta(days=1),
                [{"threshold": 2, "pay_rate_bp": 9_000}],
                by_count=True,
            )
        )
        assert made.id is not None


def test_audiences_daily_limits_and_expiry_as_a_shopper_meets_them(
    client: FlaskClient, app: Flask
) -> None:
    headers = login(client, "limits")
    staff_only = make_template(app, audience=CouponAudience.STAFF_ISSUED)
    refused = claim(client, headers, staff_only)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "staff_only"
    daily = make_template(app, per_user_limit=5, per_day_limit=1)
    assert claim(client, headers, daily).status_code == 201
    second = claim(client, headers, daily)
    assert second.status_code == 409 and second.get_json()["error"]["code"] == "daily_claim_limit"
    closed = make_template(app, claim_starts_at=utcnow() + timedelta(days=1))
    assert claim(client, headers, closed).get_json()["error"]["code"] == "claim_closed"
    assert claim(client, headers, 999_999).status_code == 404

    with app.app_context():
        me = db.session.scalar(db.select(Coupon.user_id))
        issued = coupons.issue_to_users(staff_only, [me, me, 999_999_999])
    assert issued == {me: "issued", 999_999_999: "no_such_user"}  # one each
    mine = client.get("/api/v1/me/coupons?status=unused", headers=headers).get_json()["items"]
    assert len(mine) == 2
    with app.app_context():
        db.session.execute(update(Coupon).values(valid_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert client.get("/api/v1/me/coupons?status=unused", headers=headers).get_json()["items"] == []
    product = make_product(app, price_fen=50_000)
    expired = client.post(
        "/api/v1/orders",
        json=order_body(product["sku_id"], coupon_id=mine[0]["id"]),
        headers=headers,
    )
    assert expired.status_code == 409 and expired.get_json()["error"]["code"] == "coupon_unusable"
    with app.app_context():
        assert coupons.expire() == 2
    assert coupon_status(app, mine[0]["id"]) == "expired"


def test_reconcile_lists_a_price_or_a_template_that_does_not_add_up(
    client: FlaskClient, app: Flask
) -> None:
    headers = login(client, "reconciled")
    product = make_product(app, price_fen=30_000)
    template_id = make_template(app)
    coupon: dict[str, Any] = claim(client, headers, template_id).get_json()
    client.post(
        "/api/v1/orders",
        json=order_body(product["sku_id"], coupon_id=coupon["id"]),
        headers=headers,
    )
    with app.app_context():
        assert check_all() == []
        db.session.execute(update(OrderItem).values(paid_fen=OrderItem.paid_fen + 1))
        db.session.execute(update(CouponTemplate).values(issued_count=500))
        db.session.commit()
        found = check_all()
    assert any("payable" in line for line in found)
    assert any("offers" in line for line in found)
    assert any(f"coupon template {template_id}" in line for line in found)


def test_a_no_commission_promotion_earns_nothing_on_the_items_it_touches(
    client: FlaskClient, app: Flask, emulator: Any, run_jobs: Any
) -> None:
    from tests.shop import become_distributor, centre, pay_order, set_settings

    set_settings(app, level1_rate_bp=1000, level2_rate_bp=0)
    seller = become_distributor(client, "nc-seller")
    buyer = client.post(
        "/api/v1/auth/login", json={"code": "nc-buyer", "scene": seller["centre"]["scene"]}
    ).get_json()
    headers = {"Authorization": f"Bearer {buyer['token']}"}
    product = make_product(app, price_fen=10_000, skus=2)
    now = utcnow()
    with app.app_context():
        promotions.create_timed_discount(
            "清仓不计佣",
            product["sku_ids"][0],
            now - timedelta(hours=1),
            now + timedelta(hours=1),
            price_fen=5_000,
            no_commission=True,
        )
        db.session.commit()
    pay_order(client, emulator.url, headers, product["sku_ids"][0])
    pay_order(client, emulator.url, headers, product["sku_ids"][1])
    run_jobs()
    # Only the full-price SKU earns: 10% of ¥100.00; the cleared one (¥50.00) earns none.
    assert centre(client, seller["headers"])["balances"]["frozen_fen"] == 1_000


def test_a_process_prices_with_the_promotions_it_read_for_a_moment_and_staff_changes_show_at_once(
    client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OFFERS_RECHECK_SECONDS: what another process changed shows within the setting; what
    this one changed (through the services staff use) at once; windows on the second."""
    monkeypatch.setitem(app.config, "OFFERS_RECHECK_SECONDS", 60)
    product = make_product(app, price_fen=10_000)
    now = utcnow()

    def price_now() -> int | None:
        return client.get(f"/api/v1/products/{product['product_id']}").get_json()["skus"][0][
            "promo_price_fen"
        ]

    with app.app_context():
        made = promotions.create_timed_discount(
            "整点秒杀",
            product["sku_id"],
            now + timedelta(seconds=2),
            now + timedelta(hours=1),
            price_fen=7_000,
        )
        db.session.commit()
        discount_id = made.id
    assert price_now() is None  # read, not started yet
    import time

    time.sleep(2.1)
    assert price_now() == 7_000  # started on the second, though the read is older
    with app.app_context():  # another process ends it: this one still has its read
        db.session.execute(update(TimedDiscountRecord).values(status="ended"))
        db.session.commit()
    assert price_now() == 7_000
    with app.app_context():  # staff end it here, through the service: seen at once
        db.session.execute(update(TimedDiscountRecord).values(status="active"))
        promotions.end(TimedDiscountRecord, discount_id)
        db.session.commit()
    assert price_now() is None
