"""The panel's flash-sale pages, used as staff use them: an activity created with its slot
and SKU line sells through the API at its price; an activity stock above the SKU's is
refused beside the SKUs; the activity's page shows its sales per SKU and its orders; an
edit raising the stock moves what is left by the difference."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.flash_helpers import flash_order, stock_left
from tests.panel_helpers import post_form, staff_client
from tests.shop import login, make_product
from wxdist.core.clock import to_local
from wxdist.core.extensions import db
from wxdist.models import AuditEntry, FlashActivity, FlashSku
from wxdist.models.types import utcnow

PAGE = "/panel/marketing/flash-sales"


def _slot() -> str:
    now = utcnow()
    start, end = to_local(now - timedelta(minutes=10)), to_local(now + timedelta(hours=1))
    return f"{start:%Y-%m-%d %H:%M} ~ {end:%Y-%m-%d %H:%M}"


def _form(sku_id: int, stock: int, **extra: object) -> dict[str, object]:
    return {
        "name": "双十二秒杀",
        "slots": _slot(),
        "skus": f"{sku_id}, 9.90, {stock}",
        "per_user_limit": 1,
        "per_order_limit": 1,
        "commission_mode": "none",
        "enabled": "y",
        **extra,
    }


def test_staff_create_a_flash_sale_that_sells_and_shows_its_sales(
    client: FlaskClient, app: Flask
) -> None:
    staff = staff_client(app, "operator")
    staff.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    assert "秒杀" in staff.get("/panel/").get_data(as_text=True)
    product = make_product(app, price_fen=10_000, stock=5, title="长绒棉 T 恤")

    refused = post_form(staff, PAGE, PAGE, **_form(product["sku_id"], 6))
    assert refused.status_code == 400
    assert "库存" in refused.get_data(as_text=True)

    created = post_form(staff, PAGE, PAGE, **_form(product["sku_id"], 3))
    assert created.status_code == 303, created.get_data(as_text=True)[:2000]
    with app.app_context():
        activity_id = db.session.scalar(select(FlashActivity.id))
        flash_sku_id = db.session.scalar(select(FlashSku.id))
        assert db.session.scalar(
            select(AuditEntry.action).where(AuditEntry.action == "flash_sale.create")
        )
    shopper = login(client, "panel-flash-buyer")
    placed = flash_order(client, shopper, flash_sku_id)
    assert placed.status_code == 201, placed.get_json()
    assert placed.get_json()["payable_fen"] == 990

    page = staff.get(f"{PAGE}/{activity_id}").get_data(as_text=True)
    assert placed.get_json()["order_no"] in page
    assert "长绒棉 T 恤" in page

    url = f"{PAGE}/{activity_id}"
    raised = post_form(staff, url, url, **_form(product["sku_id"], 4))
    assert raised.status_code == 303, raised.get_data(as_text=True)[:2000]
    assert stock_left(app, flash_sku_id) == 3  # 4 set, 1 held by the live order
