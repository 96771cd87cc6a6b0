"""Panel products: list, create and edit through the forms, SKUs, relative stock edits,
per-product commission rates used by attribution, roles and the audit trail."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from payments.emulator import EmulatorServer
from tests.panel_helpers import csrf_from, post_form, staff_client
from tests.shop import (
    become_distributor,
    centre,
    login,
    make_product,
    pay_order,
    place_order,
    set_settings,
    sku_stock,
)
from wxdist.accounts.audit import decode
from wxdist.core.extensions import db
from wxdist.models import Category, Product, Sku
from wxdist.models.staff import AuditEntry

NEW = "/panel/products/new"


def _edit_url(product_id: int) -> str:
    return f"/panel/products/{product_id}/edit"


def _product_form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "云南小粒咖啡",
        "subtitle": "中度烘焙",
        "description": "产自保山。",
        "category_id": "",
        "new_category": "咖啡",
        "sort": "5",
        "image_urls": "https://img.example/a.jpg\nhttps://img.example/b.jpg",
        "commission_l1_bp": "12.5",
        "commission_l2_bp": "5",
        "skus-0-name": "250g",
        "skus-0-price_fen": "19.90",
        "skus-0-stock": "10",
        "skus-0-is_active": "y",
        "skus-1-name": "500g",
        "skus-1-price_fen": "35",
        "skus-1-stock": "4",
        "skus-1-is_active": "y",
        "on_shelf": "y",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _create(client: FlaskClient, **overrides: Any) -> int:
    response = post_form(client, NEW, NEW, **_product_form(**overrides))
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    match = re.search(r"/panel/products/(\d+)/edit", response.headers["Location"])
    assert match
    return int(match.group(1))


def _count(app: Flask, model: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


def _audit(app: Flask, action: str) -> list[AuditEntry]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )


def _edit_form(client: FlaskClient, product_id: int, **overrides: Any) -> dict[str, Any]:
    """The product form as the edit page shows it, with `overrides`."""
    html = client.get(_edit_url(product_id)).get_data(as_text=True)
    product_form = html.split('action="' + _edit_url(product_id) + '"', 1)[1].split("</form>")[0]
    data: dict[str, Any] = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', product_form):
        data[name] = value
    for name, value in re.findall(
        r'<textarea[^>]*name="([^"]+)"[^>]*>\r?\n?(.*?)</textarea>', product_form, re.S
    ):
        data[name] = value.replace("&#34;", '"')
    selected = re.search(
        r'name="category_id".*?<option selected value="([^"]*)"', product_form, re.S
    )
    data["category_id"] = selected.group(1) if selected else ""
    data.update(overrides)
    data.pop("csrf_token", None)
    return data


def _sku_form(client: FlaskClient, product_id: int, sku_id: int) -> dict[str, str]:
    """The SKU's form fields as the edit page shows them (stock_seen included)."""
    html = client.get(_edit_url(product_id)).get_data(as_text=True)
    prefix = f"sku{sku_id}-"
    data = {
        name: value
        for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html)
        if name.startswith(prefix)
    }
    if re.search(rf'<input[^>]*checked[^>]*name="{prefix}is_active"', html) or re.search(
        rf'<input[^>]*name="{prefix}is_active"[^>]*checked', html
    ):
        data[f"{prefix}is_active"] = "y"
    data["csrf_token"] = csrf_from(html)
    return data


# ---- access ------------------------------------------------------------------------------


def test_operator_and_owner_open_products_finance_is_refused(app: Flask) -> None:
    product = make_product(app, title="茶叶")
    for role in ("owner", "operator"):
        client = staff_client(app, role)
        for url in ("/panel/products", NEW, _edit_url(product["product_id"])):
            assert client.get(url).status_code == 200, (role, url)
    finance = staff_client(app, "finance")
    for url in ("/panel/products", NEW, _edit_url(product["product_id"])):
        assert finance.get(url).status_code == 403
    assert app.test_client().get("/panel/products").status_code == 302  # to sign in


# ---- create, list, edit ------------------------------------------------------------------


def test_a_product_created_in_the_panel_is_in_the_shop_with_its_prices(
    app: Flask, client: FlaskClient
) -> None:
    operator = staff_client(app, "operator")
    product_id = _create(operator)

    shop = client.get(f"/api/v1/products/{product_id}")
    assert shop.status_code == 200
    body = shop.get_json()
    assert body["title"] == "云南小粒咖啡"
    assert (body["min_price_fen"], body["max_price_fen"]) == (1990, 3500)
    assert [(s["name"], s["price_fen"], s["stock"]) for s in body["skus"]] == [
        ("250g", 1990, 10),
        ("500g", 3500, 4),
    ]
    assert body["images"] == ["https://img.example/a.jpg", "https://img.example/b.jpg"]
    with app.app_context():
        product = db.session.get(Product, product_id)
        assert (product.commission_l1_bp, product.commission_l2_bp) == (1250, 500)
        assert db.session.get(Category, product.category_id).name == "咖啡"
        assert product.sort == 5 and product.on_shelf

    listing = operator.get("/panel/products?shelf=on&q=咖啡").get_data(as_text=True)
    assert "云南小粒咖啡" in listing and "¥19.90 – ¥35.00" in listing
    assert "12.50 %" in listing and ">14<" in listing  # total stock
    assert "云南小粒咖啡" not in operator.get("/panel/products?shelf=off").get_data(as_text=True)

    created = _audit(app, "product.create")
    assert len(created) == 1 and created[0].target_id == str(product_id)
    assert decode(created[0].after_json)["commission_l1_bp"] == 1250
    assert decode(_audit(app, "product.shelf")[0].after_json)["on_shelf"] is True


def test_editing_a_product_changes_the_shop_and_is_audited(app: Flask, client: FlaskClient) -> None:
    owner = staff_client(app, "owner")
    product_id = _create(owner)
    data = _edit_form(
        owner, product_id, title="云南咖啡豆", commission_l1_bp="", commission_l2_bp="8.25"
    )
    assert data["title"] == "云南咖啡豆" and data["image_urls"].startswith("https://img")
    saved = post_form(owner, _edit_url(product_id), _edit_url(product_id), **data)
    assert saved.status_code == 303, saved.get_data(as_text=True)[:2000]
    assert client.get(f"/api/v1/products/{product_id}").get_json()["title"] == "云南咖啡豆"
    with app.app_context():
        product = db.session.get(Product, product_id)
        assert (product.commission_l1_bp, product.commission_l2_bp) == (None, 825)
        assert len(product.images) == 2
    update = _audit(app, "product.update")[-1]
    assert decode(update.before_json) == {
        "title": "云南小粒咖啡",
        "commission_l1_bp": 1250,
        "commission_l2_bp": 500,
    }
    assert decode(update.after_json) == {
        "title": "云南咖啡豆",
        "commission_l1_bp": None,
        "commission_l2_bp": 825,
    }

    # Off the shelf: the shop no longer sells it.
    page = owner.get(_edit_url(product_id)).get_data(as_text=True)
    off = owner.post(
        f"/panel/products/{product_id}/shelf",
        data={"on_shelf": "0", "csrf_token": csrf_from(page)},
    )
    assert off.status_code == 303
    assert client.get(f"/api/v1/products/{product_id}").status_code == 404
    assert decode(_audit(app, "product.shelf")[-1].before_json) == {"on_shelf": True}

    # A SKU added and one repriced.
    added = post_form(
        owner,
        _edit_url(product_id),
        f"/panel/products/{product_id}/skus",
        **{"new-name": "1kg", "new-price_fen": "60.00", "new-stock": "2", "new-is_active": "y"},
    )
    assert added.status_code == 303
    with app.app_context():
        skus = db.session.scalars(select(Sku).where(Sku.product_id == product_id)).all()
        assert [(s.name, s.price_fen, s.stock) for s in skus][-1] == ("1kg", 6000, 2)
        first = skus[0].id
    form = _sku_form(owner, product_id, first)
    form[f"sku{first}-price_fen"] = "18.80"
    assert owner.post(f"/panel/products/{product_id}/skus/{first}", data=form).status_code == 303
    with app.app_context():
        assert db.session.get(Sku, first).price_fen == 1880
    repriced = _audit(app, "sku.update")[-1]
    assert decode(repriced.before_json) == {"price_fen": 1990}
    assert decode(repriced.after_json) == {"price_fen": 1880}


def test_bad_input_is_refused_naming_the_field_and_nothing_is_saved(app: Flask) -> None:
    operator = staff_client(app, "operator")
    products_before, categories_before = _count(app, Product), _count(app, Category)
    cases = [
        ({"skus-1-price_fen": "12.345"}, "skus-1-price_fen", "in yuan with at most 2 decimals"),
        ({"skus-0-price_fen": "abc"}, "skus-0-price_fen", "in yuan with at most 2 decimals"),
        ({"skus-0-price_fen": "0"}, "skus-0-price_fen", "more than 0"),
        ({"commission_l1_bp": "100.5"}, "commission_l1_bp", "at most 100 %"),
        (
            {"commission_l1_bp": "60", "commission_l2_bp": "50"},
            "commission_l2_bp",
            "together exceed 100 %",
        ),
        ({"title": ""}, "title", "This field is required."),
        ({"image_urls": "ftp://nope"}, "image_urls", "not an http(s) URL"),
    ]
    for overrides, name, message in cases:
        response = post_form(operator, NEW, NEW, **_product_form(**overrides))
        assert response.status_code == 400, overrides
        html = response.get_data(as_text=True)
        # The message sits by its field: between the field's input and the next field.
        by_field = html.split(f'name="{name}"', 1)[1].split('class="field', 1)[0]
        assert 'class="error"' in by_field and message in by_field, (overrides, by_field)
    assert _count(app, Product) == products_before
    assert _count(app, Category) == categories_before  # the new category was not kept
    assert _audit(app, "product.create") == []

    product_id = _create(operator)
    data = _edit_form(operator, product_id, title="改了", commission_l2_bp="95")
    response = post_form(operator, _edit_url(product_id), _edit_url(product_id), **data)
    assert response.status_code == 400
    assert "together exceed 100 %" in response.get_data(as_text=True)
    with app.app_context():
        product = db.session.get(Product, product_id)
        assert (product.title, product.commission_l2_bp) == ("云南小粒咖啡", 500)
    assert _audit(app, "product.update") == []


def test_a_stock_edit_keeps_the_reservation_of_an_order_placed_meanwhile(
    app: Flask, client: FlaskClient
) -> None:
    product = make_product(app, stock=10)
    sku_id, product_id = product["sku_id"], product["product_id"]
    operator = staff_client(app, "operator")
    form = _sku_form(operator, product_id, sku_id)  # the staff member sees 10
    assert form[f"sku{sku_id}-stock_seen"] == "10"

    shopper = login(client, "stock-shopper")
    order = place_order(client, shopper, sku_id, quantity=3)  # reserves 3: stock 7
    assert sku_stock(app, sku_id) == 7

    form[f"sku{sku_id}-stock"] = "15"  # "make it 15": +5 on what is there now
    response = operator.post(f"/panel/products/{product_id}/skus/{sku_id}", data=form)
    assert response.status_code == 303
    assert sku_stock(app, sku_id) == 12  # the order's 3 stay reserved
    entry = _audit(app, "sku.stock")[-1]
    assert decode(entry.before_json) == {"stock": 7, "seen": 10}
    assert decode(entry.after_json) == {"stock": 12, "change": 5}

    cancelled = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=shopper)
    assert cancelled.status_code == 200
    assert sku_stock(app, sku_id) == 15  # what the merchant asked for, once the order let go

    # Seen 15, the shop sold 10 meanwhile; "make it 2" would need -13 of 5: refused.
    form = _sku_form(operator, product_id, sku_id)
    place_order(client, shopper, sku_id, quantity=10)
    form[f"sku{sku_id}-stock"] = "2"
    form[f"sku{sku_id}-price_fen"] = "1.00"
    refused = operator.post(f"/panel/products/{product_id}/skus/{sku_id}", data=form)
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    assert "now 5" in html and 'value="5"' in html  # the stock seen is refreshed for a retry
    assert sku_stock(app, sku_id) == 5
    with app.app_context():
        assert db.session.get(Sku, sku_id).price_fen == 1990  # nothing else saved either

    form[f"sku{sku_id}-stock"] = "-1"
    bad = operator.post(f"/panel/products/{product_id}/skus/{sku_id}", data=form)
    assert bad.status_code == 400 and sku_stock(app, sku_id) == 5


def test_per_product_rates_from_the_panel_are_used_by_attribution(
    app: Flask, client: FlaskClient, emulator: EmulatorServer, run_jobs
) -> None:
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=500)
    top = become_distributor(client, "pr-top")
    login(client, "pr-mid", scene=top["centre"]["scene"])
    mid = become_distributor(client, "pr-mid")
    buyer = login(client, "pr-buyer", scene=mid["centre"]["scene"])

    operator = staff_client(app, "operator")
    product_id = _create(
        operator,
        commission_l1_bp="30",
        commission_l2_bp="2.5",
        **{"skus-0-price_fen": "100.00", "skus-1-name": "", "skus-1-price_fen": ""},
        **{"skus-1-stock": "", "skus-1-is_active": None},
    )
    with app.app_context():
        sku_id = db.session.scalars(select(Sku.id).where(Sku.product_id == product_id)).one()
    pay_order(client, emulator.url, buyer, sku_id)
    run_jobs()
    assert centre(client, mid["headers"])["balances"]["frozen_fen"] == 3000  # 30 % of ¥100
    assert centre(client, top["headers"])["balances"]["frozen_fen"] == 250  # 2.5 %
    records = client.get("/api/v1/distributor/commissions", headers=mid["headers"]).get_json()
    assert [r["rate_bp"] for r in records["items"]] == [3000]
