"""Shipping fee templates (运费模板) as the pricing pipeline's step 4: by piece and by
weight, the most specific region rule, regions not delivered to, free above an amount or
a count, a full reduction's free-shipping tier, several templates in one order; the
preview, the placed order and the payment at the gateway emulator agree."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from payments.emulator import EmulatorServer
from tests.panel_helpers import post_form, staff_client
from tests.shop import ADDRESS, emulator_pay, login, make_product, start_pay
from wxdist.core.errors import ApiError
from wxdist.core.extensions import db
from wxdist.marketing import promotions
from wxdist.models import OrderItem, Product, Sku
from wxdist.models.types import utcnow
from wxdist.shop.shipping_templates import RateSpec, RuleSpec, TemplateSpec, save_template


def make_template(
    app: Flask,
    rate: tuple[int, int, int, int] = (1, 1000, 1, 500),
    *,
    by_weight: bool = False,
    rules: tuple[tuple[list[str], tuple[int, int, int, int]], ...] = (),
    **extra: Any,
) -> int:
    with app.app_context():
        template = save_template(
            TemplateSpec(
                name="快递",
                by_weight=by_weight,
                rate=RateSpec(*rate),
                rules=[RuleSpec(*r, codes=codes) for codes, r in rules],
                **extra,
            )
        )
        db.session.commit()
        return template.id


def shipped_product(app: Flask, template_id: int | None, weight_g: int = 0, **kw: Any) -> int:
    """A product on `template_id` whose SKU weighs `weight_g`; returns the SKU id."""
    product = make_product(app, stock=1000, **kw)
    with app.app_context():
        db.session.get(Product, product["product_id"]).shipping_template_id = template_id
        db.session.get(Sku, product["sku_id"]).weight_g = weight_g
        db.session.commit()
    return product["sku_id"]


def items(*lines: tuple[int, int]) -> list[dict[str, int]]:
    return [{"sku_id": sku_id, "quantity": quantity} for sku_id, quantity in lines]


def quote(
    client: FlaskClient, headers: dict[str, str], lines: list[dict[str, int]], **where: Any
) -> Any:
    return client.post("/api/v1/orders/preview", json={"items": lines, **where}, headers=headers)


def order(
    client: FlaskClient, headers: dict[str, str], lines: list[dict[str, int]], code: str | None
) -> Any:
    address = {**ADDRESS, "region_code": code} if code else ADDRESS
    return client.post("/api/v1/orders", json={"items": lines, "address": address}, headers=headers)


def shipping(
    client: FlaskClient, headers: dict[str, str], lines: list[dict[str, int]], code: str
) -> int:
    """The fee the preview shows for district `code`, checked against the placed order."""
    shown = quote(client, headers, lines, region_code=code)
    assert shown.status_code == 200, shown.get_json()
    placed = order(client, headers, lines, code)
    assert placed.status_code == 201, placed.get_json()
    preview, created = shown.get_json(), placed.get_json()
    assert created["shipping_fen"] == preview["shipping_fen"]
    assert created["payable_fen"] == preview["payable_fen"]
    assert (
        created["payable_fen"]
        == created["goods_fen"] - created["discount_fen"] + created["shipping_fen"]
    )
    return int(created["shipping_fen"])


def test_by_piece_the_first_item_then_each_further_one(client: FlaskClient, app: Flask) -> None:
    headers = login(client, "fee-piece")
    sku = shipped_product(app, make_template(app, (2, 1000, 2, 300)))
    assert shipping(client, headers, items((sku, 1)), "110101") == 1000
    assert shipping(client, headers, items((sku, 2)), "110101") == 1000
    assert shipping(client, headers, items((sku, 3)), "110101") == 1300
    assert shipping(client, headers, items((sku, 5)), "110101") == 1600  # 3 more: 2 steps
    free = shipped_product(app, None)
    assert shipping(client, headers, items((free, 4)), "110101") == 0


def test_by_weight_grams_each_part_of_a_step_counts(client: FlaskClient, app: Flask) -> None:
    headers = login(client, "fee-weight")
    template = make_template(app, (1000, 800, 500, 300), by_weight=True)
    sku = shipped_product(app, template, weight_g=600)
    assert shipping(client, headers, items((sku, 1)), "320102") == 800  # 600 g
    assert shipping(client, headers, items((sku, 2)), "320102") == 1100  # 1200 g: 1 step
    assert shipping(client, headers, items((sku, 3)), "320102") == 1400  # 1800 g: 2 steps
    weightless = shipped_product(app, template, weight_g=0)
    assert shipping(client, headers, items((weightless, 9)), "320102") == 800


def test_the_most_specific_region_rule_wins(client: FlaskClient, app: Flask) -> None:
    headers = login(client, "fee-region")
    template = make_template(
        app,
        (1, 1000, 1, 0),
        rules=(
            (["440305"], (1, 2500, 1, 0)),  # 南山区
            (["440000"], (1, 1500, 1, 0)),  # 广东省
            (["440300", "110000"], (1, 2000, 1, 0)),  # 深圳市, 北京市
        ),
    )
    sku = shipped_product(app, template)
    assert shipping(client, headers, items((sku, 1)), "440305") == 2500
    assert shipping(client, headers, items((sku, 1)), "440303") == 2000
    assert shipping(client, headers, items((sku, 1)), "440106") == 1500
    assert shipping(client, headers, items((sku, 1)), "110101") == 2000
    assert shipping(client, headers, items((sku, 1)), "320102") == 1000
    # An inline address without a code pays the defaults (no region is excluded here).
    legacy = order(client, headers, items((sku, 1)), None)
    assert legacy.status_code == 201 and legacy.get_json()["shipping_fen"] == 1000


def test_a_region_not_delivered_to_is_refused_naming_the_address(
    client: FlaskClient, app: Flask
) -> None:
    headers = login(client, "fee-undelivered")
    sku = shipped_product(app, make_template(app, undelivered=["540000", "650000"]))
    lines = items((sku, 1))
    refused = order(client, headers, lines, "540102")
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "not_delivered"
    assert "address.region_code" in refused.get_json()["error"]["fields"]
    shown = quote(client, headers, lines, region_code="540102")
    assert shown.status_code == 409 and "region_code" in shown.get_json()["error"]["fields"]
    kept = client.post(
        "/api/v1/me/addresses",
        json={"name": "扎西", "phone": "13800138000", "region_code": "540102", "detail": "八廓街"},
        headers=headers,
    ).get_json()
    by_book = client.post(
        "/api/v1/orders", json={"items": lines, "address_id": kept["id"]}, headers=headers
    )
    assert by_book.status_code == 409 and "address_id" in by_book.get_json()["error"]["fields"]
    # Without a code nothing can tell: refused, asking for the district.
    unknown = order(client, headers, lines, None)
    assert unknown.status_code == 409
    assert unknown.get_json()["error"]["code"] == "region_required"
    assert "address.region_code" in unknown.get_json()["error"]["fields"]
    # A preview without any address shows the default fee and refuses nothing.
    assert quote(client, headers, lines).get_json()["shipping_fen"] == 1000
    assert shipping(client, headers, lines, "110101") == 1000
    with app.app_context():  # nothing was reserved by the refusals
        assert db.session.get(Sku, sku).stock == 999


def test_free_above_an_amount_after_discounts_or_a_count(client: FlaskClient, app: Flask) -> None:
    headers = login(client, "fee-free")
    by_amount = shipped_product(app, make_template(app, free_above_fen=5000), price_fen=1990)
    assert shipping(client, headers, items((by_amount, 2)), "110101") == 1500  # ¥39.80
    assert shipping(client, headers, items((by_amount, 3)), "110101") == 0  # ¥59.70
    with app.app_context():  # a discount takes the goods below the amount again
        now = utcnow()
        promotions.create_timed_discount(
            "特价", by_amount, now - timedelta(minutes=1), now + timedelta(days=1), price_fen=1500
        )
        db.session.commit()
    assert shipping(client, headers, items((by_amount, 3)), "110101") == 2000  # ¥45.00
    by_count = shipped_product(app, make_template(app, free_count=3))
    assert shipping(client, headers, items((by_count, 2)), "110101") == 1500
    assert shipping(client, headers, items((by_count, 3)), "110101") == 0


def test_a_full_reductions_free_shipping_tier_ships_free(client: FlaskClient, app: Flask) -> None:
    headers = login(client, "fee-tier")
    sku = shipped_product(app, make_template(app), price_fen=3000)
    with app.app_context():
        now = utcnow()
        promotions.create_full_reduction(
            promotions.ReductionSpec(
                "满两件包邮",
                now - timedelta(minutes=1),
                now + timedelta(days=1),
                [{"threshold": 2, "free_shipping": True}, {"threshold": 3, "off_fen": 500}],
                by_count=True,
            )
        )
        db.session.commit()
    assert shipping(client, headers, items((sku, 1)), "110101") == 1000
    assert shipping(client, headers, items((sku, 2)), "110101") == 0
    # The higher tier takes money off but does not ship free: the highest tier applies.
    assert shipping(client, headers, items((sku, 3)), "110101") == 2000
    # A tier must take something off or ship free.
    bad = promotions.ReductionSpec("坏", utcnow(), utcnow() + timedelta(days=1), [{"threshold": 2}])
    with app.app_context(), pytest.raises(ApiError) as refused:
        promotions.create_full_reduction(bad)
    assert "tiers" in refused.value.fields


def test_several_templates_add_up_each_over_its_own_lines(client: FlaskClient, app: Flask) -> None:
    headers = login(client, "fee-mixed")
    piece = shipped_product(app, make_template(app, (1, 1000, 1, 500)))
    weight = shipped_product(
        app, make_template(app, (1000, 800, 1000, 400), by_weight=True), weight_g=700
    )
    free = shipped_product(app, None)
    lines = items((piece, 2), (weight, 2), (free, 5))
    assert shipping(client, headers, lines, "110101") == 1500 + 1200
    # One template's free count is its own lines' count, not the order's.
    counted = shipped_product(app, make_template(app, free_count=3))
    assert shipping(client, headers, items((counted, 2), (free, 5)), "110101") == 1500


def test_preview_order_and_payment_agree_and_shipping_earns_no_commission(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    headers = login(client, "fee-pay")
    sku = shipped_product(app, make_template(app, (1, 1200, 1, 600)), price_fen=2990)
    lines = items((sku, 2))
    shown = quote(client, headers, lines, region_code="310115").get_json()
    placed = client.post(
        "/api/v1/orders",
        json={
            "items": lines,
            "address": {**ADDRESS, "region_code": "310115"},
            "expected_payable_fen": shown["payable_fen"],
        },
        headers=headers,
    )
    assert placed.status_code == 201, placed.get_json()
    created = placed.get_json()
    assert (created["shipping_fen"], created["payable_fen"]) == (1800, 5980 + 1800)
    assert created["payable_fen"] == shown["payable_fen"]
    pay = start_pay(client, headers, created["id"])
    trade = requests.get(f"{emulator.url}/_emulator/wechat/trades/{pay['out_trade_no']}", timeout=5)
    assert trade.json()["total_fee"] == created["payable_fen"]
    emulator_pay(emulator.url, "wechat", pay["out_trade_no"])
    with app.app_context():
        (item,) = db.session.query(OrderItem).filter_by(order_id=created["id"]).all()
        assert (item.paid_fen, item.commission_base_fen) == (5980, 5980)


def test_the_panel_keeps_templates_and_a_product_chooses_one(
    client: FlaskClient, app: Flask
) -> None:
    operator = staff_client(app, "operator")
    listing = "/panel/shipping-templates"
    form = {
        "name": "顺丰",
        "by_weight": "weight",
        "first_unit": "1000",
        "first_fen": "12",
        "extra_unit": "500",
        "extra_fen": "4.5",
        "free_above_fen": "199",
        "free_count": "",
        "undelivered_provinces": ["540000", "650000"],
        "undelivered_codes": "",
        "rules-0-provinces": ["440000"],
        "rules-0-codes": "110101, 310115",
        "rules-0-first_unit": "1000",
        "rules-0-first_fen": "8",
        "rules-0-extra_unit": "1000",
        "rules-0-extra_fen": "2",
    }
    created = post_form(operator, f"{listing}/new", f"{listing}/new", **form)
    assert created.status_code == 303, created.get_data(as_text=True)[:2000]
    with app.app_context():
        from wxdist.models import ShippingTemplate

        (template,) = db.session.query(ShippingTemplate).all()
        assert (template.by_weight, template.first_fen, template.extra_fen) == (True, 1200, 450)
        assert template.rules == [
            {
                "codes": ["110101", "310115", "440000"],
                "first_unit": 1000,
                "first_fen": 800,
                "extra_unit": 1000,
                "extra_fen": 200,
            }
        ]
        assert (template.undelivered, template.free_above_fen) == (["540000", "650000"], 19900)
        template_id = template.id
    html = operator.get(listing).get_data(as_text=True)
    assert "顺丰" in html and "西藏自治区" in html and "东城区" in html
    edit = f"{listing}/{template_id}/edit"
    page = operator.get(edit).get_data(as_text=True)
    assert 'value="110101 310115"' in page
    wrong = post_form(operator, edit, edit, **{**form, "rules-1-codes": "999999"})
    assert wrong.status_code == 400
    assert "999999" in wrong.get_data(as_text=True)
    changed = post_form(operator, edit, edit, **{**form, "name": "顺丰次日", "free_above_fen": ""})
    assert changed.status_code == 303
    with app.app_context():
        template = db.session.get(ShippingTemplate, template_id)
        assert (template.name, template.free_above_fen) == ("顺丰次日", None)
    # A product picks the template on its form.
    product = make_product(app, title="坚果礼盒")
    product_edit = f"/panel/products/{product['product_id']}/edit"
    assert "顺丰次日" in operator.get(product_edit).get_data(as_text=True)
    saved = post_form(
        operator,
        product_edit,
        product_edit,
        title="坚果礼盒",
        subtitle="",
        description="",
        category_id="",
        new_category="",
        sort="0",
        image_urls="https://img.example/p.jpg",
        commission_l1_bp="",
        commission_l2_bp="",
        shipping_template_id=str(template_id),
    )
    assert saved.status_code == 303, saved.get_data(as_text=True)[:2000]
    with app.app_context():
        assert db.session.get(Product, product["product_id"]).shipping_template_id == template_id


def test_the_cart_checks_out_to_a_saved_address_with_its_regions_fee(
    client: FlaskClient, app: Flask
) -> None:
    """The cart previews and places like /orders: a saved address (`address_id`) prices
    the shipping by its district's rule, and the order keeps the address."""
    headers = login(client, "fee-cart")
    template = make_template(app, (1, 1000, 1, 500), rules=((["440300"], (1, 1800, 1, 600)),))
    sku = shipped_product(app, template, price_fen=3000)
    home = {"name": "林小姐", "phone": "13900001111", "region_code": "440305", "detail": "科技园"}
    saved = client.post("/api/v1/me/addresses", json=home, headers=headers).get_json()
    added = client.post("/api/v1/cart/lines", json={"sku_id": sku, "quantity": 3}, headers=headers)
    assert added.status_code < 300, added.get_json()

    by_code = client.post(
        "/api/v1/cart/checkout/preview", json={"region_code": "440305"}, headers=headers
    ).get_json()
    shown = client.post(
        "/api/v1/cart/checkout/preview", json={"address_id": saved["id"]}, headers=headers
    ).get_json()
    assert by_code["shipping_fen"] == shown["shipping_fen"] == 1800 + 2 * 600
    both = {"address_id": saved["id"], "region_code": "440305"}
    refused = client.post("/api/v1/cart/checkout/preview", json=both, headers=headers)
    assert refused.status_code == 400 and "region_code" in refused.get_json()["error"]["fields"]

    placed = client.post(
        "/api/v1/cart/checkout",
        json={"address_id": saved["id"], "expected_payable_fen": shown["payable_fen"]},
        headers=headers,
    )
    assert placed.status_code == 201, placed.get_json()
    order_ = placed.get_json()
    assert (order_["shipping_fen"], order_["payable_fen"]) == (3000, 9000 + 3000)
    assert order_["address"]["name"] == "林小姐"
    assert client.get("/api/v1/cart", headers=headers).get_json()["lines"] == []
    neither = client.post("/api/v1/cart/checkout", json={}, headers=headers)
    assert neither.status_code == 400 and "address" in neither.get_json()["error"]["fields"]
