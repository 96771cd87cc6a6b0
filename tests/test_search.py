"""Product search and sorting (wxdist.catalog.search) and sales counts (wxdist.catalog.sales),
through the API, on real SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from payments.emulator import EmulatorServer
from tests.shop import (
    ADDRESS,
    emulator_pay,
    get_order,
    login,
    make_product,
    pay_order,
    start_pay,
    wait_for_status,
)
from wxdist.catalog import admin
from wxdist.catalog.search import title_terms
from wxdist.core.extensions import db
from wxdist.models import Payment, Product, ProductTerm
from wxdist.shop.payment_flow import Outcome, apply_payment
from wxdist.shop.refunds import request_refund


def titles(client: FlaskClient, query: str) -> list[str]:
    response = client.get(f"/api/v1/products?per_page=50&{query}")
    assert response.status_code == 200, response.get_json()
    return sorted(item["title"] for item in response.get_json()["items"])


def sales_count(app: Flask, product_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(Product.sales_count).where(Product.id == product_id))


def test_chinese_titles_are_found_by_words_without_spaces(client: FlaskClient, app: Flask) -> None:
    make_product(app, title="不锈钢保温杯")
    make_product(app, title="保温饭盒")
    make_product(app, title="陶瓷马克杯")
    make_product(app, title="Apple IPHONE 15 手机壳")
    make_product(app, title="保温壶 下架", on_shelf=False)

    assert titles(client, "q=保温") == ["不锈钢保温杯", "保温饭盒"]
    assert titles(client, "q=保温杯") == ["不锈钢保温杯"]
    assert titles(client, "q=杯") == ["不锈钢保温杯", "陶瓷马克杯"]  # one character: its unigram
    assert titles(client, "q=不锈钢 杯") == ["不锈钢保温杯"]  # every word must be found
    assert titles(client, "q=iphone") == ["Apple IPHONE 15 手机壳"]  # case-folded
    assert titles(client, "q=ｉＰｈｏｎｅ") == ["Apple IPHONE 15 手机壳"]  # full-width: NFKC
    assert titles(client, "q=保温碗") == []
    assert titles(client, "q=温保") == []  # bigrams are ordered
    assert len(titles(client, "q=!!")) == 4  # nothing searchable: no text filter

    too_long = client.get("/api/v1/products?q=" + "杯" * 41)
    assert too_long.status_code == 400 and "q" in too_long.get_json()["error"]["fields"]


def test_a_title_edit_rewrites_the_index_in_the_same_transaction(
    client: FlaskClient, app: Flask
) -> None:
    with app.app_context():
        product = admin.create_product(
            admin.ProductInput(title="不锈钢保温杯"), [admin.SkuInput(name="默认", price_fen=100)]
        )
        product_id = product.id
    ids = make_product(app, title="另一个商品")
    with app.app_context():
        from wxdist.catalog.products import set_on_shelf

        set_on_shelf(product_id, True)
    assert titles(client, "q=保温") == ["不锈钢保温杯"]

    with app.app_context():
        changed = admin.update_product(product_id, admin.ProductInput(title="玻璃茶壶"))
        assert "title" in changed
        stored = set(
            db.session.scalars(select(ProductTerm.term).where(ProductTerm.product_id == product_id))
        )
        assert stored == title_terms("玻璃茶壶")
        other = db.session.scalars(
            select(ProductTerm.term).where(ProductTerm.product_id == ids["product_id"])
        )
        assert set(other) == title_terms("另一个商品")  # untouched
    assert titles(client, "q=保温") == []
    assert titles(client, "q=茶壶") == ["玻璃茶壶"]


def test_category_and_price_range_filter_on_the_lowest_active_price(
    client: FlaskClient, app: Flask
) -> None:
    cups = make_product(app, title="杯子甲", category="杯具", price_fen=1000, skus=2)
    make_product(app, title="杯子乙", price_fen=3000)
    make_product(app, title="杯子丙", price_fen=5000)
    category = f"category_id={cups['category_id']}"

    assert titles(client, category) == ["杯子甲"]
    assert titles(client, "min_price_fen=1000&max_price_fen=3000") == ["杯子乙", "杯子甲"]
    assert titles(client, "min_price_fen=1001") == ["杯子丙", "杯子乙"]
    assert titles(client, "max_price_fen=999") == []
    assert titles(client, "min_price_fen=3000&max_price_fen=1000") == []  # inverted: nothing
    assert titles(client, f"{category}&q=杯子&max_price_fen=1000") == ["杯子甲"]

    first, second = cups["sku_ids"]
    with app.app_context():  # the cheap SKU costs more now: the product's price follows
        admin.update_sku(cups["product_id"], first, name="规格1", price_fen=8000, is_active=True)
        admin.update_sku(cups["product_id"], second, name="规格2", price_fen=6000, is_active=True)
    assert titles(client, "max_price_fen=1000") == []
    assert titles(client, "min_price_fen=6000&max_price_fen=6000") == ["杯子甲"]
    with app.app_context():  # a SKU no longer sold does not set the price
        admin.update_sku(cups["product_id"], second, name="规格2", price_fen=6000, is_active=False)
    assert titles(client, "min_price_fen=8000") == ["杯子甲"]
    card = client.get(f"/api/v1/products?{category}").get_json()["items"][0]
    assert card["min_price_fen"] == 8000

    bad = client.get("/api/v1/products?min_price_fen=-1")
    assert bad.status_code == 400 and "min_price_fen" in bad.get_json()["error"]["fields"]


def _seed_ties(app: Flask) -> list[dict[str, Any]]:
    """Nine products in three tie groups of price, sales and creation time."""
    made = [make_product(app, title=f"同价商品{n}", price_fen=1000 * (n % 3 + 1)) for n in range(9)]
    with app.app_context():
        for n, ids in enumerate(made):
            db.session.execute(
                update(Product)
                .where(Product.id == ids["product_id"])
                .values(sales_count=n // 3 * 10, created_at=datetime(2026, 1, 1 + n % 3))
            )
        db.session.commit()
        rows = db.session.execute(
            select(Product.id, Product.sales_count, Product.min_price_fen, Product.created_at)
        ).all()
    return [row._asdict() for row in rows]


def test_each_sort_pages_through_ties_without_duplicates_or_gaps(
    client: FlaskClient, app: Flask
) -> None:
    rows = _seed_ties(app)
    expected = {
        "sales": sorted(rows, key=lambda r: (-r["sales_count"], -r["id"])),
        "price_asc": sorted(rows, key=lambda r: (r["min_price_fen"], r["id"])),
        "price_desc": sorted(rows, key=lambda r: (-r["min_price_fen"], -r["id"])),
        "newest": sorted(rows, key=lambda r: (r["created_at"], r["id"]), reverse=True),
    }
    for sort, wanted in expected.items():
        seen: list[int] = []
        for page in range(1, 6):
            body = client.get(f"/api/v1/products?sort={sort}&per_page=2&page={page}").get_json()
            assert body["total"] == 9 and body["total_capped"] is False
            seen.extend(item["id"] for item in body["items"])
        assert seen == [r["id"] for r in wanted], sort
        past = client.get(f"/api/v1/products?sort={sort}&per_page=2&page=6").get_json()
        assert past["items"] == [] and past["total"] == 9
    assert client.get("/api/v1/products?sort=cheapest").status_code == 400


def _two_line_order(
    client: FlaskClient, emulator: EmulatorServer, headers: dict[str, str], skus: list[int]
) -> dict[str, Any]:
    items = [{"sku_id": sku_id, "quantity": 2} for sku_id in skus]
    response = client.post(
        "/api/v1/orders", json={"items": items, "address": ADDRESS}, headers=headers
    )
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    emulator_pay(emulator.url, "wechat", start_pay(client, headers, order["id"])["out_trade_no"])
    return wait_for_status(client, headers, order["id"], "paid")


def test_sales_count_moves_on_pay_once_and_back_on_wholly_refunded_lines(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    cup = make_product(app, title="保温杯", price_fen=5000, stock=20)
    pot = make_product(app, title="茶壶", price_fen=3000, stock=20)
    headers = login(client, "sales-shopper")
    unpaid = client.post(
        "/api/v1/orders",
        json={"items": [{"sku_id": cup["sku_id"], "quantity": 5}], "address": ADDRESS},
        headers=headers,
    )
    assert unpaid.status_code == 201 and sales_count(app, cup["product_id"]) == 0

    order = pay_order(client, emulator.url, headers, cup["sku_id"], quantity=3)
    assert sales_count(app, cup["product_id"]) == 3
    with app.app_context():  # the gateway repeats its notify: counted once
        payment = db.session.scalar(select(Payment).where(Payment.order_id == order["id"]))
        again = apply_payment(
            "wechat", payment.out_trade_no, payment.transaction_id, payment.amount_fen
        )
        assert again == Outcome.DUPLICATE
    assert sales_count(app, cup["product_id"]) == 3
    first = client.get("/api/v1/products?sort=sales").get_json()["items"][0]
    assert first["id"] == cup["product_id"] and first["sales_count"] == 3

    with app.app_context():  # a partial refund keeps the units
        request_refund(order["id"], 1000, "部分退款")
    wait_for_status(client, headers, order["id"], "paid")
    assert sales_count(app, cup["product_id"]) == 3
    with app.app_context():  # the rest: the order is wholly refunded, its units go
        request_refund(order["id"], order["paid_fen"] - 1000, "余款")
    wait_for_status(client, headers, order["id"], "refunded")
    assert sales_count(app, cup["product_id"]) == 0

    both = _two_line_order(client, emulator, headers, [cup["sku_id"], pot["sku_id"]])
    assert (sales_count(app, cup["product_id"]), sales_count(app, pot["product_id"])) == (2, 2)
    pot_line = next(i for i in both["items"] if i["product_id"] == pot["product_id"])
    with app.app_context():  # one line refunded in full: only its product loses units
        request_refund(both["id"], pot_line["paid_fen"], "退茶壶", order_item_id=pot_line["id"])
    wait_for_status(client, headers, both["id"], "paid")
    assert get_order(client, headers, both["id"])["refunded_fen"] == pot_line["paid_fen"]
    assert (sales_count(app, cup["product_id"]), sales_count(app, pot["product_id"])) == (2, 0)
