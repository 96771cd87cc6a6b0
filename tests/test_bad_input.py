"""Whatever a client sends, the API answers a 4xx in the one error shape, never a 500, and
writes nothing it should not."""

from __future__ import annotations

import json

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.shop import ADDRESS, login, make_product, sku_stock

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)

order_like = st.fixed_dictionaries(
    {},
    optional={
        "items": st.lists(
            st.fixed_dictionaries(
                {},
                optional={"sku_id": json_values, "quantity": json_values, "extra": json_values},
            ),
            max_size=3,
        )
        | json_values,
        "address": st.fixed_dictionaries(
            {}, optional={k: json_values | st.just(v) for k, v in ADDRESS.items()}
        )
        | json_values,
        "remark": json_values,
    },
)

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def _assert_clean_4xx(response) -> None:  # type: ignore[no-untyped-def]
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data()[:200])
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "fields"}


def test_random_order_bodies_never_500(client: FlaskClient, app: Flask) -> None:
    product = make_product(app, stock=5)
    headers = login(client)

    @FUZZ
    @given(payload=order_like | json_values)
    def check(payload: object) -> None:
        response = client.post("/api/v1/orders", json=payload, headers=headers)
        if response.status_code == 201:  # a valid order slipped through: fine, cancel it
            client.post(f"/api/v1/orders/{response.get_json()['id']}/cancel", headers=headers)
            return
        _assert_clean_4xx(response)

    check()
    assert sku_stock(app, product["sku_id"]) == 5  # nothing reserved and left behind


def test_random_login_and_pay_bodies_never_500(client: FlaskClient, app: Flask) -> None:
    headers = login(client)

    @FUZZ
    @given(payload=json_values, raw=st.binary(max_size=64))
    def check(payload: object, raw: bytes) -> None:
        for url, extra in (("/api/v1/auth/login", {}), ("/api/v1/orders/1/pay", headers)):
            response = client.post(url, json=payload, headers=extra)
            if response.status_code < 300:
                continue
            _assert_clean_4xx(response)
            response = client.post(
                url, data=raw, headers={**extra, "Content-Type": "application/json"}
            )
            _assert_clean_4xx(response)

    check()


def test_random_query_strings_never_500(client: FlaskClient, app: Flask) -> None:
    headers = login(client)

    @FUZZ
    @given(
        params=st.dictionaries(
            st.sampled_from(["page", "per_page", "category_id", "status", "x"]),
            st.text(max_size=12),
            max_size=4,
        )
    )
    def check(params: dict[str, str]) -> None:
        for url in ("/api/v1/products", "/api/v1/orders"):
            response = client.get(url, query_string=params, headers=headers)
            if response.status_code != 200:
                _assert_clean_4xx(response)

    check()


def test_oversized_bodies_are_refused(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/auth/login",
        data=json.dumps({"code": "x" * (2 * 1024 * 1024)}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
