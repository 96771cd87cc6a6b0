"""The open API as an ERP uses it: signed requests (refused with the reason when the
signature is wrong, the timestamp stale, the nonce replayed, the scope missing or the rate
spent), orders changed since a cursor, shipments through the panel's path, stock batches
applied once per request id and all or nothing, products read, its OpenAPI document."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from tests.open_api_client import Erp, make_key, signed_headers
from tests.shop import login, make_product, pay_order, place_order, sku_stock
from wxdist.core.extensions import db
from wxdist.integrations import api_keys, endpoints
from wxdist.models import ApiKey, Order, Shipment, ShippingSync, Sku, WebhookEvent
from wxdist.models.types import utcnow

ALL = ["orders:read", "shipments:write", "stock:write", "products:read"]


def _erp(app: Flask, client: FlaskClient, scopes: list[str] | None = None, rate: int = 600) -> Erp:
    key_id, secret = make_key(app, scopes or ALL, rate)
    return Erp(client, key_id, secret)


def _time_passes(app: Flask) -> None:
    """Every order's last change is older than the feed's settling margin."""
    with app.app_context():
        for order_id, at in db.session.execute(select(Order.id, Order.updated_at)).all():
            db.session.execute(
                update(Order).where(Order.id == order_id)
                .values(updated_at=at - timedelta(seconds=6))
            )  # fmt: skip
        db.session.commit()


def _code(app: Flask, sku_id: int, code: str) -> None:
    with app.app_context():
        db.session.execute(update(Sku).where(Sku.id == sku_id).values(code=code))
        db.session.commit()


def _refusal(response: Any, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code, error
    if field is not None:
        assert field in error["fields"], error


def test_each_wrong_request_is_refused_with_its_reason(app: Flask, client: FlaskClient) -> None:
    erp = _erp(app, client, ["products:read"])
    assert erp.get("/products").status_code == 200
    path = "/open/v1/products"
    good = signed_headers(erp.key_id, erp.secret, "GET", path, b"")
    _refusal(client.get(path), 401, "signature_missing", "X-Wxdist-Key")
    forged = {**good, "X-Wxdist-Signature": "v1=" + "0" * 64}
    _refusal(client.get(path, headers=forged), 401, "bad_signature", "X-Wxdist-Signature")
    other_secret = signed_headers(erp.key_id, "wxsk_not-the-secret", "GET", path, b"")
    _refusal(client.get(path, headers=other_secret), 401, "bad_signature")
    stale = signed_headers(
        erp.key_id, erp.secret, "GET", path, b"", timestamp=int(time.time()) - 301
    )
    _refusal(client.get(path, headers=stale), 401, "stale_timestamp", "X-Wxdist-Timestamp")
    ahead = signed_headers(
        erp.key_id, erp.secret, "GET", path, b"", timestamp=int(time.time()) + 400
    )
    _refusal(client.get(path, headers=ahead), 401, "stale_timestamp")
    assert client.get(path, headers=good).status_code == 200
    _refusal(client.get(path, headers=good), 401, "replayed_nonce", "X-Wxdist-Nonce")  # same again
    # The signature covers the query: the same headers on another page do not pass.
    moved = signed_headers(erp.key_id, erp.secret, "GET", path + "?after_id=0", b"")
    _refusal(client.get(path + "?after_id=5", headers=moved), 401, "bad_signature")
    _refusal(erp.get("/orders"), 403, "wrong_scope")
    _refusal(erp.post("/stock", {"request_id": "r1", "items": []}), 403, "wrong_scope")
    unknown = signed_headers("wxk_nosuchkey", erp.secret, "GET", path, b"")
    _refusal(client.get(path, headers=unknown), 401, "unknown_key", "X-Wxdist-Key")
    with app.app_context():
        api_keys.revoke(db.session.scalar(select(ApiKey.id).where(ApiKey.key_id == erp.key_id)))
    _refusal(erp.get("/products"), 401, "key_revoked")


def test_a_tampered_body_is_refused(app: Flask, client: FlaskClient) -> None:
    erp = _erp(app, client, ["stock:write"])
    product = make_product(app, stock=5)
    _code(app, product["sku_id"], "SKU-T")
    body = b'{"request_id": "t1", "items": [{"sku_code": "SKU-T", "set": 1}]}'
    headers = signed_headers(erp.key_id, erp.secret, "POST", "/open/v1/stock", body)
    tampered = body.replace(b'"set": 1', b'"set": 900')
    sent = client.post("/open/v1/stock", data=tampered, headers=headers,
                       content_type="application/json")  # fmt: skip
    _refusal(sent, 401, "bad_signature")
    assert sku_stock(app, product["sku_id"]) == 5


def test_a_key_past_its_rate_waits(app: Flask, client: FlaskClient) -> None:
    erp = _erp(app, client, ["products:read"], rate=3)
    assert [erp.get("/products").status_code for _ in range(3)] == [200, 200, 200]
    refused = erp.get("/products")
    _refusal(refused, 429, "rate_limited")
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    other = _erp(app, client, ["products:read"], rate=3)  # each key has its own count
    assert other.get("/products").status_code == 200


def test_orders_changed_since_a_cursor(app: Flask, client: FlaskClient, emulator: Any) -> None:
    erp = _erp(app, client, ["orders:read", "shipments:write"])
    product = make_product(app, stock=10)
    shopper = login(client, "erp-buyer")
    paid = pay_order(client, emulator.url, shopper, product["sku_id"], 2)
    unpaid = place_order(client, shopper, product["sku_id"])
    fresh = erp.get("/orders").get_json()
    assert fresh["orders"] == []  # changed under 5 s ago: not settled yet
    _time_passes(app)
    first = erp.get("/orders", limit=1).get_json()
    assert [o["order_no"] for o in first["orders"]] == [paid["order_no"]] and first["has_more"]
    assert first["orders"][0]["status"] == "paid" and first["orders"][0]["paid_fen"] == 3980
    assert first["orders"][0]["items"][0]["quantity"] == 2
    second = erp.get("/orders", cursor=first["next_cursor"]).get_json()
    assert [o["order_no"] for o in second["orders"]] == [unpaid["order_no"]]
    assert second["has_more"] is False
    caught_up = erp.get("/orders", cursor=second["next_cursor"]).get_json()
    assert caught_up == {"orders": [], "next_cursor": second["next_cursor"], "has_more": False}
    shipped = erp.post("/shipments", {"request_id": "ship-1", "order_no": paid["order_no"],
                                      "delivery_id": "ZTO", "tracking_no": "ZT100"})  # fmt: skip
    assert shipped.status_code == 201, shipped.get_json()
    _time_passes(app)
    again = erp.get("/orders", cursor=second["next_cursor"]).get_json()
    assert [(o["order_no"], o["status"], o["tracking_no"]) for o in again["orders"]] == [
        (paid["order_no"], "shipped", "ZT100")
    ]
    _refusal(erp.get("/orders", cursor="not-a-cursor"), 400, "invalid", "cursor")
    _refusal(erp.get("/orders", limit=500), 400, "invalid", "limit")


def test_a_shipment_goes_the_panels_way_once(
    app: Flask, client: FlaskClient, emulator: Any
) -> None:
    erp = _erp(app, client, ["shipments:write"])
    with app.app_context():
        endpoints.create("http://127.0.0.1:9/hook", ["order.shipped"])
    product = make_product(app, stock=10)
    shopper = login(client, "erp-ship")
    paid = pay_order(client, emulator.url, shopper, product["sku_id"], 1)
    ask = {"request_id": "ship-42", "order_no": paid["order_no"], "delivery_id": "ZTO",
           "tracking_no": "ZT42"}  # fmt: skip
    first = erp.post("/shipments", ask)
    assert first.status_code == 201, first.get_json()
    answer = first.get_json()
    assert answer["order_status"] == "shipped"
    assert answer["shipment"]["tracking_no"] == "ZT42" and answer["shipment"]["seq"] == 1
    again = erp.post("/shipments", ask)  # a retry of the same request: the same answer
    assert (again.status_code, again.get_json()) == (201, answer)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Shipment)) == 1
        assert db.session.scalar(select(ShippingSync.version)) >= 1  # WeChat upload queued
        types = db.session.scalars(select(WebhookEvent.type)).all()
        assert types == ["order.shipped"]
    _refusal(erp.post("/shipments", {**ask, "tracking_no": "OTHER"}), 409, "request_id_reused",
             "request_id")  # fmt: skip
    second = erp.post("/shipments", {**ask, "request_id": "ship-43"})
    _refusal(second, 409, "invalid_status")  # shipped already: the panel's own refusal
    missing = erp.post("/shipments", {**ask, "request_id": "ship-44", "order_no": "nope"})
    _refusal(missing, 404, "not_found", "order_no")
    bad = erp.post("/shipments", {**ask, "request_id": "ship-45", "delivery_id": "MOON"})
    assert bad.status_code in (400, 409)


def _line(code: str, **change: int) -> dict[str, Any]:
    return {"sku_code": code, **change}


def test_a_stock_batch_applies_once_and_all_or_nothing(app: Flask, client: FlaskClient) -> None:
    erp = _erp(app, client, ["stock:write", "products:read"])
    with app.app_context():
        endpoints.create("http://127.0.0.1:9/hook", ["stock.low", "stock.out"])
    product = make_product(app, stock=10, skus=2)
    a, b = product["sku_ids"]
    m, el = "TEE-RED-M", "TEE-RED-L"
    _code(app, a, m)
    _code(app, b, el)
    batch = {"request_id": "wms-0001", "items": [_line(m, set=40), _line(el, delta=-3)]}
    first = erp.post("/stock", batch)
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["items"] == [{"sku_code": m, "stock": 40}, {"sku_code": el, "stock": 7}]
    again = erp.post("/stock", batch)
    assert (again.status_code, again.get_json()) == (200, first.get_json())
    assert (sku_stock(app, a), sku_stock(app, b)) == (40, 7)  # changed once
    reused = erp.post("/stock", {**batch, "items": batch["items"][:1]})
    _refusal(reused, 409, "request_id_reused", "request_id")
    unknown = {"request_id": "wms-0002", "items": [_line(m, delta=5), _line("NOPE", delta=1)]}
    unknown = erp.post("/stock", unknown)
    _refusal(unknown, 400, "invalid", "items.1.sku_code")
    below = {"request_id": "wms-0003", "items": [_line(m, delta=-1), _line(el, delta=-8)]}
    _refusal(erp.post("/stock", below), 409, "stock_below_zero", "items.1.delta")
    assert (sku_stock(app, a), sku_stock(app, b)) == (40, 7)  # nothing of either applied
    below["items"][1]["delta"] = -7
    assert erp.post("/stock", below).status_code == 200  # a refused request id is free again
    assert (sku_stock(app, a), sku_stock(app, b)) == (39, 0)
    with app.app_context():  # 10 -> 7 was low (at 10 or below), 7 -> 0 sold out: at once
        events = db.session.execute(select(WebhookEvent.type, WebhookEvent.body)).all()
    assert [(t, el in body) for t, body in events] == [("stock.low", True), ("stock.out", True)]
    both = erp.post("/stock", {"request_id": "wms-0004", "items": [_line(m, set=1, delta=1)]})
    _refusal(both, 400, "invalid", "items.0")
    twice = erp.post("/stock", {"request_id": "wms-0005",
                                "items": [_line(m, set=1), _line(m, set=2)]})  # fmt: skip
    _refusal(twice, 400, "invalid", "items.1.sku_code")
    too_many = {"request_id": "wms-0006", "items": [_line(m, set=1)] * 101}
    _refusal(erp.post("/stock", too_many), 400, "invalid", "items")
    _refusal(erp.post("/stock", {"request_id": "bad id!", "items": batch["items"]}), 400,
             "invalid", "request_id")  # fmt: skip
    listed = erp.get("/products").get_json()["products"]
    skus = {s["code"]: s["stock"] for p in listed for s in p["skus"]}
    assert skus == {m: 39, el: 0}


def test_the_api_document_describes_every_operation(client: FlaskClient) -> None:
    spec = client.get("/open/v1/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0"
    operations = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert operations == {("/orders", "get"), ("/products", "get"), ("/shipments", "post"),
                          ("/stock", "post")}  # fmt: skip
    stock = spec["paths"]["/stock"]["post"]
    assert stock["security"] == [{"signed": []}] and "stock:write" in stock["description"]
    assert {"200", "400", "401", "403", "409", "429"} <= set(stock["responses"])
    assert "replayed_nonce" in spec["info"]["description"]
    schema = stock["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert schema.rsplit("/", 1)[1] in spec["components"]["schemas"]
    from openapi_spec_validator import validate

    validate(spec)


def test_the_nonces_of_a_window_past_are_forgotten(app: Flask, client: FlaskClient) -> None:
    from wxdist.integrations import request_signing
    from wxdist.models import ApiNonce

    erp = _erp(app, client, ["products:read"])
    headers = signed_headers(erp.key_id, erp.secret, "GET", "/open/v1/products", b"")
    assert client.get("/open/v1/products", headers=headers).status_code == 200
    with app.app_context():
        db.session.execute(update(ApiNonce).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        assert request_signing.purge() == 1
