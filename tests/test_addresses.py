"""The address book (GB/T 2260 region codes, at most 20, one default), the region picker,
and the order's copy of its address."""

from __future__ import annotations

from collections import Counter
from typing import Any

import requests
from flask import Flask
from flask.testing import FlaskClient

from tests.shop import ADDRESS, login, make_product, storm

BOOK = "/api/v1/me/addresses"
HOME = {"name": "王五", "phone": "13800138000", "region_code": "110101", "detail": "东单 1 号"}


def add(client: FlaskClient, headers: dict[str, str], **changes: Any) -> dict[str, Any]:
    response = client.post(BOOK, json={**HOME, **changes}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def book(client: FlaskClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = client.get(BOOK, headers=headers)
    assert response.status_code == 200
    return response.get_json()["items"]


def test_the_region_picker_walks_provinces_cities_and_districts(client: FlaskClient) -> None:
    provinces = client.get("/api/v1/regions").get_json()["items"]
    assert len(provinces) == 34
    assert {"code": "110000", "name": "北京市", "leaf": False} in provinces
    assert {"code": "810000", "name": "香港特别行政区", "leaf": True} in provinces
    # A municipality's one city bears its name; its districts are leaves.
    assert client.get("/api/v1/regions?parent=110000").get_json()["items"] == [
        {"code": "110100", "name": "北京市", "leaf": False}
    ]
    districts = client.get("/api/v1/regions?parent=110100").get_json()["items"]
    assert {"code": "110101", "name": "东城区", "leaf": True} in districts
    # 东莞 has no districts: a leaf city; 仙桃 sits under the province's direct counties.
    guangdong = client.get("/api/v1/regions?parent=440000").get_json()["items"]
    assert {"code": "441900", "name": "东莞市", "leaf": True} in guangdong
    hubei = client.get("/api/v1/regions?parent=420000").get_json()["items"]
    assert {"code": "429000", "name": "省直辖县级行政区", "leaf": False} in hubei
    assert client.get("/api/v1/regions?parent=441900").get_json()["items"] == []
    unknown = client.get("/api/v1/regions?parent=999999")
    assert unknown.status_code == 404
    assert "parent" in unknown.get_json()["error"]["fields"]


def test_the_first_address_is_the_default_and_setting_another_moves_it(
    client: FlaskClient,
) -> None:
    headers = login(client, "book-default")
    first = add(client, headers)
    assert first["is_default"] is True
    assert first["region"] == "北京市 东城区"
    assert (first["province_code"], first["city_code"], first["district_code"]) == (
        "110000",
        "110100",
        "110101",
    )
    second = add(client, headers, region_code="441900", detail="南城 8 号")
    assert second["is_default"] is False
    assert (second["region"], second["district_code"]) == ("广东省 东莞市", None)
    moved = client.post(f"{BOOK}/{second['id']}/default", headers=headers)
    assert moved.status_code == 200 and moved.get_json()["is_default"] is True
    listed = book(client, headers)
    assert [(a["id"], a["is_default"]) for a in listed] == [
        (second["id"], True),
        (first["id"], False),
    ]
    # Creating or editing with is_default moves it as well.
    third = add(client, headers, is_default=True)
    assert [a["id"] for a in book(client, headers) if a["is_default"]] == [third["id"]]
    edited = client.put(
        f"{BOOK}/{first['id']}",
        json={**HOME, "detail": "新地址", "is_default": True},
        headers=headers,
    )
    assert edited.status_code == 200 and edited.get_json()["detail"] == "新地址"
    assert [a["id"] for a in book(client, headers) if a["is_default"]] == [first["id"]]


def test_deleting_the_default_promotes_the_newest_left(client: FlaskClient) -> None:
    headers = login(client, "book-delete")
    first = add(client, headers)
    second = add(client, headers, detail="二号")
    third = add(client, headers, detail="三号")
    left = client.delete(f"{BOOK}/{first['id']}", headers=headers)
    assert left.status_code == 200
    assert [(a["id"], a["is_default"]) for a in left.get_json()["items"]] == [
        (third["id"], True),
        (second["id"], False),
    ]
    # Deleting one that is not the default leaves the default alone.
    client.delete(f"{BOOK}/{second['id']}", headers=headers)
    assert [(a["id"], a["is_default"]) for a in book(client, headers)] == [(third["id"], True)]
    client.delete(f"{BOOK}/{third['id']}", headers=headers)
    assert book(client, headers) == []


def test_a_book_holds_twenty_addresses(client: FlaskClient) -> None:
    headers = login(client, "book-full")
    for index in range(20):
        add(client, headers, detail=f"{index} 号")
    refused = client.post(BOOK, json=HOME, headers=headers)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "too_many_addresses"
    assert len(book(client, headers)) == 20
    assert sum(a["is_default"] for a in book(client, headers)) == 1


def test_unknown_or_non_leaf_region_codes_are_refused_naming_the_field(
    client: FlaskClient,
) -> None:
    headers = login(client, "book-codes")
    for code in ("999999", "110000", "440300"):  # unknown, a province, a city with districts
        refused = client.post(BOOK, json={**HOME, "region_code": code}, headers=headers)
        assert refused.status_code == 409, code
        assert refused.get_json()["error"]["code"] == "unknown_region"
        assert "region_code" in refused.get_json()["error"]["fields"]
    malformed = client.post(BOOK, json={**HOME, "region_code": "11010"}, headers=headers)
    assert malformed.status_code == 400
    assert "region_code" in malformed.get_json()["error"]["fields"]


def test_someone_elses_address_is_not_found(client: FlaskClient, app: Flask) -> None:
    owner = login(client, "book-owner")
    other = login(client, "book-other")
    mine = add(client, owner)
    for method, url in (
        ("put", f"{BOOK}/{mine['id']}"),
        ("post", f"{BOOK}/{mine['id']}/default"),
        ("delete", f"{BOOK}/{mine['id']}"),
    ):
        response = getattr(client, method)(url, json=HOME, headers=other)
        assert response.status_code == 404, (method, url)
    product = make_product(app)
    order = client.post(
        "/api/v1/orders",
        json={"items": [{"sku_id": product["sku_id"], "quantity": 1}], "address_id": mine["id"]},
        headers=other,
    )
    assert order.status_code == 404
    assert "address_id" in order.get_json()["error"]["fields"]
    assert len(book(client, owner)) == 1


def test_an_order_copies_its_address_and_keeps_it_after_edits(
    client: FlaskClient, app: Flask
) -> None:
    headers = login(client, "book-order")
    address = add(client, headers)
    product = make_product(app)
    placed = client.post(
        "/api/v1/orders",
        json={"items": [{"sku_id": product["sku_id"], "quantity": 1}], "address_id": address["id"]},
        headers=headers,
    )
    assert placed.status_code == 201, placed.get_json()
    copied = placed.get_json()["address"]
    assert copied == {
        "name": "王五",
        "phone": "13800138000",
        "region": "北京市 东城区",
        "region_code": "110101",
        "detail": "东单 1 号",
    }
    client.put(
        f"{BOOK}/{address['id']}",
        json={**HOME, "name": "赵六", "region_code": "441900", "detail": "改了"},
        headers=headers,
    )
    client.delete(f"{BOOK}/{address['id']}", headers=headers)
    order = client.get(f"/api/v1/orders/{placed.get_json()['id']}", headers=headers).get_json()
    assert order["address"] == copied


def test_inline_addresses_take_a_region_code_or_none(client: FlaskClient, app: Flask) -> None:
    headers = login(client, "book-inline")
    product = make_product(app)
    items = [{"sku_id": product["sku_id"], "quantity": 1}]
    coded = client.post(
        "/api/v1/orders",
        json={"items": items, "address": {**ADDRESS, "region": "随便写", "region_code": "310115"}},
        headers=headers,
    )
    assert coded.status_code == 201
    assert coded.get_json()["address"]["region"] == "上海市 浦东新区"
    assert coded.get_json()["address"]["region_code"] == "310115"
    legacy = client.post(
        "/api/v1/orders", json={"items": items, "address": ADDRESS}, headers=headers
    )
    assert legacy.status_code == 201
    assert legacy.get_json()["address"]["region"] == ADDRESS["region"]
    assert legacy.get_json()["address"]["region_code"] is None
    unknown = client.post(
        "/api/v1/orders",
        json={"items": items, "address": {**ADDRESS, "region_code": "999999"}},
        headers=headers,
    )
    assert unknown.status_code == 409
    assert unknown.get_json()["error"]["code"] == "unknown_region"
    assert "address.region_code" in unknown.get_json()["error"]["fields"]
    for body in ({"items": items}, {"items": items, "address": ADDRESS, "address_id": 1}):
        refused = client.post("/api/v1/orders", json=body, headers=headers)
        assert refused.status_code == 400
        assert "address" in refused.get_json()["error"]["fields"]


def test_concurrent_additions_stop_at_twenty_with_one_default(
    client: FlaskClient, app: Flask
) -> None:
    headers = login(client, "book-storm")
    for index in range(15):
        add(client, headers, detail=f"{index} 号")
    url = f"{app.config['LIVE_URL']}{BOOK}"

    def create(i: int) -> int:
        with requests.Session() as http:
            body = {**HOME, "detail": f"并发 {i}", "is_default": i % 2 == 0}
            return http.post(url, json=body, headers=headers, timeout=60).status_code

    assert Counter(storm(12, create)) == {201: 5, 409: 7}
    listed = book(client, headers)
    assert len(listed) == 20 and sum(a["is_default"] for a in listed) == 1
