"""Group buys (issue 17): a leader opens a group by paying, members join and pay, the group
succeeds when full and only then are its orders released (shippable, attributed); a
member joins once, a full group refuses, an unpaid member's close frees the seat; a
group not full at its deadline fails and every paid member is refunded once."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from tests.group_helpers import (
    count,
    expire,
    group_row,
    join_group,
    make_group_activity,
    open_group,
    order_row,
    pay,
    stock_left,
)
from tests.shop import (
    become_distributor,
    centre,
    get_order,
    login,
    make_product,
    set_settings,
    sku_stock,
    wait_for_status,
)
from wxdist.core.errors import Conflict
from wxdist.core.extensions import db
from wxdist.marketing.group_buys.failures import fail_expired_groups
from wxdist.models import Commission, GroupMember, Order, OrderItem
from wxdist.reporting.reconcile import check_all
from wxdist.shop.payment_flow import close_expired_orders
from wxdist.shop.shipments import ship_whole_order


def _code(response: Any) -> str:
    return response.get_json()["error"]["code"]


def _commissions(app: Flask, order_id: int) -> int:
    return count(
        app,
        Commission,
        Commission.order_item_id.in_(
            __import__("sqlalchemy").select(OrderItem.id).where(OrderItem.order_id == order_id)
        ),
    )


def _clean(app: Flask) -> None:
    with app.app_context():
        assert check_all() == []


def _open_paid(
    client: FlaskClient, app: Flask, emulator: Any, group_sku_id: int, code: str, **login_extra: Any
) -> tuple[dict[str, str], dict[str, Any]]:
    leader = login(client, code, **login_extra)
    response = open_group(client, leader, group_sku_id)
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    pay(client, emulator.url, leader, order["id"])
    return leader, order


def test_open_join_succeed_releases_and_attributes(
    client: FlaskClient, app: Flask, emulator: Any, run_jobs: Any
) -> None:
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=0)
    seller = become_distributor(client, "group-seller")
    scene = seller["centre"]["scene"]
    product = make_product(app, price_fen=10_000, stock=10)
    sale = make_group_activity(
        app, product["sku_id"], price_fen=3_000, stock=5, group_size=2, commission_mode="normal"
    )
    leader = login(client, "group-leader", scene=scene)
    opened = open_group(client, leader, sale["group_sku_id"])
    assert opened.status_code == 201, opened.get_json()
    lead_order = opened.get_json()
    group_id = lead_order["group_id"]
    assert lead_order["payable_fen"] == 3_000
    assert group_row(app, group_id)["status"] == "pending"
    member = login(client, "group-member", scene=scene)
    assert _code(join_group(client, member, group_id)) == "group_not_open"  # leader unpaid
    pay(client, emulator.url, leader, lead_order["id"])
    run_jobs()
    row = group_row(app, group_id)
    assert (row["status"], row["paid"], row["taken"]) == ("open", 1, 1)
    assert row["expires_at"] is not None
    # Paid but held: not attributed, not shippable.
    assert order_row(app, lead_order["id"]).held_by == "group"
    assert order_row(app, lead_order["id"]).attributed_at is None
    assert _commissions(app, lead_order["id"]) == 0
    with app.app_context(), pytest.raises(Conflict) as refused:
        ship_whole_order(lead_order["id"], "SF", "SF100")
    assert refused.value.code == "order_held"
    _clean(app)

    joined = join_group(client, member, group_id)
    assert joined.status_code == 201, joined.get_json()
    member_order = joined.get_json()
    assert member_order["group_id"] == group_id
    assert stock_left(app, sale["group_sku_id"]) == 3
    pay(client, emulator.url, member, member_order["id"])
    run_jobs()
    assert group_row(app, group_id)["status"] == "succeeded"
    for order_id in (lead_order["id"], member_order["id"]):
        released = order_row(app, order_id)
        assert released.held_by is None
        assert released.attributed_at is not None
    assert centre(client, seller["headers"])["balances"]["frozen_fen"] == 600  # 10% of 2 × 30
    with app.app_context():
        ship_whole_order(lead_order["id"], "SF", "SF101")
    assert get_order(client, leader, lead_order["id"])["status"] == "shipped"
    status = client.get(f"/api/v1/group-buys/groups/{group_id}").get_json()
    assert status["status"] == "succeeded"
    assert [m["is_leader"] for m in status["members"]] == [True, False]
    assert all(m["paid"] for m in status["members"])
    _clean(app)


def test_join_once_and_a_full_group_refuses(client: FlaskClient, app: Flask, emulator: Any) -> None:
    product = make_product(app, price_fen=10_000, stock=10)
    sale = make_group_activity(app, product["sku_id"], group_size=2)
    leader, order = _open_paid(client, app, emulator, sale["group_sku_id"], "full-leader")
    group_id = order["group_id"]
    assert _code(join_group(client, leader, group_id)) == "group_joined"
    first = login(client, "full-first")
    assert join_group(client, first, group_id).status_code == 201
    assert _code(join_group(client, first, group_id)) == "group_joined"
    second = login(client, "full-second")
    assert _code(join_group(client, second, group_id)) == "group_full"  # the seat is held
    assert count(app, GroupMember, GroupMember.group_id == group_id) == 2
    listed = client.get(f"/api/v1/group-buys/{sale['activity_id']}").get_json()
    assert listed["open_groups"] == []  # no seat left to offer
    assert listed["items"][0]["stock_left"] == 8
    _clean(app)


def test_an_unpaid_member_close_frees_the_seat(
    client: FlaskClient, app: Flask, emulator: Any
) -> None:
    product = make_product(app, price_fen=10_000, stock=10)
    sale = make_group_activity(app, product["sku_id"], group_size=2, stock=5)
    _leader, order = _open_paid(client, app, emulator, sale["group_sku_id"], "seat-leader")
    group_id = order["group_id"]
    first = login(client, "seat-first")
    unpaid = join_group(client, first, group_id).get_json()
    assert stock_left(app, sale["group_sku_id"]) == 3
    assert sku_stock(app, product["sku_id"]) == 8
    with app.app_context():
        from datetime import timedelta

        from sqlalchemy import update

        from wxdist.models.types import utcnow

        db.session.execute(
            update(Order)
            .where(Order.id == unpaid["id"])
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        db.session.commit()
        assert close_expired_orders()["closed"] == 1
    assert group_row(app, group_id)["taken"] == 1
    assert stock_left(app, sale["group_sku_id"]) == 4
    assert sku_stock(app, product["sku_id"]) == 9
    second = login(client, "seat-second")
    assert join_group(client, second, group_id).status_code == 201
    _clean(app)


def _refunds(emulator: Any, out_trade_no: str) -> int:
    trade = requests.get(f"{emulator.url}/_emulator/wechat/trades/{out_trade_no}", timeout=10)
    return len(trade.json()["refunds"])


def test_a_group_failing_at_its_deadline_refunds_every_paid_member(
    client: FlaskClient, app: Flask, emulator: Any, run_jobs: Any
) -> None:
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=0)
    seller = become_distributor(client, "fail-seller")
    scene = seller["centre"]["scene"]
    product = make_product(app, price_fen=10_000, stock=10)
    sale = make_group_activity(
        app, product["sku_id"], price_fen=3_000, stock=5, group_size=4, commission_mode="normal"
    )
    leader = login(client, "fail-leader", scene=scene)
    lead_order = open_group(client, leader, sale["group_sku_id"]).get_json()
    group_id = lead_order["group_id"]
    trades = [pay(client, emulator.url, leader, lead_order["id"])]
    paid_member = login(client, "fail-paid", scene=scene)
    paid_order = join_group(client, paid_member, group_id).get_json()
    trades.append(pay(client, emulator.url, paid_member, paid_order["id"]))
    unpaid_member = login(client, "fail-unpaid", scene=scene)
    unpaid_order = join_group(client, unpaid_member, group_id).get_json()
    run_jobs()
    assert stock_left(app, sale["group_sku_id"]) == 2
    assert sku_stock(app, product["sku_id"]) == 7
    with app.app_context():
        assert fail_expired_groups()["failed"] == 0  # not due yet
    expire(app, group_id)
    with app.app_context():
        outcome = fail_expired_groups()
    run_jobs()
    assert outcome == {
        "failed": 1,
        "cancelled": 1,
        "refunded": 2,
        "unreachable": 0,
        "refused": 0,
    }
    assert group_row(app, group_id)["status"] == "failed"
    assert [_refunds(emulator, t) for t in trades] == [1, 1]
    wait_for_status(client, leader, lead_order["id"], "refunded")
    wait_for_status(client, paid_member, paid_order["id"], "refunded")
    assert get_order(client, unpaid_member, unpaid_order["id"])["status"] == "cancelled"
    assert stock_left(app, sale["group_sku_id"]) == 5
    assert sku_stock(app, product["sku_id"]) == 10  # nothing shipped: the SKU has it all back
    # A rerun refunds nothing twice; no commission ever, the hold stays.
    with app.app_context():
        again = fail_expired_groups()
    assert (again["failed"], again["refunded"], again["cancelled"]) == (0, 0, 0)
    assert [_refunds(emulator, t) for t in trades] == [1, 1]
    for order_id in (lead_order["id"], paid_order["id"]):
        assert _commissions(app, order_id) == 0
        assert order_row(app, order_id).held_by == "group"
    assert centre(client, seller["headers"])["balances"]["frozen_fen"] == 0
    assert _code(join_group(client, login(client, "fail-late"), group_id)) == "group_not_open"
    _clean(app)


def test_the_api_lists_activities_and_open_groups(
    client: FlaskClient, app: Flask, emulator: Any
) -> None:
    product = make_product(app, price_fen=10_000, title="拼团商品")
    sale = make_group_activity(app, product["sku_id"], price_fen=2_000, group_size=3)
    _open_paid(client, app, emulator, sale["group_sku_id"], "list-leader")
    listed = client.get("/api/v1/group-buys").get_json()["items"]
    mine = next(a for a in listed if a["id"] == sale["activity_id"])
    assert (mine["state"], mine["group_size"]) == ("live", 3)
    detail = client.get(f"/api/v1/group-buys/{sale['activity_id']}").get_json()
    (item,) = detail["items"]
    assert (item["price_fen"], item["list_price_fen"], item["title"]) == (2_000, 10_000, "拼团商品")
    (group,) = detail["open_groups"]
    assert group["seats_left"] == 2
    assert group["countdown_seconds"] > 0
