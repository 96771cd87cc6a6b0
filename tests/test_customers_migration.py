"""The customers migration on a database with history: every user gets their row, the
figures of their attributed orders net of refunds and the source of their latest binding;
it downgrades and upgrades again. (A database of its own: SQLite, or a fresh MariaDB one
when DATABASE_URL names MariaDB.)"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from tests.conftest import unmigrated_app
from wxdist.core.extensions import db

BEFORE = "4a7311f83f22"  # the customers migration's down_revision
T0 = datetime(2026, 11, 1, 8, 0, 0)


def _user(user_id: int) -> None:
    db.session.execute(
        text(
            "INSERT INTO users (id, openid, nickname, avatar_url, token_version, paid_orders,"
            " paid_spend_fen, created_at, last_login_at)"
            " VALUES (:id, :openid, '', '', 1, 0, 0, :at, :at)"
        ),
        {"id": user_id, "openid": f"mig-{user_id}", "at": T0 + timedelta(days=user_id)},
    )


def _order(number: int, user_id: int, paid: int, refunded: int, day: int, attributed: bool):  # type: ignore[no-untyped-def]
    """An order as the schema before the migration holds it (written as SQL: today's model
    has columns that schema has not)."""
    paid_at = T0 + timedelta(days=day)
    db.session.execute(
        text(
            "INSERT INTO orders (order_no, user_id, status, goods_fen, shipping_fen,"
            " discount_fen, payable_fen, paid_fen, refunded_fen, attributed_at, receiver_name,"
            " receiver_phone, receiver_region, receiver_detail, remark, created_at, expires_at,"
            " paid_at) VALUES (:no, :user_id, 'paid', :paid, 0, 0, :paid, :paid, :refunded,"
            " :attributed_at, '张三', '13900000000', '上海市', '1 号', '', :at, :at, :at)"
        ),
        {"no": f"MIG{number:08d}", "user_id": user_id, "paid": paid, "refunded": refunded,
         "attributed_at": paid_at if attributed else None, "at": paid_at},
    )  # fmt: skip


def test_the_backfill_counts_history_and_the_migration_goes_down_and_up(
    tmp_path: Path, base_settings: dict[str, Any]
) -> None:
    with unmigrated_app(base_settings, tmp_path) as app:
        _check(app)


def _check(app: Flask) -> None:
    with app.app_context():
        upgrade(revision=BEFORE)
        for user_id in (1, 2, 3):
            _user(user_id)
        _order(1, 1, 5000, 0, 3, True)
        _order(2, 1, 3000, 1000, 5, True)  # part refunded
        _order(3, 1, 2000, 2000, 9, True)  # wholly refunded: not an order, still a time
        _order(4, 1, 9999, 0, 10, False)  # not attributed yet: attribution will count it
        _order(5, 2, 800, 0, 4, True)
        for binding, (user_id, referrer, channel) in enumerate(
            [(1, 2, "poster"), (1, 3, "group"), (2, 3, "link")], start=1
        ):
            db.session.execute(
                text(
                    "INSERT INTO referral_bindings (id, user_id, referrer_id, scene, channel,"
                    " source, created_at) VALUES (:id, :u, :r, '', :c, 'bind', :at)"
                ),
                {"id": binding, "u": user_id, "r": referrer, "c": channel, "at": T0},
            )
        db.session.commit()

        upgrade()
        rows = {
            row.user_id: row
            for row in db.session.execute(text("SELECT * FROM customer_stats")).mappings()
        }
        assert set(rows) == {1, 2, 3}
        one = rows[1]
        assert (one["orders"], one["spend_fen"], one["source_id"], one["channel"]) == (
            2,
            7000,
            3,
            "group",
        )
        assert str(one["first_order_at"]).startswith(str(T0 + timedelta(days=3))[:19])
        assert str(one["last_order_at"]).startswith(str(T0 + timedelta(days=9))[:19])
        assert (rows[2]["orders"], rows[2]["spend_fen"], rows[2]["source_id"]) == (1, 800, 3)
        assert (rows[3]["orders"], rows[3]["spend_fen"], rows[3]["source_id"]) == (0, 0, None)
        assert rows[3]["last_order_at"] is None
        from wxdist.customers import stats

        assert stats.check() == []
        db.session.remove()  # no transaction of ours may hold the tables the DDL drops

        downgrade(revision=BEFORE)
        assert "customer_stats" not in inspect(db.engine).get_table_names()
        assert "blocked_at" not in {c["name"] for c in inspect(db.engine).get_columns("users")}
        db.session.remove()
        upgrade()
        assert db.session.execute(text("SELECT COUNT(*) FROM customer_stats")).scalar() == 3
        db.session.remove()
        db.engine.dispose()
