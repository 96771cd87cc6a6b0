"""Placing, reading, cancelling and receiving orders through the API."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.shop import ADDRESS, get_order, login, make_product, place_order, sku_stock
from wxdist.core.extensions import db
from wxdist.models import Order
from wxdist.shop.shipments import ship_whole_order


def test_an_order_reserves_stock_and_answers_totals_in_fen(client: FlaskClient, app: Flask) -> None:
    a = make_product(app, price_fen=1990, stock=5)
    b = make_product(app, price_fen=350, stock=100)
    headers = login(client)
    response = client.post(
        "/api/v1/orders",
        json={
            "items": [
                {"sku_id": a["sku_id"], "quantity": 2},
                {"sku_id": b["sku_id"], "quantity": 3},
                {"sku_id": a["sku_id"], "quantity": 1},  # merged with the first line
            ],
            "address": ADDRESS,
            "remark": "请尽快发货",
        },
        headers=headers,
    )
    assert response.status_code == 201
    order = response.get_json()
    assert order["status"] == "pending_payment"
    assert len(order["order_no"]) == 24
    assert order["goods_fen"] == 3 * 1990 + 3 * 350
    assert order["payable_fen"] == order["goods_fen"]
    assert sorted((i["sku_id"], i["quantity"], i["amount_fen"]) for i in order["items"]) == sorted(
        [(a["sku_id"], 3, 5970), (b["sku_id"], 3, 1050)]
    )
    assert order["address"]["phone"] == ADDRESS["phone"]
    assert order["created_at"].endswith("+08:00")
    assert sku_stock(app, a["sku_id"]) == 2 and sku_stock(app, b["sku_id"]) == 97


def test_too_little_stock_is_409_and_writes_nothing(client: FlaskClient, app: Flask) -> None:
    a = make_product(app, stock=5)
    b = make_product(app, stock=1)
    headers = login(client)
    response = client.post(
        "/api/v1/orders",
        json={
            "items": [
                {"sku_id": a["sku_id"], "quantity": 2},
                {"sku_id": b["sku_id"], "quantity": 2},
            ],
            "address": ADDRESS,
        },
        headers=headers,
    )
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "out_of_stock" and "items.1.quantity" in error["fields"]
    assert sku_stock(app, a["sku_id"]) == 5  # the first line's reservation rolled back
    with app.app_context():
        assert db.session.query(Order).count() == 0


def test_off_shelf_or_unknown_skus_are_refused(client: FlaskClient, app: Flask) -> None:
    off = make_product(app, on_shelf=False)
    headers = login(client)
    for sku_id in (off["sku_id"], 987654):
        response = client.post(
            "/api/v1/orders",
            json={"items": [{"sku_id": sku_id, "quantity": 1}], "address": ADDRESS},
            headers=headers,
        )
        assert response.status_code == 409  # well-formed, but the catalogue says no
        error = response.get_json()["error"]
        assert error["code"] == "not_for_sale" and "items.0.sku_id" in error["fields"]


def test_invalid_order_bodies_name_the_field(client: FlaskClient, app: Flask) -> None:
    product = make_product(app)
    headers = login(client)
    line = {"sku_id": product["sku_id"], "quantity": 1}
    cases = [
        ({"items": [], "address": ADDRESS}, "items"),
        ({"items": [line]}, "address"),
        ({"items": [line], "address": {**ADDRESS, "phone": "call me"}}, "address.phone"),
        (
            {"items": [{"sku_id": product["sku_id"], "quantity": 0}], "address": ADDRESS},
            "items.0.quantity",
        ),
        ({"items": [{"sku_id": "x", "quantity": 1}], "address": ADDRESS}, "items.0.sku_id"),
        ({"items": [line], "address": ADDRESS, "total_fen": 1}, "total_fen"),
        ({"items": [line], "address": {**ADDRESS, "name": ""}}, "address.name"),
    ]
    for payload, field in cases:
        response = client.post("/api/v1/orders", json=payload, headers=headers)
        assert response.status_code == 400, payload
        assert field in response.get_json()["error"]["fields"], (payload, response.get_json())
    raw = client.post(
        "/api/v1/orders", data="{", headers={**headers, "Content-Type": "application/json"}
    )
    assert raw.status_code == 400 and "body" in raw.get_json()["error"]["fields"]
    assert sku_stock(app, product["sku_id"]) == 10


def test_orders_are_private_to_their_shopper(client: FlaskClient, app: Flask) -> None:
    product = make_product(app)
    alice = login(client, "alice")
    bob = login(client, "bob")
    order = place_order(client, alice, product["sku_id"])
    assert client.get(f"/api/v1/orders/{order['id']}", headers=bob).status_code == 404
    assert client.post(f"/api/v1/orders/{order['id']}/cancel", headers=bob).status_code == 404
    assert (
        client.post(
            f"/api/v1/orders/{order['id']}/pay", json={"channel": "wechat"}, headers=bob
        ).status_code
        == 404
    )
    listing = client.get("/api/v1/orders", headers=bob).get_json()
    assert listing["total"] == 0
    mine = client.get("/api/v1/orders?status=pending_payment", headers=alice).get_json()
    assert [o["id"] for o in mine["items"]] == [order["id"]]
    assert client.get("/api/v1/orders?status=lost", headers=alice).status_code == 400


def test_cancel_releases_stock_once(client: FlaskClient, app: Flask) -> None:
    product = make_product(app, stock=3)
    headers = login(client)
    order = place_order(client, headers, product["sku_id"], quantity=2)
    assert sku_stock(app, product["sku_id"]) == 1
    response = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers)
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    assert sku_stock(app, product["sku_id"]) == 3
    again = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers)
    assert again.status_code == 409
    assert sku_stock(app, product["sku_id"]) == 3
    pay = client.post(
        f"/api/v1/orders/{order['id']}/pay", json={"channel": "wechat"}, headers=headers
    )
    assert pay.status_code == 409


def test_receipt_only_after_shipping(client: FlaskClient, app: Flask, emulator) -> None:
    from tests.shop import emulator_pay, start_pay

    product = make_product(app)
    headers = login(client)
    order = place_order(client, headers, product["sku_id"])
    early = client.post(f"/api/v1/orders/{order['id']}/confirm-receipt", headers=headers)
    assert early.status_code == 409
    pay = start_pay(client, headers, order["id"])
    emulator_pay(emulator.url, "wechat", pay["out_trade_no"])
    with app.app_context():
        ship_whole_order(order["id"], "SF", "SF1234567890")
    shipped = get_order(client, headers, order["id"])
    assert shipped["status"] == "shipped" and shipped["tracking_no"] == "SF1234567890"
    done = client.post(f"/api/v1/orders/{order['id']}/confirm-receipt", headers=headers)
    assert done.status_code == 200 and done.get_json()["status"] == "completed"


def test_a_revoked_token_or_a_deleted_user_cannot_order(client: FlaskClient, app: Flask) -> None:
    from wxdist.models import User

    product = make_product(app, stock=5)
    headers = login(client, "revoked-buyer")
    body = {"items": [{"sku_id": product["sku_id"], "quantity": 1}], "address": ADDRESS}
    me = client.get("/api/v1/me", headers=headers).get_json()
    with app.app_context():  # revoke: bump the token version
        user = db.session.get(User, me["id"])
        user.token_version += 1
        db.session.commit()
    response = client.post("/api/v1/orders", json=body, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_token"

    gone = login(client, "deleted-buyer")
    gone_id = client.get("/api/v1/me", headers=gone).get_json()["id"]
    with app.app_context():  # the row gone outright (not the app's deletion, which keeps it)
        from sqlalchemy import delete

        from wxdist.models import CustomerStat

        db.session.execute(delete(CustomerStat).where(CustomerStat.user_id == gone_id))
        db.session.delete(db.session.get(User, gone_id))
        db.session.commit()
    for sku_id in (product["sku_id"], 987654):  # whether or not the SKU exists
        body["items"][0]["sku_id"] = sku_id
        assert client.post("/api/v1/orders", json=body, headers=gone).status_code == 401
    assert sku_stock(app, product["sku_id"]) == 5
    with app.app_context():
        assert db.session.query(Order).count() == 0


def test_the_placed_order_answer_is_the_order_as_read_back(client: FlaskClient, app: Flask) -> None:
    a = make_product(app, price_fen=1990, stock=5)
    b = make_product(app, price_fen=350, stock=5)
    headers = login(client)
    placed = client.post(
        "/api/v1/orders",
        json={
            "items": [
                {"sku_id": b["sku_id"], "quantity": 2},
                {"sku_id": a["sku_id"], "quantity": 1},
            ],
            "address": ADDRESS,
            "remark": "备注",
        },
        headers=headers,
    ).get_json()
    assert placed == get_order(client, headers, placed["id"])
