"""Coupons under concurrency, over real HTTP (threaded server, one connection per request):
a template never issues more than its total nor a shopper more than their limit, and one
coupon goes to one order. Runs on SQLite and, in CI, on MariaDB."""

from __future__ import annotations

from collections import Counter

import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.shop import ADDRESS, login, make_product, storm
from tests.test_coupons import claim, coupon_status, make_template
from wxdist.core.extensions import db
from wxdist.models import Coupon, CouponTemplate, Order
from wxdist.reporting.reconcile import check_all
from wxdist.shop.payment_flow import close_expired_orders


def test_five_hundred_concurrent_claims_of_a_hundred_coupons_issue_exactly_a_hundred(
    client: FlaskClient, app: Flask
) -> None:
    template_id = make_template(app, total=100, per_user_limit=2)
    shoppers = [login(client, f"claimer-{i}") for i in range(125)]  # 4 claims each
    url = f"{app.config['LIVE_URL']}/api/v1/coupons/{template_id}/claim"

    def claim_one(i: int) -> str:
        with requests.Session() as http:
            response = http.post(url, json={}, headers=shoppers[i % 125], timeout=120)
        assert response.status_code in (201, 409), response.text
        return "issued" if response.status_code == 201 else response.json()["error"]["code"]

    outcomes = Counter(storm(500, claim_one))
    assert outcomes["issued"] == 100, outcomes
    assert set(outcomes) <= {"issued", "sold_out", "limit_reached"}
    with app.app_context():
        per_user = db.session.execute(
            select(Coupon.user_id, func.count()).group_by(Coupon.user_id)
        ).all()
        assert sum(n for _, n in per_user) == 100
        assert max(n for _, n in per_user) <= 2
        template = db.session.get(CouponTemplate, template_id)
        assert (template.remaining, template.issued_count) == (0, 100)
        assert check_all() == []


def test_one_coupon_in_twenty_concurrent_orders_is_locked_by_exactly_one(
    client: FlaskClient, app: Flask
) -> None:
    headers = login(client, "one-coupon")
    product = make_product(app, price_fen=20_000, stock=100)
    coupon = claim(client, headers, make_template(app)).get_json()
    url = f"{app.config['LIVE_URL']}/api/v1/orders"
    body = {
        "items": [{"sku_id": product["sku_id"], "quantity": 1}],
        "address": ADDRESS,
        "coupon_id": coupon["id"],
    }

    def order(_i: int) -> int:
        with requests.Session() as http:
            return http.post(url, json=body, headers=headers, timeout=120).status_code

    statuses = Counter(storm(20, order))
    assert statuses == {201: 1, 409: 19}
    with app.app_context():
        holders = db.session.scalars(select(Order).where(Order.coupon_id == coupon["id"])).all()
        assert len(holders) == 1 and holders[0].discount_fen == 2_000
        assert db.session.scalar(select(func.count()).select_from(Order)) == 1
        # The unpaid order times out and is closed by the sweep: the coupon comes back.
        holders[0].expires_at = holders[0].created_at
        db.session.commit()
        assert close_expired_orders()["closed"] == 1
    assert coupon_status(app, coupon["id"]) == "unused"
