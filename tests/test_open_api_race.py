"""Stock moved by an ERP and by shoppers at once never goes below zero, and every unit is
accounted for: the stock left is the start, plus the ERP's deltas that were applied, less
the orders placed (MariaDB: SQLite serialises writers, so there is no race to lose)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.open_api_client import Erp, make_key
from tests.shop import ADDRESS, login, make_product, sku_stock, storm
from wxdist.core.extensions import db
from wxdist.models import OrderItem, Sku

START = 40
ROUNDS = 12  # each: an ERP delta of -4, a shopper's order of 4, and an ERP delta of +2


@pytest.fixture(autouse=True)
def _mysql(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name != "mysql":
            pytest.skip("the race needs MySQL/MariaDB row locks (SQLite serialises writers)")


def test_concurrent_deltas_and_orders_never_take_stock_below_zero(app: Flask) -> None:
    product = make_product(app, stock=START)
    sku_id = product["sku_id"]
    with app.app_context():
        db.session.get(Sku, sku_id).code = "RACE-1"
        db.session.commit()
    key_id, secret = make_key(app, ["stock:write"])
    shoppers = [login(app.test_client(), f"race-{i}") for i in range(ROUNDS)]

    def one(i: int) -> tuple[str, int, dict[str, Any]]:
        client = app.test_client()
        kind = ("minus", "order", "plus")[i % 3]
        if kind == "order":
            sent = client.post("/api/v1/orders", headers=shoppers[i // 3], json={
                "items": [{"sku_id": sku_id, "quantity": 4}], "address": ADDRESS})  # fmt: skip
        else:
            delta = -4 if kind == "minus" else 2
            batch = {"request_id": f"race-{i}", "items": [{"sku_code": "RACE-1", "delta": delta}]}
            sent = Erp(client, key_id, secret).post("/stock", batch)
        return kind, sent.status_code, sent.get_json()

    results = storm(3 * ROUNDS, one)
    for kind, status, body in results:
        assert status in (200, 201, 409), (kind, status, body)
        if status == 409:
            assert body["error"]["code"] in ("stock_below_zero", "out_of_stock"), body
    done = {k: sum(1 for kind, s, _ in results if kind == k and s in (200, 201))
            for k in ("minus", "order", "plus")}  # fmt: skip
    assert done["plus"] == ROUNDS  # raising stock is never refused
    left = sku_stock(app, sku_id)
    assert left >= 0
    assert left == START - 4 * done["minus"] - 4 * done["order"] + 2 * done["plus"]
    with app.app_context():
        ordered = db.session.scalar(
            select(func.coalesce(func.sum(OrderItem.quantity), 0)).where(OrderItem.sku_id == sku_id)
        )
    assert ordered == 4 * done["order"]
    assert done["minus"] + done["order"] < 2 * ROUNDS  # demand outran stock: some refused
