"""Group-buy rules (issue 17) around the hold and the group's edges: the attribution sweep
skips a held order; commission mode `none` credits nothing even after success; the
leader's unpaid close drops the group and returns its unit; a late payment never revives
an ended group order; reconcile sees a wrong activity stock and a commission on a forming
group's order."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from tests.group_helpers import (
    group_row,
    join_group,
    make_group_activity,
    open_group,
    order_row,
    pay,
    stock_left,
)
from tests.shop import become_distributor, centre, login, make_product, set_settings
from wxdist.core.extensions import db
from wxdist.distribution.commissions import attribute_missed, attribute_order
from wxdist.models import GroupSku, Order
from wxdist.models.types import utcnow
from wxdist.reporting.reconcile import check_all
from wxdist.shop.payment_flow import close_expired_orders


def test_the_sweep_skips_a_held_order_and_none_mode_credits_nothing(
    client: FlaskClient, app: Flask, emulator: Any, run_jobs: Any
) -> None:
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=0)
    seller = become_distributor(client, "rules-seller")
    scene = seller["centre"]["scene"]
    product = make_product(app, price_fen=10_000, stock=10)
    sale = make_group_activity(app, product["sku_id"], price_fen=3_000, group_size=2)
    leader = login(client, "rules-leader", scene=scene)
    first = open_group(client, leader, sale["group_sku_id"]).get_json()
    pay(client, emulator.url, leader, first["id"])
    run_jobs()
    with app.app_context():
        assert attribute_missed(now=utcnow() + timedelta(hours=1)) == 0
        assert attribute_order(first["id"]) == 0
    assert order_row(app, first["id"]).attributed_at is None
    member = login(client, "rules-member", scene=scene)
    second = join_group(client, member, first["group_id"]).get_json()
    pay(client, emulator.url, member, second["id"])
    run_jobs()
    assert group_row(app, first["group_id"])["status"] == "succeeded"
    assert order_row(app, first["id"]).attributed_at is not None  # released, attributed
    assert centre(client, seller["headers"])["balances"]["frozen_fen"] == 0  # mode none
    with app.app_context():
        assert check_all() == []


def test_the_leaders_unpaid_close_drops_the_group(client: FlaskClient, app: Flask) -> None:
    product = make_product(app, price_fen=10_000, stock=10)
    sale = make_group_activity(app, product["sku_id"], stock=3)
    leader = login(client, "drop-leader")
    order = open_group(client, leader, sale["group_sku_id"]).get_json()
    assert stock_left(app, sale["group_sku_id"]) == 2
    assert client.post(f"/api/v1/orders/{order['id']}/cancel", headers=leader).status_code == 200
    row = group_row(app, order["group_id"])
    assert (row["status"], row["taken"]) == ("dropped", 0)
    assert stock_left(app, sale["group_sku_id"]) == 3
    other = login(client, "drop-other")
    refused = join_group(client, other, order["group_id"])
    assert refused.get_json()["error"]["code"] == "group_not_open"
    with app.app_context():
        assert check_all() == []


def test_a_closed_group_order_is_not_revived(client: FlaskClient, app: Flask) -> None:
    from tests.shop import sku_stock
    from wxdist.shop.orders import reserve_again

    product = make_product(app, price_fen=10_000, stock=10)
    sale = make_group_activity(app, product["sku_id"], stock=3)
    leader = login(client, "late-leader")
    order = open_group(client, leader, sale["group_sku_id"]).get_json()
    with app.app_context():
        db.session.execute(
            update(Order)
            .where(Order.id == order["id"])
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        db.session.commit()
        assert close_expired_orders()["closed"] == 1
        # What a late payment's transaction asks: refused, so the shop refunds it.
        assert reserve_again(order["id"]) is False
        db.session.commit()
    assert sku_stock(app, product["sku_id"]) == 10
    assert group_row(app, order["group_id"])["status"] == "dropped"
    assert stock_left(app, sale["group_sku_id"]) == 3


def test_reconcile_sees_a_wrong_stock_and_an_early_commission(
    client: FlaskClient, app: Flask
) -> None:
    product = make_product(app, price_fen=10_000)
    sale = make_group_activity(app, product["sku_id"])
    leader = login(client, "reconcile-leader")
    order = open_group(client, leader, sale["group_sku_id"]).get_json()
    with app.app_context():
        assert check_all() == []
        db.session.execute(update(GroupSku).values(stock_left=GroupSku.stock_left + 1))
        db.session.execute(update(Order).where(Order.id == order["id"]).values(held_by=None))
        db.session.commit()
        found = check_all()
    assert any("activity stock" in line and "group SKU" in line for line in found)
    assert any("not held" in line for line in found)
