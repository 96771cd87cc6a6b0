"""The shopping cart through the API: adding (and merging), changing, removing and selecting
lines; lines flagged, not dropped, when their SKU goes off sale or short; checkout through
the order path at the price previewed and paid; concurrent adds of one SKU."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, update

from payments.emulator import EmulatorServer
from tests.shop import (
    ADDRESS,
    emulator_pay,
    get_order,
    login,
    make_product,
    sku_stock,
    start_pay,
    storm,
)
from tests.test_coupons import claim, make_template
from wxdist.core.extensions import db
from wxdist.marketing import promotions
from wxdist.models import CartLine, Order, Product, Sku
from wxdist.models.types import utcnow


def _add(client: FlaskClient, headers: dict[str, str], sku_id: int, quantity: int = 1) -> Any:
    return client.post(
        "/api/v1/cart/lines", json={"sku_id": sku_id, "quantity": quantity}, headers=headers
    )


def _cart(client: FlaskClient, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get("/api/v1/cart", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _line(cart: dict[str, Any], sku_id: int) -> dict[str, Any]:
    (line,) = [line for line in cart["lines"] if line["sku_id"] == sku_id]
    return line


def _orders(app: Flask) -> int:
    with app.app_context():
        return db.session.query(Order).count()


def test_adding_a_sku_twice_merges_and_lines_change_select_and_go(
    client: FlaskClient, app: Flask
) -> None:
    a = make_product(app, price_fen=1_000, stock=10, title="苹果")
    b = make_product(app, price_fen=250, stock=50, title="香蕉")
    headers = login(client)
    assert _cart(client, headers)["lines"] == []
    assert _add(client, headers, a["sku_id"], 2).status_code == 200
    assert _add(client, headers, b["sku_id"], 4).status_code == 200
    cart = _add(client, headers, a["sku_id"], 3).get_json()
    assert [(line["sku_id"], line["quantity"]) for line in cart["lines"]] == [
        (b["sku_id"], 4),  # newest line first; adding to a line does not move it
        (a["sku_id"], 5),
    ]
    line_a = _line(cart, a["sku_id"])
    assert (line_a["title"], line_a["sku_name"], line_a["image_url"]) == (
        "苹果",
        "规格1",
        "https://img.example/p.jpg",
    )
    assert (line_a["on_sale"], line_a["in_stock"], line_a["short"]) == (True, True, False)
    assert cart["totals"]["goods_fen"] == cart["totals"]["payable_fen"] == 5 * 1_000 + 4 * 250

    # Past the stock: 409 naming quantity, with what may still be added; the line is as it was.
    over = _add(client, headers, a["sku_id"], 6)
    assert over.status_code == 409
    error = over.get_json()["error"]
    assert error["code"] == "out_of_stock" and "quantity" in error["fields"]
    assert error["data"] == {"available": 5}
    assert _line(_cart(client, headers), a["sku_id"])["quantity"] == 5

    changed = client.patch(
        f"/api/v1/cart/lines/{line_a['id']}",
        json={"quantity": 2, "selected": False},
        headers=headers,
    ).get_json()
    assert (_line(changed, a["sku_id"])["quantity"], _line(changed, a["sku_id"])["selected"]) == (
        2,
        False,
    )
    assert changed["totals"]["goods_fen"] == 4 * 250  # unselected lines are not in the totals
    raised = client.patch(
        f"/api/v1/cart/lines/{line_a['id']}", json={"quantity": 11}, headers=headers
    )
    assert raised.status_code == 409 and "quantity" in raised.get_json()["error"]["fields"]

    none = client.post("/api/v1/cart/select", json={"selected": False}, headers=headers)
    assert none.get_json()["totals"] == {**none.get_json()["totals"], "goods_fen": 0, "lines": 0}
    every = client.post("/api/v1/cart/select", json={"selected": True}, headers=headers)
    assert every.get_json()["totals"]["goods_fen"] == 2 * 1_000 + 4 * 250

    other = login(client, "shopper-2")
    for response in (
        client.delete(f"/api/v1/cart/lines/{line_a['id']}", headers=other),
        client.patch(f"/api/v1/cart/lines/{line_a['id']}", json={"quantity": 1}, headers=other),
    ):
        assert response.status_code == 404 and "line_id" in response.get_json()["error"]["fields"]
    gone = client.delete(f"/api/v1/cart/lines/{line_a['id']}", headers=headers).get_json()
    assert [line["sku_id"] for line in gone["lines"]] == [b["sku_id"]]

    off = make_product(app, on_shelf=False)
    refused = _add(client, headers, off["sku_id"])
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "not_for_sale"
    assert "sku_id" in refused.get_json()["error"]["fields"]
    assert _add(client, headers, 987654).status_code == 409


def test_the_cart_is_capped_in_lines(client: FlaskClient, app: Flask) -> None:
    from wxdist.shop import cart

    headers = login(client)
    with app.app_context():
        product = Product(
            title="很多规格",
            on_shelf=True,
            skus=[Sku(name=f"{i}", price_fen=100, stock=5) for i in range(cart.MAX_LINES + 1)],
        )
        db.session.add(product)
        db.session.commit()
        sku_ids = [sku.id for sku in product.skus]
    for sku_id in sku_ids[:-1]:
        assert _add(client, headers, sku_id).status_code == 200
    full = _add(client, headers, sku_ids[-1])
    assert full.status_code == 409 and full.get_json()["error"]["code"] == "cart_full"
    assert _add(client, headers, sku_ids[0]).status_code == 200  # adding to a line still works


def test_lines_off_shelf_or_short_are_flagged_kept_and_block_checkout(
    client: FlaskClient, app: Flask
) -> None:
    shelf = make_product(app, price_fen=500, stock=5, title="下架了")
    short = make_product(app, price_fen=700, stock=5, title="卖完了")
    fine = make_product(app, price_fen=900, stock=5, title="还有")
    retired = make_product(app, price_fen=300, stock=5, title="停用规格")
    headers = login(client)
    for sku_id in (shelf["sku_id"], short["sku_id"], fine["sku_id"], retired["sku_id"]):
        assert _add(client, headers, sku_id, 2).status_code == 200
    with app.app_context():
        db.session.execute(
            update(Product).where(Product.id == shelf["product_id"]).values(on_shelf=False)
        )
        db.session.execute(update(Sku).where(Sku.id == retired["sku_id"]).values(is_active=False))
        db.session.execute(update(Sku).where(Sku.id == short["sku_id"]).values(stock=1))
        db.session.commit()

    cart = _cart(client, headers)
    assert len(cart["lines"]) == 4  # kept, flagged
    off_line, short_line = _line(cart, shelf["sku_id"]), _line(cart, short["sku_id"])
    retired_line = _line(cart, retired["sku_id"])
    assert (off_line["on_sale"], off_line["short"]) == (False, False)
    assert (retired_line["on_sale"], retired_line["title"]) == (False, "停用规格")
    assert (short_line["on_sale"], short_line["in_stock"], short_line["short"]) == (
        True,
        True,
        True,
    )
    assert cart["totals"]["goods_fen"] == 2 * 900  # only what can be bought is priced

    for path, payload in (
        ("/api/v1/cart/checkout/preview", {}),
        ("/api/v1/cart/checkout", {"address": ADDRESS}),
    ):
        refused = client.post(path, json=payload, headers=headers)
        assert refused.status_code == 409, refused.get_json()
        error = refused.get_json()["error"]
        assert error["code"] == "cart_unavailable"
        assert set(error["fields"]) == {
            f"lines.{off_line['id']}.sku_id",
            f"lines.{retired_line['id']}.sku_id",
            f"lines.{short_line['id']}.quantity",
        }
    assert _orders(app) == 0 and sku_stock(app, fine["sku_id"]) == 5
    assert len(_cart(client, headers)["lines"]) == 4

    # Out of stock entirely: still shown, flagged.
    with app.app_context():
        db.session.execute(update(Sku).where(Sku.id == short["sku_id"]).values(stock=0))
        db.session.commit()
    emptied = _line(_cart(client, headers), short["sku_id"])
    assert (emptied["in_stock"], emptied["short"], emptied["stock"]) == (False, True, 0)

    # Unselect the flagged lines: the rest checks out, the flagged lines stay.
    for line in (off_line, short_line, retired_line):
        client.patch(f"/api/v1/cart/lines/{line['id']}", json={"selected": False}, headers=headers)
    placed = client.post("/api/v1/cart/checkout", json={"address": ADDRESS}, headers=headers)
    assert placed.status_code == 201, placed.get_json()
    assert [i["sku_id"] for i in placed.get_json()["items"]] == [fine["sku_id"]]
    left = _cart(client, headers)["lines"]
    assert sorted(line["sku_id"] for line in left) == sorted(
        [shelf["sku_id"], short["sku_id"], retired["sku_id"]]
    )
    empty = client.post("/api/v1/cart/checkout", json={"address": ADDRESS}, headers=headers)
    assert empty.status_code == 409 and empty.get_json()["error"]["code"] == "cart_empty"


def test_checkout_charges_what_the_cart_and_preview_showed_and_what_wechat_is_paid(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    a = make_product(app, price_fen=6_000, stock=10)
    b = make_product(app, price_fen=3_333, stock=10)
    later = make_product(app, price_fen=100, stock=10)
    now = utcnow()
    with app.app_context():
        discount = promotions.create_timed_discount(
            "限时", a["sku_id"], now - timedelta(hours=1), now + timedelta(hours=3), price_fen=4_500
        )
        reduction = promotions.create_full_reduction(
            promotions.ReductionSpec(
                "满100减17",
                now - timedelta(hours=1),
                now + timedelta(hours=3),
                [{"threshold": 10_000, "off_fen": 1_700}],
            )
        )
        db.session.commit()
        discount_id, reduction_id = discount.id, reduction.id
    template = make_template(app, off_fen=500, threshold_fen=5_000)
    headers = login(client)
    coupon_id = claim(client, headers, template).get_json()["id"]
    _add(client, headers, a["sku_id"], 2)
    _add(client, headers, b["sku_id"], 1)
    cart = _add(client, headers, later["sku_id"], 1).get_json()
    client.patch(
        f"/api/v1/cart/lines/{_line(cart, later['sku_id'])['id']}",
        json={"selected": False},
        headers=headers,
    )

    cart = _cart(client, headers)
    line_a = _line(cart, a["sku_id"])
    assert (line_a["price_fen"], line_a["promo_price_fen"], line_a["discount_id"]) == (
        6_000,
        4_500,
        discount_id,
    )
    assert line_a["reduction_ids"] == [reduction_id]
    assert _line(cart, b["sku_id"])["promo_price_fen"] is None
    totals = cart["totals"]
    assert (totals["goods_fen"], totals["discount_fen"], totals["reduction_fen"]) == (
        15_333,
        3_000,
        1_700,
    )
    assert totals["payable_fen"] == 15_333 - 3_000 - 1_700
    assert (totals["suggested_coupon_id"], totals["suggested_coupon_fen"]) == (coupon_id, 500)

    preview = client.post(
        "/api/v1/cart/checkout/preview", json={"coupon_id": coupon_id}, headers=headers
    ).get_json()
    assert preview["payable_fen"] == totals["payable_fen"] - 500
    assert preview["promotions"] == {"discount": [discount_id], "reduction": [reduction_id]}

    response = client.post(
        "/api/v1/cart/checkout",
        json={
            "address": ADDRESS,
            "coupon_id": coupon_id,
            "expected_payable_fen": preview["payable_fen"],
        },
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    assert (order["goods_fen"], order["discount_fen"], order["payable_fen"]) == (
        preview["goods_fen"],
        preview["discount_fen"] + preview["reduction_fen"] + preview["coupon_fen"],
        preview["payable_fen"],
    )
    assert order["coupon_id"] == coupon_id
    assert sorted((i["sku_id"], i["quantity"], i["paid_fen"]) for i in order["items"]) == sorted(
        (i["sku_id"], i["quantity"], i["paid_fen"]) for i in preview["items"]
    )
    assert [line["sku_id"] for line in _cart(client, headers)["lines"]] == [later["sku_id"]]
    assert sku_stock(app, a["sku_id"]) == 8

    pay = start_pay(client, headers, order["id"])
    emulator_pay(emulator.url, "wechat", pay["out_trade_no"])
    trade = emulator.app.extensions["emulator_wechat"].trades[pay["out_trade_no"]]
    assert trade.total_fee == preview["payable_fen"]
    paid = get_order(client, headers, order["id"])
    assert (paid["status"], paid["paid_fen"]) == ("paid", preview["payable_fen"])


def test_a_refused_checkout_leaves_the_cart_and_stock_as_they_were(
    client: FlaskClient, app: Flask
) -> None:
    a = make_product(app, price_fen=1_000, stock=3)
    headers = login(client)
    _add(client, headers, a["sku_id"], 2)
    stale = client.post(
        "/api/v1/cart/checkout",
        json={"address": ADDRESS, "expected_payable_fen": 1_999},
        headers=headers,
    )
    assert stale.status_code == 409
    assert stale.get_json()["error"]["code"] == "price_changed"
    assert stale.get_json()["error"]["data"] == {"payable_fen": 2_000}
    assert _orders(app) == 0 and sku_stock(app, a["sku_id"]) == 3
    assert _line(_cart(client, headers), a["sku_id"])["quantity"] == 2
    bad = client.post(
        "/api/v1/cart/checkout", json={"address": {**ADDRESS, "phone": "x"}}, headers=headers
    )
    assert bad.status_code == 400 and "address.phone" in bad.get_json()["error"]["fields"]
    assert len(_cart(client, headers)["lines"]) == 1


def test_a_cart_line_follows_price_changes(client: FlaskClient, app: Flask) -> None:
    a = make_product(app, price_fen=1_000, stock=5)
    headers = login(client)
    _add(client, headers, a["sku_id"], 2)
    with app.app_context():
        db.session.execute(update(Sku).where(Sku.id == a["sku_id"]).values(price_fen=1_200))
        db.session.commit()
    cart = _cart(client, headers)
    assert _line(cart, a["sku_id"])["price_fen"] == 1_200
    assert cart["totals"]["payable_fen"] == 2_400
    placed = client.post("/api/v1/cart/checkout", json={"address": ADDRESS}, headers=headers)
    assert placed.get_json()["payable_fen"] == 2_400


def test_concurrent_adds_of_one_sku_make_one_line_with_the_sum(
    client: FlaskClient, app: Flask
) -> None:
    a = make_product(app, price_fen=1_000, stock=500)
    headers = login(client)
    n = 12

    def add(i: int) -> int:
        return _add(app.test_client(), headers, a["sku_id"], i + 1).status_code

    assert storm(n, add) == [200] * n
    with app.app_context():
        lines = db.session.query(CartLine).all()
        assert [(line.sku_id, line.quantity) for line in lines] == [(a["sku_id"], n * (n + 1) // 2)]


def test_concurrent_adds_never_pass_the_stock(client: FlaskClient, app: Flask) -> None:
    a = make_product(app, price_fen=1_000, stock=10)
    headers = login(client)

    def add(_i: int) -> int:
        return _add(app.test_client(), headers, a["sku_id"], 3).status_code

    codes = storm(8, add)
    assert sorted(codes) == [200] * 3 + [409] * 5
    with app.app_context():
        assert db.session.query(CartLine.quantity).scalar() == 9


def test_a_checkout_costs_few_statements(client: FlaskClient, app: Flask) -> None:
    a = make_product(app, price_fen=1_000, stock=5)
    b = make_product(app, price_fen=700, stock=5)
    headers = login(client)
    _add(client, headers, a["sku_id"])
    _add(client, headers, b["sku_id"])
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # The promotions in force are read once per process every OFFERS_RECHECK_SECONDS.
        if "timed_discounts" not in statement and "full_reductions" not in statement:
            statements.append(statement.split()[0].upper())

    event.listen(engine, "before_cursor_execute", count)
    try:
        placed = client.post("/api/v1/cart/checkout", json={"address": ADDRESS}, headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert placed.status_code == 201
    # The cart read (its rows are the order's lines as the order path reads them, the token
    # checked in it), the order, one reservation of both SKUs, one insert of both items
    # (RETURNING their ids), the lines out of the cart; then the commit.
    assert statements == ["SELECT", "INSERT", "UPDATE", "INSERT", "DELETE"]


def test_stock_gone_between_the_cart_read_and_the_order_names_the_line_and_writes_nothing(
    client: FlaskClient, app: Flask
) -> None:
    a = make_product(app, price_fen=1_000, stock=5)
    b = make_product(app, price_fen=700, stock=5)
    headers = login(client)
    _add(client, headers, a["sku_id"], 2)
    cart = _add(client, headers, b["sku_id"], 2).get_json()
    with app.app_context():
        engine = db.engine
    sold: list[int] = []

    def sell_out(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        """Right after the cart is read, B's stock drops (in the checkout's own transaction,
        which SQLite's locking allows, so the refusal's rollback undoes it too)."""
        if not sold and statement.lstrip().upper().startswith("SELECT CART_LINES.ID"):
            sold.append(1)
            conn.execute(update(Sku).where(Sku.id == b["sku_id"]).values(stock=1))

    event.listen(engine, "after_cursor_execute", sell_out)
    try:
        refused = client.post("/api/v1/cart/checkout", json={"address": ADDRESS}, headers=headers)
    finally:
        event.remove(engine, "after_cursor_execute", sell_out)
    assert sold and refused.status_code == 409, refused.get_json()
    error = refused.get_json()["error"]
    assert error["code"] == "cart_unavailable"
    assert list(error["fields"]) == [f"lines.{_line(cart, b['sku_id'])['id']}.quantity"]
    assert _orders(app) == 0
    assert (sku_stock(app, a["sku_id"]), sku_stock(app, b["sku_id"])) == (5, 5)
    assert [line["quantity"] for line in _cart(client, headers)["lines"]] == [2, 2]
