"""The flash-sale race of issue 17 (MariaDB): 1,000 buyers at once for 100 units, one
each. The conditional UPDATEs of the activity stock and of each buyer's quota counter let
exactly 100 orders through, to 100 distinct buyers; every other buyer is told `sold_out`
(from the database, or from the Redis flag once it is set); the activity stock ends at 0,
the SKU's own stock lost exactly 100, and reconcile is clean.

On SQLite the write lock serialises the buyers anyway: the point is MySQL/MariaDB row
locks, run with DATABASE_URL set (REDIS_URL too, to exercise the sold-out flag)."""

from __future__ import annotations

from collections import Counter

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.flash_helpers import make_activity, stock_left
from tests.shop import ADDRESS, make_product, sku_stock, storm
from wxdist.accounts.auth import issue_token
from wxdist.core.extensions import db
from wxdist.models import FlashOrder, FlashQuota, Order, User
from wxdist.reporting.reconcile import check_all

BUYERS = 1_000
UNITS = 100


@pytest.fixture(autouse=True)
def _mysql(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name != "mysql":
            pytest.skip("the race needs MySQL/MariaDB row locks (SQLite serialises writers)")


def _buyers(app: Flask) -> list[str]:
    with app.app_context():
        users = [User(openid=f"flash-race-{i}") for i in range(BUYERS)]
        db.session.add_all(users)
        db.session.commit()
        return [issue_token(user) for user in users]


def test_a_thousand_buyers_for_a_hundred_units_one_each(app: Flask) -> None:
    product = make_product(app, price_fen=10_000, stock=BUYERS)
    sale = make_activity(app, product["sku_id"], price_fen=100, stock=UNITS, per_user_limit=1)
    tokens = _buyers(app)

    def buy(i: int) -> tuple[int, str]:
        response = app.test_client().post(
            "/api/v1/flash-sales/orders",
            json={"flash_sku_id": sale["flash_sku_id"], "quantity": 1, "address": ADDRESS},
            headers={"Authorization": f"Bearer {tokens[i]}"},
        )
        answer = response.get_json()
        return response.status_code, answer.get("error", {}).get("code", "")

    answers = Counter(storm(BUYERS, buy))

    assert answers == {(201, ""): UNITS, (409, "sold_out"): BUYERS - UNITS}
    assert stock_left(app, sale["flash_sku_id"]) == 0
    assert sku_stock(app, product["sku_id"]) == BUYERS - UNITS
    with app.app_context():
        links = db.session.execute(select(FlashOrder.user_id, FlashOrder.quantity)).all()
        assert len(links) == UNITS
        assert len({user for user, _q in links}) == UNITS  # 100 distinct buyers
        assert db.session.scalar(select(func.count()).select_from(Order)) == UNITS
        assert db.session.scalar(select(func.sum(FlashQuota.bought))) == UNITS
        assert check_all() == []
