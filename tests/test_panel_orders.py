"""The orders pages: search, shipping and refunds (part and whole) through the real forms and
the emulated gateway; commission is clawed back and the books reconcile."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from payments.emulator import EmulatorServer
from tests.panel_helpers import post_form, staff_client
from tests.shop import (
    become_distributor,
    centre,
    login,
    make_product,
    pay_order,
    set_settings,
    wait_for_status,
)
from tests.test_withdrawals import clean
from wxdist.accounts.audit import decode
from wxdist.core.extensions import db
from wxdist.models import AuditEntry, Commission, Order, Refund


def referred_sale(client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any):
    """A ¥100.00 order bought through top → mid → buyer at 10 % / 5 %, paid and attributed."""
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=500, freeze_days=7)
    top = become_distributor(client, "o-top", real_name="顶级")
    login(client, "o-mid", scene=top["centre"]["scene"])
    mid = become_distributor(client, "o-mid", real_name="中间")
    buyer = login(client, "o-buyer", scene=mid["centre"]["scene"])
    product = make_product(app, price_fen=10_000, title="茶叶礼盒")
    order = pay_order(client, emulator.url, buyer, product["sku_id"])
    run_jobs()
    assert centre(client, mid["headers"])["balances"]["frozen_fen"] == 1000
    return {"order": order, "buyer": buyer, "top": top, "mid": mid}


def audits(app: Flask, action: str, order_id: int) -> list[AuditEntry]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == action, AuditEntry.target_id == str(order_id)
                )
            )
        )


def order_row(app: Flask, order_id: int) -> Order:
    with app.app_context():
        row = db.session.get(Order, order_id)
        db.session.expunge(row)
        return row


def commission_of(app: Flask, order_id: int) -> dict[int, tuple[int, int, str]]:
    """level → (amount, clawed, status)."""
    with app.app_context():
        rows = db.session.scalars(select(Commission).where(Commission.order_id == order_id))
        return {c.level: (c.amount_fen, c.clawed_fen, c.status) for c in rows}


def refunds_settled(app: Flask, order_id: int, count: int) -> None:
    deadline = time.monotonic() + 10
    while True:
        with app.app_context():
            statuses = list(
                db.session.scalars(select(Refund.status).where(Refund.order_id == order_id))
            )
        if (len(statuses) == count and "processing" not in statuses) or time.monotonic() > deadline:
            assert statuses == ["succeeded"] * count, statuses
            return
        time.sleep(0.05)


def test_operators_and_owners_open_the_pages_and_finance_is_refused(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    buyer = login(client, "roles-buyer")
    order = pay_order(client, emulator.url, buyer, make_product(app)["sku_id"])
    pages = ["/panel/orders", f"/panel/orders/{order['id']}"]
    for role, expected in (("operator", 200), ("owner", 200), ("finance", 403)):
        staff = staff_client(app, role)
        for url in pages:
            assert staff.get(url).status_code == expected, (role, url)
    assert staff_client(app, "operator", "op2").get("/panel/orders/999999").status_code == 404


def test_orders_are_found_by_number_phone_user_status_and_date(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    buyer = login(client, "search-buyer")
    product = make_product(app, stock=5)
    paid = pay_order(client, emulator.url, buyer, product["sku_id"])
    other = login(client, "search-other")
    unpaid = client.post(
        "/api/v1/orders",
        json={
            "items": [{"sku_id": product["sku_id"], "quantity": 1}],
            "address": {"name": "王", "phone": "13511112222", "region": "北京", "detail": "1"},
        },
        headers=other,
    ).get_json()
    with app.app_context():
        paid_no = db.session.get(Order, paid["id"]).order_no
        unpaid_no = db.session.get(Order, unpaid["id"]).order_no
        buyer_id = db.session.get(Order, paid["id"]).user_id
    operator = staff_client(app, "operator")

    def found(query: str) -> set[str]:
        html = operator.get(f"/panel/orders?{query}").get_data(as_text=True)
        return {no for no in (paid_no, unpaid_no) if no in html}

    assert found("") == {paid_no, unpaid_no}
    assert found(f"q={paid_no}") == {paid_no}
    assert found("q=13900139000") == {paid_no}  # the receiver's phone (tests/shop.py ADDRESS)
    assert found("q=13511112222") == {unpaid_no}
    assert found("q=1390013") == set()  # a part of a phone is no user id either
    assert found(f"q={buyer_id}") == {paid_no}
    assert found("status=paid") == {paid_no}
    assert found("status=pending_payment") == {unpaid_no}
    assert found("from=2000-01-01&to=2000-01-31") == set()
    assert found("from=2000-01-01&to=2999-12-31&status=paid") == {paid_no}
    assert operator.get("/panel/orders?from=nonsense&page=x&status=evil").status_code == 200


def test_shipping_needs_a_carrier_and_a_tracking_number(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    buyer = login(client, "ship-buyer")
    order = pay_order(client, emulator.url, buyer, make_product(app)["sku_id"])
    page = f"/panel/orders/{order['id']}"
    operator = staff_client(app, "operator")
    form = operator.get(page).get_data(as_text=True).split('id="ship"')[1].split("</form>")[0]
    assert '<option value="SF">' in form and '<option value="ZTO">' in form  # WeChat's list

    missing = post_form(operator, page, f"{page}/ship", delivery_id="SF", tracking_no="  ")
    assert missing.status_code == 400
    body = missing.get_data(as_text=True)
    assert 'name="tracking_no"' in body and "Enter the tracking number." in body
    unknown = post_form(operator, page, f"{page}/ship", delivery_id="ACME", tracking_no="A1")
    assert unknown.status_code == 400 and 'name="delivery_id"' in unknown.get_data(as_text=True)
    assert order_row(app, order["id"]).status == "paid"
    assert audits(app, "order.ship", order["id"]) == []

    shipped = post_form(operator, page, f"{page}/ship", delivery_id="SF", tracking_no="SF123456")
    assert shipped.status_code == 303
    row = order_row(app, order["id"])
    assert (row.status, row.carrier, row.tracking_no) == ("shipped", "SF", "SF123456")
    shown = operator.get(page).get_data(as_text=True)
    assert "SF123456" in shown and "顺丰速运" in shown
    (entry,) = audits(app, "order.ship", order["id"])
    assert decode(entry.before_json)["status"] == "paid"
    after = decode(entry.after_json)
    assert (after["status"], after["delivery_id"], after["tracking_no"]) == (
        "shipped",
        "SF",
        "SF123456",
    )


def test_a_part_then_a_whole_refund_claw_back_the_commission(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    sale = referred_sale(client, app, emulator, run_jobs)
    order_id = sale["order"]["id"]
    page = f"/panel/orders/{order_id}"
    operator = staff_client(app, "operator")
    html = operator.get(page).get_data(as_text=True)
    assert "顶级" in html and "中间" in html  # the attribution chain, by name
    assert commission_of(app, order_id) == {1: (1000, 0, "frozen"), 2: (500, 0, "frozen")}

    refund_url = f"{page}/refund"
    for amount, problem in (
        ("abc", "Enter an amount in yuan"),
        ("12.345", "Enter an amount in yuan"),
        ("0", "more than 0"),
        ("100.01", "At most ¥100.00 is left"),
        ("", "Enter an amount in yuan"),
    ):
        bad = post_form(operator, page, refund_url, scope="part", amount=amount, reason="x")
        assert bad.status_code == 400, amount
        assert problem in bad.get_data(as_text=True), amount
    with app.app_context():
        assert db.session.scalars(select(Refund)).all() == []
    assert order_row(app, order_id).status == "paid"

    part = post_form(
        operator, page, refund_url, scope="part", amount="12.34", order_item_id="", reason="破损"
    )
    assert part.status_code == 303
    refunds_settled(app, order_id, 1)
    wait_for_status(client, sale["buyer"], order_id, "paid")  # a part refund: back to paid
    run_jobs()
    row = order_row(app, order_id)
    assert (row.paid_fen, row.refunded_fen) == (10_000, 1234)
    # Commission keeps the share of what was not refunded: 1000 x 8766/10000, 500 x ...
    assert commission_of(app, order_id) == {1: (1000, 124, "frozen"), 2: (500, 62, "frozen")}
    assert centre(client, sale["mid"]["headers"])["balances"]["frozen_fen"] == 876
    assert centre(client, sale["top"]["headers"])["balances"]["frozen_fen"] == 438
    clean(app)

    whole = post_form(operator, page, refund_url, scope="whole", reason="退货")
    assert whole.status_code == 303
    refunds_settled(app, order_id, 2)
    wait_for_status(client, sale["buyer"], order_id, "refunded")
    run_jobs()
    row = order_row(app, order_id)
    assert (row.status, row.refunded_fen) == ("refunded", 10_000)
    assert commission_of(app, order_id) == {
        1: (1000, 1000, "cancelled"),
        2: (500, 500, "cancelled"),
    }
    assert centre(client, sale["mid"]["headers"])["balances"]["frozen_fen"] == 0
    html = operator.get(page).get_data(as_text=True)
    assert "refunded" in html and "¥87.66" in html
    clean(app)

    entries = audits(app, "order.refund", order_id)
    assert [decode(e.after_json)["amount_fen"] for e in entries] == [1234, 8766]
    assert decode(entries[0].before_json) == {
        "status": "paid",
        "paid_fen": 10_000,
        "refunded_fen": 0,
    }
    # Nothing is left to refund: the form is gone and a forged post is refused.
    assert 'id="refund"' not in html
    late = operator.post(refund_url, data={"scope": "whole", "csrf_token": _token(operator, page)})
    assert late.status_code in (400, 409)


def test_an_item_refund_is_limited_to_the_item(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    buyer = login(client, "item-buyer")
    first = make_product(app, price_fen=3000, title="A")
    second = make_product(app, price_fen=7000, title="B")
    order = client.post(
        "/api/v1/orders",
        json={
            "items": [
                {"sku_id": first["sku_id"], "quantity": 1},
                {"sku_id": second["sku_id"], "quantity": 1},
            ],
            "address": {"name": "李", "phone": "13900139000", "region": "沪", "detail": "1"},
        },
        headers=buyer,
    ).get_json()
    pay = client.post(
        f"/api/v1/orders/{order['id']}/pay", json={"channel": "wechat"}, headers=buyer
    )
    from tests.shop import emulator_pay

    emulator_pay(emulator.url, "wechat", pay.get_json()["out_trade_no"])
    wait_for_status(client, buyer, order["id"], "paid")
    with app.app_context():
        item_a = next(i.id for i in db.session.get(Order, order["id"]).items if i.title == "A")
    page = f"/panel/orders/{order['id']}"
    operator = staff_client(app, "operator")
    data = {"scope": "part", "order_item_id": str(item_a)}
    too_much = post_form(operator, page, f"{page}/refund", amount="30.01", **data)
    assert too_much.status_code == 400
    assert "At most ¥30.00 is left on this item" in too_much.get_data(as_text=True)
    assert post_form(operator, page, f"{page}/refund", amount="30", **data).status_code == 303
    refunds_settled(app, order["id"], 1)
    wait_for_status(client, buyer, order["id"], "paid")
    with app.app_context():
        items = {i.title: i.refunded_fen for i in db.session.get(Order, order["id"]).items}
    assert items == {"A": 3000, "B": 0}
    clean(app)


def _token(client: FlaskClient, page: str) -> str:
    from tests.panel_helpers import csrf_from

    return csrf_from(client.get(page).get_data(as_text=True))
