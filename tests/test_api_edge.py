"""The API's edge under hostile input: over-deep or malformed JSON, lax types, ids beyond 64
bits, names made of invisible characters, and one rule for non-distributors. Each answers a
4xx in the one error shape, naming the field, never a 500, and writes nothing."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.shop import ADDRESS, become_distributor, login, make_product, sku_stock
from wxdist.accounts.auth import TOKEN_SALT
from wxdist.core.extensions import db
from wxdist.models import Order

DEEP = 10_000
MALFORMED_BODIES = {
    "10k nested arrays": "[" * DEEP + "]" * DEEP,
    "10k nested objects": '{"a":' * DEEP + "1" + "}" * DEEP,
    "40 nested arrays": '{"code": ' + "[" * 40 + "]" * 40 + "}",
    "40 nested objects in a field": '{"code": ' + '{"a":' * 40 + "1" + "}" * 40 + "}",
    "NaN": '{"code": NaN}',
    "Infinity": '{"amount_fen": Infinity}',
    "a lone surrogate": '{"code": "\\ud800x"}',
    "truncated": '{"code": "x"',
    "not UTF-8": b'{"code": "\xff\xfe"}',
    "empty": "",
}


def _json_operations(client: FlaskClient) -> list[tuple[str, str]]:
    spec = client.get("/api/v1/openapi.json").get_json()
    found = [
        (method, re.sub(r"\{[a-z_]+\}", "1", path))
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]
    assert len(found) >= 6  # login, orders, pay, bind, application, withdrawals, scan
    return found


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_data()[:300])
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "fields"}
    return error


def test_deep_or_malformed_json_is_invalid_json_on_every_route_that_reads_json(
    client: FlaskClient, app: Flask
) -> None:
    headers = {**login(client), "Content-Type": "application/json"}
    for method, path in _json_operations(client):
        for name, raw in MALFORMED_BODIES.items():
            response = client.open(f"/api/v1{path}", method=method, data=raw, headers=headers)
            error = _error(response, 400)
            assert error["code"] == "invalid_json", (path, name, error)
            assert "body" in error["fields"], (path, name)
    # A body as deep as the limit allows is still read (and then judged by its schema).
    shallow = {"code": json.loads("[" * 30 + "]" * 30)}
    error = _error(client.post("/api/v1/auth/login", json=shallow), 400)
    assert error["code"] == "invalid" and "code" in error["fields"]


def test_types_are_strict_and_the_error_names_the_field(client: FlaskClient, app: Flask) -> None:
    product = make_product(app, stock=5)
    headers = login(client)
    line = {"sku_id": product["sku_id"], "quantity": 1}
    order_cases = [
        ({"sku_id": product["sku_id"], "quantity": "1"}, "items.0.quantity"),
        ({"sku_id": product["sku_id"], "quantity": True}, "items.0.quantity"),
        ({"sku_id": product["sku_id"], "quantity": 1.5}, "items.0.quantity"),
        ({"sku_id": str(product["sku_id"]), "quantity": 1}, "items.0.sku_id"),
        ({"sku_id": True, "quantity": 1}, "items.0.sku_id"),
    ]
    for bad_line, field in order_cases:
        response = client.post(
            "/api/v1/orders", json={"items": [bad_line], "address": ADDRESS}, headers=headers
        )
        assert field in _error(response, 400)["fields"], bad_line
    for address, field in (
        ({**ADDRESS, "phone": 13900139000}, "address.phone"),
        ({**ADDRESS, "name": 5}, "address.name"),
    ):
        response = client.post(
            "/api/v1/orders", json={"items": [line], "address": address}, headers=headers
        )
        assert field in _error(response, 400)["fields"]
    assert sku_stock(app, product["sku_id"]) == 5
    with app.app_context():
        assert db.session.query(Order).count() == 0
    # 2.0 is the integer 2 to JSON Schema (the document's language), so it is one here too.
    response = client.post(
        "/api/v1/orders",
        json={"items": [{"sku_id": float(product["sku_id"]), "quantity": 2.0}], "address": ADDRESS},
        headers=headers,
    )
    assert response.status_code == 201 and response.get_json()["items"][0]["quantity"] == 2

    for url, payload, field in (
        ("/api/v1/auth/login", {"code": 123}, "code"),
        ("/api/v1/referral/bind", {"scene": 1}, "scene"),
        ("/api/v1/share/scan", {"scene": False}, "scene"),
        ("/api/v1/distributor/application", {"real_name": "王五", "phone": 1370013}, "phone"),
        (
            "/api/v1/distributor/withdrawals",
            {"amount_fen": "100", "method": "wechat"},
            "amount_fen",
        ),
        ("/api/v1/distributor/withdrawals", {"amount_fen": True, "method": "wechat"}, "amount_fen"),
    ):
        response = client.post(url, json=payload, headers=headers)
        assert field in _error(response, 400)["fields"], (url, payload)

    # A query string is text: only plain decimal digits count as a number.
    for query, field in (
        ("page=1.0", "page"),
        ("page=1_0", "page"),
        ("per_page=%2B5", "per_page"),
        ("category_id=true", "category_id"),
        ("category_id=%201", "category_id"),
    ):
        assert field in _error(client.get(f"/api/v1/products?{query}"), 400)["fields"], query
    assert client.get("/api/v1/products?page=1&per_page=5").status_code == 200


def _signed_token(app: Flask, payload: dict[str, Any]) -> str:
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=TOKEN_SALT).dumps(payload)


@pytest.mark.parametrize("big", [2**63, 10**30])
def test_ids_beyond_64_bits_answer_404_or_400_never_500(
    client: FlaskClient, app: Flask, big: int
) -> None:
    product = make_product(app)
    shopper = login(client)
    distributor = become_distributor(client, "edge-ids")["headers"]
    for method, path, headers in (
        ("GET", f"/products/{big}", {}),
        ("GET", f"/orders/{big}", shopper),
        ("POST", f"/orders/{big}/cancel", shopper),
        ("POST", f"/orders/{big}/confirm-receipt", shopper),
        ("GET", f"/distributor/withdrawals/{big}", distributor),
        ("POST", f"/distributor/withdrawals/{big}/cancel", distributor),
    ):
        response = client.open(f"/api/v1{path}", method=method, headers=headers)
        assert _error(response, 404)["fields"], path
    response = client.post(f"/api/v1/orders/{big}/pay", json={"channel": "wechat"}, headers=shopper)
    _error(response, 404)
    for path, headers, field in (
        (f"/products?category_id={big}", {}, "category_id"),
        (f"/distributor/share-link?product_id={big}", distributor, "product_id"),
        (f"/distributor/code?product_id={big}", distributor, "product_id"),
        (f"/distributor/poster?product_id={big}", distributor, "product_id"),
    ):
        assert field in _error(client.get(f"/api/v1{path}", headers=headers), 400)["fields"]
    response = client.post(
        "/api/v1/orders",
        json={"items": [{"sku_id": big, "quantity": 1}], "address": ADDRESS},
        headers=shopper,
    )
    assert "items.0.sku_id" in _error(response, 400)["fields"]
    # A genuine signature over an impossible user id is just an invalid token.
    for uid in (big, True, -1):
        token = _signed_token(app, {"uid": uid, "v": 0})
        for path in ("/me", "/orders", "/distributor/poster"):
            response = client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {token}"})
            assert _error(response, 401)["code"] == "invalid_token", (uid, path)
    response = client.post(
        "/api/v1/orders",
        json={"items": [{"sku_id": product["sku_id"], "quantity": 1}], "address": ADDRESS},
        headers={"Authorization": f"Bearer {_signed_token(app, {'uid': big, 'v': 0})}"},
    )
    _error(response, 401)
    # The largest id is still an id: it names nothing here.
    _error(client.get(f"/api/v1/products/{2**63 - 1}"), 404)
    assert sku_stock(app, product["sku_id"]) == 10


INVISIBLE = [
    "\u200b",  # zero-width space
    "\u200b\u200c\u200d\u2060",  # zero-width (non-)joiners, word joiner
    "\u0301\u0308",  # combining marks alone
    "\u202e\u202d",  # bidi overrides
    "\ufeff",  # byte order mark
    "\u3000\u00a0",  # ideographic and no-break spaces
    "\x07\x1b",  # control characters
    "\U000e0041",  # a tag character
]
ORDINARY = ["张三", "阿卜杜·热合曼", "John Smith", "O'Brien", "Zoë"]


def test_names_made_only_of_invisible_characters_are_refused(
    client: FlaskClient, app: Flask
) -> None:
    product = make_product(app, stock=50)
    shopper = login(client)
    for name in INVISIBLE + ORDINARY:
        response = client.post(
            "/api/v1/orders",
            json={
                "items": [{"sku_id": product["sku_id"], "quantity": 1}],
                "address": {**ADDRESS, "name": name},
            },
            headers=shopper,
        )
        if name in ORDINARY:
            assert response.status_code == 201, (name, response.get_json())
            assert response.get_json()["address"]["name"] == name
        else:
            assert "address.name" in _error(response, 400)["fields"], repr(name)

    applicant = login(client, "edge-applicant")
    for name in INVISIBLE:
        response = client.post(
            "/api/v1/distributor/application",
            json={"real_name": name, "phone": "13700137000"},
            headers=applicant,
        )
        assert "real_name" in _error(response, 400)["fields"], repr(name)
    response = client.post(
        "/api/v1/distributor/application",
        json={"real_name": "阿卜杜·热合曼", "phone": "13700137000"},
        headers=applicant,
    )
    assert response.status_code == 201, response.get_json()

    for name in INVISIBLE:
        for method, account, field in (
            ("alipay", {"alipay_login": "a@example.com", "real_name": name}, "real_name"),
            (
                "bank",
                {"bank_name": "招商银行", "card_number": "6225880123456789", "holder": name},
                "holder",
            ),
            ("wechat", {"real_name": name}, "real_name"),
        ):
            if method == "wechat" and not name.strip():
                continue  # WeChat's real name is optional: blank means none given
            response = client.post(
                "/api/v1/distributor/withdrawals",
                json={"amount_fen": 1000, "method": method, "account": account},
                headers=applicant,
            )
            assert f"account.{field}" in _error(response, 400)["fields"], (method, repr(name))


def test_every_distributor_endpoint_refuses_a_non_distributor_alike(
    client: FlaskClient, app: Flask
) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    outsider = login(client, "edge-outsider")
    bodies = {
        "/distributor/withdrawals": {"amount_fen": 1000, "method": "wechat"},
    }
    checked = []
    for path, operations in spec["paths"].items():
        if not path.startswith("/distributor"):
            continue
        for method in operations:
            if (method, path) in (("get", "/distributor"), ("post", "/distributor/application")):
                continue
            url = "/api/v1" + re.sub(r"\{\w+_id\}", "1", path)  # any id: refused before it is read
            response = client.open(
                url, method=method.upper(), json=bodies.get(path), headers=outsider
            )
            error = _error(response, 403)
            assert error["code"] == "not_distributor", (method, path, error)
            assert "403" in operations[method]["responses"], (method, path)
            checked.append((method, path))
    assert len(checked) >= 12
    # A pending applicant is not a distributor yet either.
    from tests.shop import set_settings

    set_settings(app, distributor_mode="application", application_review="manual")
    pending = become_distributor(client, "edge-pending")["headers"]
    for method, path in (("get", "/distributor/withdrawals"), ("get", "/distributor/team")):
        response = client.open(f"/api/v1{path}", method=method.upper(), headers=pending)
        assert _error(response, 403)["code"] == "not_distributor"
    response = client.post(
        "/api/v1/distributor/withdrawals", json=bodies["/distributor/withdrawals"], headers=pending
    )
    assert _error(response, 403)["code"] == "not_distributor"
