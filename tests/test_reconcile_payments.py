"""`flask reconcile`: money taken twice is listed by order, the common MySQL/MariaDB
collations do not crash it, and a crash exits 3, not 1 ("discrepancies found")."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, make_url, text

from payments.emulator import EmulatorServer
from tests.shop import login, make_product, pay_order
from wxdist import create_app
from wxdist.core.extensions import db
from wxdist.models import Referral, User


def _reconcile(app: Flask) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["reconcile"])
    return result.exit_code, result.output  # stdout and stderr


def _paid_order(client: FlaskClient, app: Flask, emulator: EmulatorServer) -> dict[str, Any]:
    """An order paid 26 yuan with WeChat Pay, sound books (reconcile exits 0)."""
    product = make_product(app, price_fen=2600)
    order = pay_order(client, emulator.url, login(client), product["sku_id"])
    assert order["status"] == "paid"
    code, output = _reconcile(app)
    assert code == 0 and "clean" in output, output
    return order


SECOND_PAYMENT = (
    "INSERT INTO payments (order_id, channel, out_trade_no, amount_fen, status,"
    " transaction_id, created_at, paid_at, refunded_fen)"
    " VALUES ({id}, 'alipay', '{no}A', 2600, 'paid', '2026120222001400000000000099',"
    " '2026-12-02 10:00:00', '2026-12-02 10:00:01', 0)"
)
REFUND_OF_SECOND = (
    "INSERT INTO refunds (order_id, payment_id, out_refund_no, amount_fen, reason, status,"
    " created_at) SELECT {id}, id, '{no}AX', 2600, '', '{status}', '2026-12-02 10:00:02'"
    " FROM payments WHERE out_trade_no = '{no}A'"
)
CORRUPTIONS = {
    # Both channels paid, the order keeps one, nobody refunds the other.
    "double_kept": (
        [SECOND_PAYMENT],
        [
            r"order {id}: payments took 5200 net of refunds, the order kept 2600",
            r"order {id}: payment {no}A \(alipay\) took 2600 but the order did not take it",
        ],
    ),
    # The second payment's refund failed at the gateway: the money is still held.
    "refund_failed": (
        [SECOND_PAYMENT, REFUND_OF_SECOND.replace("{status}", "failed")],
        [r"order {id}: payment {no}A \(alipay\) took 2600 but .* only 0 is refunded"],
    ),
    # The order says paid, but its payment is not.
    "kept_without_payment": (
        ["UPDATE payments SET status = 'closed' WHERE order_id = {id}"],
        [r"order {id}: payments took 0 net of refunds, the order kept 2600"],
    ),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_reconcile_names_the_order_that_took_money_it_did_not_keep(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, corruption: str
) -> None:
    order = _paid_order(client, app, emulator)
    ids = {"id": order["id"], "no": order["out_trade_no"][:-1]}
    statements, expected = CORRUPTIONS[corruption]
    with app.app_context():
        for statement in statements:
            db.session.execute(text(statement.format(**ids)))
        db.session.commit()
    code, output = _reconcile(app)
    assert code == 1, output
    for pattern in expected:
        assert re.search(pattern.format(**ids), output), output


@pytest.mark.parametrize("status", ["processing", "succeeded"])
def test_a_second_payment_refunded_or_being_refunded_is_clean(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, status: str
) -> None:
    order = _paid_order(client, app, emulator)
    ids = {"id": order["id"], "no": order["out_trade_no"][:-1]}
    refunded = 2600 if status == "succeeded" else 0
    with app.app_context():
        db.session.execute(text(SECOND_PAYMENT.format(**ids)))
        db.session.execute(text(REFUND_OF_SECOND.replace("{status}", status).format(**ids)))
        db.session.execute(
            text(f"UPDATE payments SET refunded_fen = {refunded} WHERE out_trade_no = :no"),
            {"no": ids["no"] + "A"},
        )
        db.session.commit()
    code, output = _reconcile(app)
    assert code == 0, output


def _app_on(database_url: str, tmp_path: Path) -> Flask:
    return create_app(
        {
            "WXDIST_ENV": "test",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "MEDIA_DIR": str(tmp_path / "media"),
        }
    )


def test_reconcile_that_cannot_run_exits_3_not_1(tmp_path: Path) -> None:
    """A database without the tables (never migrated): the checks fail, which must not
    read as "discrepancies found"."""
    other = _app_on(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path)
    code, output = _reconcile(other)
    assert code == 3, output
    assert "reconcile failed" in output and "clean" not in output
    with other.app_context():
        db.engine.dispose()


MYSQL_URL = os.environ.get("DATABASE_URL", "")
COLLATIONS = (
    "utf8mb4_general_ci",
    "utf8mb4_unicode_ci",
    "utf8mb4_0900_ai_ci",  # MySQL 8
    "utf8mb4_uca1400_ai_ci",  # MariaDB 10.10+
)


@pytest.fixture()
def server() -> Iterator[Any]:
    if not MYSQL_URL.startswith("mysql"):
        pytest.skip("collations are MySQL/MariaDB's (DATABASE_URL)")
    engine = create_engine(make_url(MYSQL_URL).set(database=""))
    yield engine
    engine.dispose()


def test_the_suite_database_has_the_collation_of_database_url(app: Flask, server: Any) -> None:
    with server.connect() as conn:
        query = text(
            "SELECT default_collation_name FROM information_schema.schemata"
            " WHERE schema_name = :name"
        )
        wanted = conn.execute(query, {"name": make_url(MYSQL_URL).database}).scalar_one()
        with app.app_context():
            suite = conn.execute(query, {"name": db.engine.url.database}).scalar_one()
    assert suite == wanted


@pytest.mark.parametrize("collation", COLLATIONS)
def test_reconcile_runs_on_a_migrated_database_of_each_common_collation(
    server: Any, collation: str, tmp_path: Path
) -> None:
    """utf8mb4_unicode_ci is what most MySQL installations use; the referral check built
    its LIKE pattern with CAST(… AS CHAR), in the connection's collation, and crashed."""
    with server.connect() as conn:
        known = conn.execute(text("SHOW COLLATION LIKE :c"), {"c": collation}).first()
    if known is None:
        pytest.skip(f"this server has no {collation}")
    name = f"wxdist_c_{uuid.uuid4().hex[:10]}"
    with server.begin() as conn:
        conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE {collation}"))
    try:
        other = _app_on(make_url(MYSQL_URL).set(database=name).render_as_string(False), tmp_path)
        with other.app_context():
            from flask_migrate import upgrade

            upgrade()
        assert _reconcile(other)[0] == 0  # empty, migrated
        with other.app_context():  # top ← mid ← top: a cycle
            top, mid = User(openid="o-top"), User(openid="o-mid")
            db.session.add_all([top, mid])
            db.session.flush()
            db.session.add_all(
                [
                    Referral(user_id=mid.id, parent_id=top.id, path=f"/{top.id}/", depth=1),
                    Referral(
                        user_id=top.id,
                        parent_id=mid.id,
                        grandparent_id=top.id,
                        path=f"/{top.id}/{mid.id}/",
                        depth=2,
                    ),
                ]
            )
            db.session.commit()
            cycle = f"user {top.id}: referral cycle, ancestry /{top.id}/{mid.id}/"
        code, output = _reconcile(other)
        assert code == 1, output
        assert cycle in output
        with other.app_context():
            db.engine.dispose()
    finally:
        with server.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))


def test_ci_runs_the_mariadb_pass_on_a_unicode_ci_database() -> None:
    """`.ci/run` creates the database the MariaDB pass names in DATABASE_URL (whose
    collation the suite's databases take) as utf8mb4_unicode_ci."""
    script = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    creates = re.findall(r"CREATE DATABASE \$db\b[^\"]*", script)
    assert creates, "no CREATE DATABASE $db in .ci/run"
    assert all("COLLATE utf8mb4_unicode_ci" in create for create in creates), creates
    assert 'DATABASE_URL="mysql+pymysql://root@127.0.0.1:3306/$db' in script
