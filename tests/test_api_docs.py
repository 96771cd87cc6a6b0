"""The OpenAPI document describes every API route, and the docs page renders it locally."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient


def test_openapi_lists_every_api_route_with_its_schemas(client: FlaskClient, app: Flask) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    routed = set()
    for rule in app.url_map.iter_rules():
        if (
            rule.rule.startswith("/api/v1")
            and "openapi" not in rule.rule
            and "docs" not in rule.rule
        ):
            path = rule.rule.removeprefix("/api/v1")
            for arg in rule.arguments:
                path = path.replace(f"<int:{arg}>", f"{{{arg}}}").replace(f"<{arg}>", f"{{{arg}}}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routed.add((path, method.lower()))
    assert routed == documented

    create = spec["paths"]["/orders"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body == "#/components/schemas/OrderIn"
    assert set(create["responses"]) >= {"201", "400", "401", "409"}
    order_schema = spec["components"]["schemas"]["OrderOut"]
    assert order_schema["properties"]["payable_fen"]["type"] == "integer"
    assert spec["paths"]["/me"]["get"]["security"] == [{"bearer": []}]
    params = {p["name"] for p in spec["paths"]["/products"]["get"]["parameters"]}
    assert params == {
        "page",
        "per_page",
        "category_id",
        "q",
        "min_price_fen",
        "max_price_fen",
        "sort",
    }


def test_docs_page_and_its_assets_are_served_without_a_cdn(client: FlaskClient) -> None:
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "openapi.json" in html and "http" not in html.split("<body>")[1]
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js"):
        response = client.get(f"/api/v1/docs/assets/{asset}")
        assert response.status_code == 200 and len(response.data) > 10_000
        response.close()
    assert client.get("/api/v1/docs/assets/..%2Fsecret").status_code == 404


def test_unknown_api_routes_and_methods_answer_the_json_error_shape(client: FlaskClient) -> None:
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert set(missing.get_json()["error"]) == {"code", "message", "fields"}
    wrong = client.delete("/api/v1/products")
    assert wrong.status_code == 405 and wrong.get_json()["error"]["code"] == "method_not_allowed"


def _statuses(spec: dict, method: str, path: str) -> set[str]:
    return set(spec["paths"][path][method]["responses"])


def test_the_document_lists_every_status_the_server_answers(
    client: FlaskClient, app: Flask
) -> None:
    from tests.shop import ADDRESS, login, make_product

    spec = client.get("/api/v1/openapi.json").get_json()
    # Login answers 201 for a new user and 200 for one who logged in before: both documented.
    assert client.post("/api/v1/auth/login", json={"code": "docs-1"}).status_code == 201
    again = client.post("/api/v1/auth/login", json={"code": "docs-1"})
    assert again.status_code == 200
    assert {"200", "201", "400", "413", "502"} <= _statuses(spec, "post", "/auth/login")
    login_out = spec["paths"]["/auth/login"]["post"]["responses"]["200"]["content"]
    assert login_out["application/json"]["schema"]["$ref"].endswith("/LoginOut")
    # Every route's edge statuses: a body or query can be refused, a path id can name nothing.
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            if "requestBody" in operation:
                assert {"400", "413"} <= statuses, (method, path)
            if any(p["in"] == "query" for p in operation["parameters"]):
                assert "400" in statuses, (method, path)
            for parameter in operation["parameters"]:
                if parameter["in"] == "path":
                    assert "404" in statuses, (method, path)
                    assert parameter["schema"]["maximum"] == 2**63 - 1
            if "security" in operation:
                assert "401" in statuses, (method, path)
    # Images are documented as images, with their 304.
    code = spec["paths"]["/distributor/code"]["get"]["responses"]
    assert "image/png" in code["200"]["content"] and "304" in code
    assert (
        "image/jpeg" in spec["paths"]["/distributor/poster"]["get"]["responses"]["200"]["content"]
    )

    # Lines of one SKU count together: more than 999 in all is a documented 409.
    product = make_product(app, stock=2000)
    line = {"sku_id": product["sku_id"], "quantity": 600}
    response = client.post(
        "/api/v1/orders",
        json={"items": [line, line], "address": ADDRESS},
        headers=login(client),
    )
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["error"]["code"] == "too_many"
    assert "409" in _statuses(spec, "post", "/orders")
    items = spec["components"]["schemas"]["OrderIn"]["properties"]["items"]
    assert "999" in items["description"] and "too_many" in items["description"]


def test_a_405_says_which_methods_are_allowed(client: FlaskClient) -> None:
    for method, path in (("delete", "/api/v1/products"), ("put", "/api/v1/orders/1")):
        response = client.open(path, method=method.upper())
        assert response.status_code == 405
        assert response.get_json()["error"]["code"] == "method_not_allowed"
        allowed = {m.strip() for m in response.headers["Allow"].split(",")}
        assert "GET" in allowed and method.upper() not in allowed


def test_the_withdrawal_schema_is_as_strict_as_the_server(client: FlaskClient, app: Flask) -> None:
    from tests.shop import set_settings

    def variants() -> dict[str, dict]:
        spec = client.get("/api/v1/openapi.json").get_json()
        schemas = spec["components"]["schemas"]
        union = schemas["WithdrawalIn"]
        assert union["discriminator"]["propertyName"] == "method"
        return {
            method: schemas[ref.rsplit("/", 1)[1]]
            for method, ref in union["discriminator"]["mapping"].items()
        }

    served = variants()
    assert set(served) == {"wechat", "alipay", "bank"}
    assert served["wechat"]["properties"]["amount_fen"]["minimum"] == 100  # the default
    # Each method's account fields are required, as the server requires them.
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    bank = schemas["BankAccountIn"]
    assert set(bank["required"]) == {"bank_name", "card_number", "holder"}
    assert "pattern" in bank["properties"]["card_number"]
    assert set(schemas["AlipayAccountIn"]["required"]) == {"alipay_login", "real_name"}
    assert "account" in served["bank"]["required"] and "account" in served["alipay"]["required"]

    # The document follows the merchant's settings: the minimum, maximum and methods.
    set_settings(app, withdraw_min_fen=200, withdraw_max_fen=3000, withdraw_methods="wechat,alipay")
    served = variants()
    assert set(served) == {"wechat", "alipay"}
    for variant in served.values():
        assert variant["properties"]["amount_fen"]["minimum"] == 200
        assert variant["properties"]["amount_fen"]["maximum"] == 3000
