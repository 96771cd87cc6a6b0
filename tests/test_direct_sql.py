"""wxdist.core.direct_sql: hot-path writes on the DBAPI cursor behave as SQLAlchemy's
execution would (types, errors, events, the transaction), on SQLite and MariaDB alike."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import bindparam, event, insert, select, text, true, update
from sqlalchemy.exc import DBAPIError, IntegrityError, PendingRollbackError

from tests.shop import make_product
from wxdist.core import direct_sql
from wxdist.core.extensions import db
from wxdist.models import Order, Product, Sku, User

SHANGHAI = timezone(timedelta(hours=8))
_orders, _skus = Order.__table__, Sku.__table__


def _order_row(user_id: int, order_no: str, created_at: datetime) -> dict[str, Any]:
    return {
        "order_no": order_no,
        "user_id": user_id,
        "status": "pending_payment",
        "goods_fen": 1_000,
        "shipping_fen": 0,
        "discount_fen": 0,
        "payable_fen": 1_000,
        "paid_fen": 0,
        "refunded_fen": 0,
        "receiver_name": "张三",
        "receiver_phone": "13800138000",
        "receiver_region": "上海市 浦东新区",
        "receiver_detail": "世纪大道 100 号",
        "remark": "",
        "created_at": created_at,
        "expires_at": created_at + timedelta(minutes=30),
    }


def _user() -> int:
    user = User(openid="direct-sql", nickname="直写")
    db.session.add(user)
    db.session.commit()
    return int(user.id)


def test_an_insert_gets_its_id_and_its_times_as_sqlalchemy_stores_them(app: Flask) -> None:
    with app.app_context():
        user_id = _user()
        local = datetime(2026, 12, 3, 20, 15, 30, tzinfo=SHANGHAI)  # aware: converted to UTC
        outcome = direct_sql.execute(insert(_orders), _order_row(user_id, "D1", local))
        db.session.commit()
        order = db.session.get(Order, outcome.lastrowid)
        assert order is not None and order.order_no == "D1"
        assert order.created_at == datetime(2026, 12, 3, 12, 15, 30)  # naive UTC, as the ORM's
        # and found by the ORM's own comparison with a datetime (same stored format)
        assert (
            db.session.scalar(
                select(Order.id).where(Order.created_at == datetime(2026, 12, 3, 12, 15, 30))
            )
            == outcome.lastrowid
        )


def test_a_duplicate_key_is_sqlalchemys_integrity_error_and_nothing_half_written(
    app: Flask,
) -> None:
    with app.app_context():
        user_id = _user()
        now = datetime.now(UTC)
        direct_sql.execute(insert(_orders), _order_row(user_id, "D2", now))
        db.session.commit()
        direct_sql.execute(insert(_orders), _order_row(user_id, "D3", now))
        with pytest.raises(IntegrityError) as raised:
            direct_sql.execute(insert(_orders), _order_row(user_id, "D2", now))
        assert raised.value.orig is not None  # the driver's error, as SQLAlchemy wraps it
        db.session.rollback()
        assert db.session.scalars(select(Order.order_no).order_by(Order.id)).all() == ["D2"]


def test_rowcount_counts_rows_matched_and_the_statement_joins_the_sessions_transaction(
    app: Flask,
) -> None:
    product = make_product(app, price_fen=500, stock=3)
    take = (
        update(_skus)
        .where(_skus.c.id == bindparam("sku"), _skus.c.stock >= bindparam("q"))
        .values(stock=_skus.c.stock - bindparam("q"))
    )
    with app.app_context():
        assert direct_sql.execute(take, {"sku": product["sku_id"], "q": 2}).rowcount == 1
        assert direct_sql.execute(take, {"sku": product["sku_id"], "q": 2}).rowcount == 0
        # the session sees the direct write: same connection, same transaction
        assert db.session.scalar(select(Sku.stock).where(Sku.id == product["sku_id"])) == 1
        db.session.rollback()
        assert db.session.scalar(select(Sku.stock).where(Sku.id == product["sku_id"])) == 3


def test_returning_rows_and_cursor_events_come_back(app: Flask) -> None:
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement.split()[0].upper())

    with app.app_context():
        user_id = _user()
        event.listen(db.engine, "before_cursor_execute", listen)
        try:
            returned = direct_sql.execute(
                text("DELETE FROM users WHERE id = :id RETURNING id, nickname"), {"id": user_id}
            ).returned
        finally:
            event.remove(db.engine, "before_cursor_execute", listen)
        assert [tuple(row) for row in returned] == [(user_id, "直写")]
        assert seen == ["DELETE"]
        db.session.rollback()


def test_an_expanding_parameter_is_refused(app: Flask) -> None:
    statement = select(_skus.c.id).where(_skus.c.id.in_(bindparam("ids", expanding=True)))
    with app.app_context(), pytest.raises(ValueError, match="ids"):
        direct_sql.execute(statement, {"ids": [1, 2]})


def test_a_lost_connection_is_invalidated_and_the_next_request_gets_a_fresh_one(
    app: Flask,
) -> None:
    if not str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("mysql"):
        pytest.skip("a server-side KILL needs MariaDB")
    product = make_product(app, price_fen=500, stock=3)
    touch = update(_skus).where(_skus.c.id == bindparam("sku")).values(stock=_skus.c.stock)
    with app.app_context():
        conn = db.session.connection()
        own_id = conn.execute(text("SELECT CONNECTION_ID()")).scalar()
        with db.engine.connect() as killer:
            killer.execute(text(f"KILL {int(own_id)}"))
        with pytest.raises(DBAPIError) as raised:
            direct_sql.execute(touch, {"sku": product["sku_id"]})
        assert raised.value.connection_invalidated
        # The request's teardown ends the session; SQLAlchemy's own execute leaves it the same
        # way after a disconnect (the invalidated transaction refuses a rollback).
        with suppress(PendingRollbackError):
            db.session.remove()
        assert direct_sql.execute(touch, {"sku": product["sku_id"]}).rowcount == 1
        db.session.rollback()


def test_rows_are_what_sqlalchemy_reads_types_and_names_included(app: Flask) -> None:
    product = make_product(app, price_fen=500, stock=3)
    _users = User.__table__
    statement = (
        select(
            _skus.c.id.label("sku_id"),
            _skus.c.is_active,
            _skus.c.price_fen,
            _users.c.nickname,
            _users.c.blocked_at,
            _users.c.created_at,
        )
        .join_from(_skus, _users, true())
        .where(_skus.c.id == bindparam("sku"), _users.c.id == bindparam("user"))
    )
    with app.app_context():
        user_id = _user()
        db.session.execute(
            update(_users)
            .values(blocked_at=datetime(2026, 12, 1, 8, 0, 0, 123456))
            .where(_users.c.id == user_id)
        )
        params = {"sku": product["sku_id"], "user": user_id}
        expected = db.session.connection().execute(statement, params).all()
        got = direct_sql.rows(statement, params)
        assert got == expected
        assert [type(v) for v in got[0]] == [type(v) for v in expected[0]]
        assert got[0].is_active is True and isinstance(got[0].blocked_at, datetime)
        assert dict(got[0]._mapping) == dict(expected[0]._mapping)
        db.session.rollback()


def test_python_side_defaults_and_onupdates_are_filled_as_sqlalchemy_fills_them(
    app: Flask,
) -> None:
    product = make_product(app, price_fen=500, stock=3)
    _products = Product.__table__
    bump = (
        update(_products)
        .where(_products.c.id == bindparam("pid"))
        .values(sales_count=_products.c.sales_count + 1)
    )
    with app.app_context():
        db.session.execute(
            update(_products)
            .where(_products.c.id == product["product_id"])
            .values(updated_at=datetime(2020, 1, 1))
        )
        before = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)
        assert direct_sql.execute(bump, {"pid": product["product_id"]}).rowcount == 1
        touched = db.session.scalar(
            select(Product.updated_at).where(Product.id == product["product_id"])
        )
        assert touched is not None and touched >= before  # the column's onupdate=utcnow
        user = direct_sql.execute(insert(User.__table__), {"openid": "defaults", "nickname": ""})
        created = db.session.get(User, user.lastrowid)
        assert created is not None and created.created_at >= before  # default=utcnow
        db.session.rollback()
