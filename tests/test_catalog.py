"""The catalogue as shoppers see it."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.shop import make_product


def test_products_are_paginated_filtered_and_only_on_shelf(client: FlaskClient, app: Flask) -> None:
    tea = make_product(app, title="龙井", category="茶叶", price_fen=26800)
    for n in range(4):
        make_product(app, title=f"毛巾{n}", price_fen=3990)
    hidden = make_product(app, title="下架商品", on_shelf=False)

    page1 = client.get("/api/v1/products?per_page=3").get_json()
    assert page1["total"] == 5 and len(page1["items"]) == 3
    page2 = client.get("/api/v1/products?per_page=3&page=2").get_json()
    ids = {p["id"] for p in page1["items"]} | {p["id"] for p in page2["items"]}
    assert len(ids) == 5 and hidden["product_id"] not in ids

    teas = client.get(f"/api/v1/products?category_id={tea['category_id']}").get_json()
    assert [p["title"] for p in teas["items"]] == ["龙井"]
    assert teas["items"][0]["min_price_fen"] == 26800

    categories = client.get("/api/v1/categories").get_json()["items"]
    assert [c["name"] for c in categories] == ["茶叶"]


def test_product_detail_has_skus_in_fen_and_off_shelf_is_404(
    client: FlaskClient, app: Flask
) -> None:
    product = make_product(app, price_fen=1234, stock=7, skus=2)
    detail = client.get(f"/api/v1/products/{product['product_id']}").get_json()
    assert [s["price_fen"] for s in detail["skus"]] == [1234, 1234]
    assert detail["skus"][0]["stock"] == 7
    assert detail["images"] == ["https://img.example/p.jpg"]

    off = make_product(app, on_shelf=False)
    response = client.get(f"/api/v1/products/{off['product_id']}")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/products/999999").status_code == 404


def test_bad_paging_parameters_name_the_field(client: FlaskClient) -> None:
    for query, field in (
        ("per_page=500", "per_page"),
        ("page=0", "page"),
        ("page=abc", "page"),
        ("category_id=x", "category_id"),
    ):
        response = client.get(f"/api/v1/products?{query}")
        assert response.status_code == 400
        assert field in response.get_json()["error"]["fields"]
