"""The panel's side of the stock alerts: SKU codes (unique: a duplicate is a 400 naming the
field) and thresholds on the product pages, the SKU's alert state, the stock settings page
(owner only, audited), the staff member's own opt-in, and the dashboard's stock notice."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.panel_helpers import post_form, staff_client
from tests.shop import login, make_product
from wxdist.catalog import stock_settings
from wxdist.core.extensions import db
from wxdist.models import AuditEntry, Product, Sku, StockSettings


def _new_product(owner, **rows: str):  # type: ignore[no-untyped-def]
    data = {"title": "编码测试", "skus-0-name": "红色", "skus-0-price_fen": "19.90"}
    data |= {"skus-0-stock": "5", "skus-0-is_active": "y", **rows}
    return post_form(owner, "/panel/products/new", "/panel/products/new", **data)


def _error_next_to(html: str, name: str) -> str:
    """The error message the page shows under field `name`."""
    found = re.search(rf'name="{re.escape(name)}"[^>]*>\s*<em class="error">([^<]+)</em>', html)
    assert found, f"no error under {name}"
    return found.group(1)


def test_sku_codes_are_set_on_create_and_a_duplicate_is_a_400_naming_the_field(
    app: Flask,
) -> None:
    owner = staff_client(app, "owner")
    created = _new_product(owner, **{"skus-0-code": "CUP-01", "skus-0-low_stock_threshold": "3"})
    assert created.status_code == 303, created.get_data(as_text=True)[:800]
    with app.app_context():
        sku = db.session.scalar(select(Sku).where(Sku.code == "CUP-01"))
        product_id, sku_id = sku.product_id, sku.id
        assert sku.low_stock_threshold == 3

    again = _new_product(owner, **{"skus-0-code": "CUP-01"})
    assert again.status_code == 400
    html = again.get_data(as_text=True)
    assert _error_next_to(html, "skus-0-code") == "another SKU already has this code"

    twice = _new_product(
        owner,
        **{"skus-0-code": "X-1", "skus-1-name": "蓝色", "skus-1-price_fen": "9.90",
           "skus-1-code": "X-1"},
    )  # fmt: skip
    assert twice.status_code == 400
    assert _error_next_to(twice.get_data(as_text=True), "skus-1-code") == "given to two SKUs"

    edit = f"/panel/products/{product_id}/edit"
    added = post_form(
        owner, edit, f"/panel/products/{product_id}/skus",
        **{"new-name": "蓝色", "new-price_fen": "9.90", "new-stock": "1", "new-code": "CUP-01"},
    )  # fmt: skip
    assert added.status_code == 400
    assert _error_next_to(added.get_data(as_text=True), "new-code") == (
        "another SKU already has this code"
    )
    bad = post_form(
        owner, edit, f"/panel/products/{product_id}/skus",
        **{"new-name": "蓝色", "new-price_fen": "9.90", "new-code": "有 空格"},
    )  # fmt: skip
    assert bad.status_code == 400
    assert "letters, digits" in _error_next_to(bad.get_data(as_text=True), "new-code")

    ok = post_form(
        owner, edit, f"/panel/products/{product_id}/skus",
        **{"new-name": "蓝色", "new-price_fen": "9.90", "new-stock": "1", "new-code": "CUP-02"},
    )  # fmt: skip
    assert ok.status_code == 303
    with app.app_context():
        other = db.session.scalar(select(Sku.id).where(Sku.code == "CUP-02"))
    prefix = f"sku{other}-"
    fields = {"name": "蓝色", "price_fen": "9.90", "stock": "1", "stock_seen": "1"}
    taken = post_form(
        owner, edit, f"/panel/products/{product_id}/skus/{other}",
        **{prefix + k: v for k, v in fields.items()}, **{prefix + "code": "CUP-01"},
    )  # fmt: skip
    assert taken.status_code == 400
    assert _error_next_to(taken.get_data(as_text=True), prefix + "code") == (
        "another SKU already has this code"
    )
    with app.app_context():
        assert db.session.get(Sku, other).code == "CUP-02"
        assert db.session.get(Sku, sku_id).code == "CUP-01"


def test_a_sku_threshold_set_in_the_panel_moves_its_state_at_once(app: Flask) -> None:
    ids = make_product(app, stock=5, title="阈值测试")
    owner = staff_client(app, "owner")
    edit = f"/panel/products/{ids['product_id']}/edit"
    prefix = f"sku{ids['sku_id']}-"
    fields = {"name": "规格1", "price_fen": "19.90", "stock": "5", "stock_seen": "5"}
    fields |= {"is_active": "y", "low_stock_threshold": "5", "code": "T-5"}
    saved = post_form(
        owner, edit, f"/panel/products/{ids['product_id']}/skus/{ids['sku_id']}",
        **{prefix + k: v for k, v in fields.items()},
    )  # fmt: skip
    assert saved.status_code == 303, saved.get_data(as_text=True)[:800]
    with app.app_context():
        sku = db.session.get(Sku, ids["sku_id"])
        assert (sku.low_stock_threshold, sku.code, sku.stock_alert) == (5, "T-5", "low")
        action = db.session.scalar(
            select(AuditEntry.after_json).where(AuditEntry.action == "sku.update")
        )
    assert '"low_stock_threshold": 5' in action
    assert "low stock" in owner.get(edit).get_data(as_text=True)
    blank = {**fields, "low_stock_threshold": "", "stock": "20", "stock_seen": "5"}
    post_form(
        owner, edit, f"/panel/products/{ids['product_id']}/skus/{ids['sku_id']}",
        **{prefix + k: v for k, v in blank.items()},
    )  # fmt: skip
    with app.app_context():
        sku = db.session.get(Sku, ids["sku_id"])
        assert (sku.low_stock_threshold, sku.stock, sku.stock_alert) == (None, 20, "ok")


def test_stock_settings_are_the_owners_and_audited(app: Flask) -> None:
    owner = staff_client(app, "owner")
    assert staff_client(app, "operator").get("/panel/settings/stock").status_code == 403
    refused = post_form(
        owner, "/panel/settings/stock", "/panel/settings/stock", low_stock_threshold="-1"
    )
    assert refused.status_code == 400
    saved = post_form(
        owner, "/panel/settings/stock", "/panel/settings/stock",
        low_stock_threshold="20", auto_pause="y",
    )  # fmt: skip
    assert saved.status_code == 303
    with app.app_context():
        assert stock_settings.current() == stock_settings.Stock(20, True)
        assert db.session.get(StockSettings, 1) is not None
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "stock_settings.update")
        )
        assert '"low_stock_threshold": 10' in entry.before_json
        assert '"auto_pause": true' in entry.after_json
    page = owner.get("/panel/audit").get_data(as_text=True)
    assert "change stock alert settings" in page


def test_the_account_page_refuses_an_unknown_user_and_alerts_without_one(
    client: FlaskClient, app: Flask
) -> None:
    operator = staff_client(app, "operator")
    assert operator.get("/panel/account").status_code == 200
    unknown = post_form(
        operator, "/panel/account", "/panel/account", alert_user_id="987654", stock_alerts="y"
    )
    assert unknown.status_code == 400
    assert _error_next_to(unknown.get_data(as_text=True), "alert_user_id") == (
        "no shopper has this id"
    )
    none = post_form(operator, "/panel/account", "/panel/account", stock_alerts="y")
    assert none.status_code == 400
    headers = login(client, "operator-phone")
    user_id = client.get("/api/v1/me", headers=headers).get_json()["id"]
    saved = post_form(
        operator, "/panel/account", "/panel/account", alert_user_id=str(user_id), stock_alerts="y"
    )
    assert saved.status_code == 303
    assert "messages accepted and not yet used: 0" in operator.get("/panel/account").get_data(
        as_text=True
    )


def test_the_dashboard_notice_lists_skus_at_their_own_thresholds(app: Flask) -> None:
    low = make_product(app, stock=4, title="快没了")
    plenty = make_product(app, stock=4, title="自有阈值")
    make_product(app, stock=0, title="卖光了")
    off = make_product(app, stock=0, title="已下架的", on_shelf=False)
    with app.app_context():
        sku = db.session.get(Sku, plenty["sku_id"])
        sku.low_stock_threshold = 2
        db.session.get(Sku, low["sku_id"]).code = "LOW-4"
        db.session.commit()
        assert db.session.get(Product, off["product_id"]).on_shelf is False
    html = staff_client(app, "finance").get("/panel/").get_data(as_text=True)
    notice = html.split('id="stock"', 1)[1]
    assert "1 SKUs sold out, 1 running low" in notice
    assert "快没了" in notice and "LOW-4" in notice and "卖光了" in notice
    assert "自有阈值" not in notice and "已下架的" not in notice
    assert notice.index("卖光了") < notice.index("快没了")  # sold out first
