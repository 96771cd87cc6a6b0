"""The group-buy race of issue 17 (MariaDB): 200 shoppers join a 5-person group (its
leader paid) at once. The conditional seat UPDATE lets exactly 4 through; every other
shopper is told `group_full` before paying; the group holds 5 seats, the activity stock
lost exactly 5, and reconcile is clean. The 4 then pay and the group succeeds.

On SQLite the write lock serialises the joiners anyway: the point is MySQL/MariaDB row
locks, run with DATABASE_URL set."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.group_helpers import group_row, make_group_activity, open_group, pay, stock_left
from tests.shop import ADDRESS, login, make_product, storm
from wxdist.accounts.auth import issue_token
from wxdist.core.extensions import db
from wxdist.models import GroupMember, User
from wxdist.reporting.reconcile import check_all

JOINERS = 200
SIZE = 5


@pytest.fixture(autouse=True)
def _mysql(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name != "mysql":
            pytest.skip("the race needs MySQL/MariaDB row locks (SQLite serialises writers)")


def _joiners(app: Flask) -> list[str]:
    with app.app_context():
        users = [User(openid=f"group-race-{i}") for i in range(JOINERS)]
        db.session.add_all(users)
        db.session.commit()
        return [issue_token(user) for user in users]


def test_two_hundred_join_a_five_person_group(
    client: FlaskClient, app: Flask, emulator: Any
) -> None:
    product = make_product(app, price_fen=10_000, stock=JOINERS + 10)
    sale = make_group_activity(app, product["sku_id"], price_fen=100, stock=50, group_size=SIZE)
    leader = login(client, "group-race-leader")
    order = open_group(client, leader, sale["group_sku_id"]).get_json()
    pay(client, emulator.url, leader, order["id"])
    group_id = order["group_id"]
    tokens = _joiners(app)

    def join(i: int) -> tuple[int, str]:
        response = app.test_client().post(
            f"/api/v1/group-buys/groups/{group_id}/join",
            json={"address": ADDRESS},
            headers={"Authorization": f"Bearer {tokens[i]}"},
        )
        answer = response.get_json()
        return response.status_code, answer.get("error", {}).get("code", "")

    answers = Counter(storm(JOINERS, join))

    assert answers[(201, "")] == SIZE - 1
    assert answers[(409, "group_full")] + answers[(409, "retry")] == JOINERS - SIZE + 1
    row = group_row(app, group_id)
    assert (row["taken"], row["status"]) == (SIZE, "open")
    assert stock_left(app, sale["group_sku_id"]) == 50 - SIZE
    with app.app_context():
        members = db.session.execute(
            select(GroupMember.user_id, GroupMember.order_id).where(
                GroupMember.group_id == group_id
            )
        ).all()
        assert len(members) == SIZE
        assert check_all() == []
        by_user = {u.id: u for u in db.session.scalars(select(User))}
        joined = [(issue_token(by_user[u]), o) for u, o in members if o != order["id"]]
    for token, order_id in joined:
        pay(client, emulator.url, {"Authorization": f"Bearer {token}"}, order_id)
    assert group_row(app, group_id)["status"] == "succeeded"
    with app.app_context():
        assert check_all() == []
