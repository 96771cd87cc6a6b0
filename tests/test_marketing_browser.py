"""A distributor coupon from end to end, the panel in a real browser (Debian's Chromium
through Playwright): staff create a shareable coupon in the panel, a distributor shares
it, a friend claims it through the share code, pays with WeChat Pay, and the distributor's
commission is on the discounted amount the friend paid; the panel counts it used."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from payments.emulator import EmulatorServer
from tests.browser import shoot, sign_in
from tests.panel_helpers import PASSWORD, make_staff
from tests.shop import (
    ADDRESS,
    become_distributor,
    centre,
    emulator_pay,
    login,
    make_product,
    set_settings,
    start_pay,
    wait_for_status,
)
from wxdist.core.extensions import db
from wxdist.models import CouponTemplate


def test_staff_create_a_coupon_a_friend_claims_it_through_a_share_and_commission_is_on_what_was_paid(  # noqa: E501
    client: FlaskClient, app: Flask, browser: Any, emulator: EmulatorServer, run_jobs: Any
) -> None:
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=0)
    product = make_product(app, price_fen=16_800, title="云南小粒咖啡豆")
    make_staff(app, "operator", "market")
    base = app.config["LIVE_URL"]
    page = browser.new_page(locale="zh-CN")
    sign_in(page, base, "market", PASSWORD)
    page.goto(f"{base}/panel/marketing/coupons")
    page.fill("input[name=name]", "分享立减30")
    page.fill("input[name=off_fen]", "30")
    page.fill("input[name=threshold_fen]", "100")
    page.select_option("select[name=audience]", "distributor_customers")
    page.check("input[name=shareable]")
    with page.expect_navigation():
        page.get_by_role("button", name="创建优惠券").click()
    assert "分享立减30" in page.content()
    shoot(page, "zh-marketing-coupon-created")
    with app.app_context():
        template = db.session.scalars(select(CouponTemplate)).one()
        template_id = template.id
        assert (template.off_fen, template.threshold_fen, template.shareable) == (
            3_000,
            10_000,
            True,
        )

    seller = become_distributor(client, "browser-sharer")
    link = client.get(
        "/api/v1/distributor/share-link",
        query_string={"product_id": product["product_id"], "coupon_template_id": template_id},
        headers=seller["headers"],
    ).get_json()
    friend = login(client, "browser-friend")
    claimed = client.post(
        f"/api/v1/coupons/{template_id}/claim", json={"scene": link["scene"]}, headers=friend
    )
    assert claimed.status_code == 201, claimed.get_json()
    preview = client.post(
        "/api/v1/orders/preview",
        json={"items": [{"sku_id": product["sku_id"], "quantity": 1}]},
        headers=friend,
    ).get_json()
    coupon_id = preview["suggested_coupon_id"]
    assert coupon_id == claimed.get_json()["id"]
    order = client.post(
        "/api/v1/orders",
        json={
            "items": [{"sku_id": product["sku_id"], "quantity": 1}],
            "address": ADDRESS,
            "coupon_id": coupon_id,
            "expected_payable_fen": 13_800,
        },
        headers=friend,
    ).get_json()
    pay = start_pay(client, friend, order["id"])
    emulator_pay(emulator.url, "wechat", pay["out_trade_no"])
    wait_for_status(client, friend, order["id"], "paid")
    run_jobs()
    # 10% of the ¥138.00 paid, not of the ¥168.00 list price.
    assert centre(client, seller["headers"])["balances"]["frozen_fen"] == 1_380

    page.goto(f"{base}/panel/marketing/coupons/{template_id}")
    text = page.locator("main").inner_text()
    assert "分享立减30" in text
    assert re.search(r"已发放 / 总数\s+1 / 100", text) and re.search(r"已使用\s+1", text)
    assert re.search(r"成本（已付款订单的优惠金额）\s+¥30\.00", text)
    shoot(page, "zh-marketing-coupon-used")
    page.close()
