"""A locking read (SELECT … FOR UPDATE) holds on SQLite as a row lock does on MariaDB:
work that decides on a locked row is never done twice by two transactions at once."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select, update

from payments.emulator import EmulatorServer
from tests.shop import login, make_product, pay_order, storm
from wxdist.core.extensions import db
from wxdist.models import DailyStat, Order

ROUNDS = 6


def test_one_order_attributed_by_several_workers_at_once_counts_its_sale_once(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    """A retried attribution beside the first (the sweep beside a drain, a job retried):
    the dashboard's paid orders and sales count the order once."""
    from wxdist.distribution.commissions import attribute_order

    product = make_product(app, price_fen=2500, stock=ROUNDS)
    headers = login(client)
    for _ in range(ROUNDS):
        order = pay_order(client, emulator.url, headers, product["sku_id"])
        with app.app_context():  # paid, not yet attributed, nothing counted yet
            db.session.execute(
                update(Order).where(Order.id == order["id"]).values(attributed_at=None)
            )
            db.session.execute(delete(DailyStat))
            db.session.commit()

        def attribute(_: int, order_id: int = order["id"]) -> None:
            with app.app_context():
                attribute_order(order_id)

        storm(4, attribute)
        with app.app_context():
            counted = db.session.execute(
                select(func.sum(DailyStat.paid_orders), func.sum(DailyStat.paid_fen))
            ).one()
            assert tuple(counted) == (1, 2500)
            assert db.session.get(Order, order["id"]).attributed_at is not None
