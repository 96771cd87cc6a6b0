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
                path = path.replace(f"<int:{arg}>", f"{{{arg}}}")
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
    assert params == {"page", "per_page", "category_id"}


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
