"""The leader reward of a group buy (issue 17): paid once, into the leader's available
balance, after every order of the succeeded group is completed, and only when the leader
is an approved distributor with an account; a leader who is not gets none."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.group_helpers import join_group, make_group_activity, open_group, pay
from tests.shop import become_distributor, centre, login, make_product
from wxdist.core.extensions import db
from wxdist.marketing.group_buys.rewards import pay_leader_rewards
from wxdist.models import LedgerEntry
from wxdist.shop.orders import confirm_receipt
from wxdist.shop.shipments import ship_whole_order


def _succeed(
    client: FlaskClient, app: Flask, emulator: Any, leader: dict[str, str], sku_id: int
) -> list[tuple[int, int]]:
    """A two-person group of `leader` and a friend, paid and shipped; (user, order) each."""
    sale = make_group_activity(app, sku_id, group_size=2, leader_reward_fen=500)
    first = open_group(client, leader, sale["group_sku_id"]).get_json()
    pay(client, emulator.url, leader, first["id"])
    friend = login(client, f"reward-friend-{first['id']}")
    second = join_group(client, friend, first["group_id"]).get_json()
    pay(client, emulator.url, friend, second["id"])
    with app.app_context():
        for order in (first, second):
            ship_whole_order(order["id"], "SF", f"SF{order['id']}")
    ids = [client.get("/api/v1/me", headers=h).get_json()["id"] for h in (leader, friend)]
    return [(ids[0], first["id"]), (ids[1], second["id"])]


def test_the_leader_reward_after_every_order_is_completed(
    client: FlaskClient, app: Flask, emulator: Any
) -> None:
    seller = become_distributor(client, "reward-leader")
    product = make_product(app, price_fen=10_000, stock=10)
    orders = _succeed(client, app, emulator, seller["headers"], product["sku_id"])
    before = centre(client, seller["headers"])["balances"]["available_fen"]
    with app.app_context():
        confirm_receipt(*orders[0])
        assert pay_leader_rewards() == {"paid": 0, "none": 0}  # one order still shipped
        confirm_receipt(*orders[1])
        assert pay_leader_rewards() == {"paid": 1, "none": 0}
        assert pay_leader_rewards() == {"paid": 0, "none": 0}
        entries = db.session.query(LedgerEntry).filter_by(kind="group_reward").all()
        assert [(e.user_id, e.amount_fen) for e in entries] == [(seller["user_id"], 500)]
    assert centre(client, seller["headers"])["balances"]["available_fen"] == before + 500


def test_a_leader_who_is_no_distributor_gets_none(
    client: FlaskClient, app: Flask, emulator: Any
) -> None:
    leader = login(client, "reward-shopper")
    product = make_product(app, price_fen=10_000, stock=10)
    orders = _succeed(client, app, emulator, leader, product["sku_id"])
    with app.app_context():
        for user_id, order_id in orders:
            confirm_receipt(user_id, order_id)
        assert pay_leader_rewards() == {"paid": 0, "none": 1}
        assert db.session.query(LedgerEntry).filter_by(kind="group_reward").count() == 0
