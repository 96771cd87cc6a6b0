"""The panel's group buys (拼团): staff create an activity from the form, shoppers open and
join a group, the activity's page shows the group with its members; a failed group's
refunds are listed beside its members."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.group_helpers import expire, join_group, open_group, pay
from tests.panel_helpers import post_form, staff_client
from tests.shop import login, make_product
from wxdist.core.extensions import db
from wxdist.marketing.group_buys.failures import fail_expired_groups
from wxdist.models import GroupActivity, GroupSku


def test_staff_create_a_group_buy_and_see_its_groups(
    client: FlaskClient, app: Flask, emulator: Any
) -> None:
    product = make_product(app, price_fen=10_000, stock=10)
    staff = staff_client(app, "operator")
    page_url = "/panel/marketing/group-buys"
    created = post_form(
        staff,
        page_url,
        page_url,
        **{
            "name": "三人团",
            "window": "2020-01-01 00:00 ~ 2099-01-01 00:00",
            "skus": f"{product['sku_id']}, 29.90, 6",
            "group_size": "3",
            "time_limit_minutes": "60",
            "commission_mode": "none",
            "enabled": "y",
        },
    )
    assert created.status_code == 303, created.get_data(as_text=True)[:2000]
    with app.app_context():
        activity = db.session.query(GroupActivity).one()
        sku = db.session.query(GroupSku).one()
        activity_id, group_sku_id = activity.id, sku.id
        assert (activity.group_size, sku.price_fen, sku.stock_left) == (3, 2_990, 6)
    detail_url = f"/panel/marketing/group-buys/{activity_id}"
    too_much = post_form(
        staff,
        detail_url,
        detail_url,
        **{
            "name": "三人团",
            "window": "2020-01-01 00:00 ~ 2099-01-01 00:00",
            "skus": f"{product['sku_id']}, 29.90, 11",
            "group_size": "3",
            "time_limit_minutes": "60",
            "commission_mode": "none",
        },
    )
    assert too_much.status_code == 400  # above the SKU's own stock
    leader = login(client, "panel-leader")
    order = open_group(client, leader, group_sku_id).get_json()
    pay(client, emulator.url, leader, order["id"])
    member = login(client, "panel-member")
    join_group(client, member, order["group_id"])
    page = staff.get(f"/panel/marketing/group-buys/{activity_id}").get_data(as_text=True)
    assert f'id="g-{order["group_id"]}"' in page
    assert order["order_no"] in page
    assert "2 / 3" in page
    expire(app, order["group_id"])
    with app.app_context():
        fail_expired_groups()
    page = staff.get(f"/panel/marketing/group-buys/{activity_id}").get_data(as_text=True)
    assert f"{order['order_no']}" in page
    assert "R01" in page  # the leader's refund, by its out_refund_no
    listed = staff.get("/panel/marketing/group-buys").get_data(as_text=True)
    assert "三人团" in listed
