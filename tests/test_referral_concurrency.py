"""Referral binding under concurrency, and `flask reconcile` on sound and corrupted books.

The binds travel over real HTTP (threaded server, one connection per request), released
together by a barrier, so they race in the database as they would behind several web
processes. On SQLite the write lock serialises them anyway; the point is MySQL/MariaDB,
where only the lock row does: run with DATABASE_URL (and REDIS_URL) set.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select, text

from payments.emulator import EmulatorServer
from tests.shop import become_distributor, login, make_product, pay_order, set_settings, storm
from wxdist.core.extensions import db
from wxdist.core.sql import insert_ignore
from wxdist.distribution import settlement
from wxdist.distribution.referrals import distributor_scene
from wxdist.models import Commission, DistributorAccount, OrderItem, Referral, ReferralLock
from wxdist.models.types import utcnow
from wxdist.reporting.reconcile import check_all
from wxdist.shop.shipments import ship_whole_order


def _distributors(client: FlaskClient, n: int, prefix: str) -> list[dict[str, Any]]:
    return [become_distributor(client, f"{prefix}-{i}") for i in range(n)]


def _concurrent_binds(
    app: Flask, pairs: list[tuple[dict[str, Any], dict[str, Any]]]
) -> list[tuple[int, dict[str, Any]]]:
    """pairs[i] = (who binds, to whom); all at once. Returns (status, body) per bind."""
    url = f"{app.config['LIVE_URL']}/api/v1/referral/bind"

    def bind(i: int) -> tuple[int, dict[str, Any]]:
        user, referrer = pairs[i]
        with requests.Session() as http:
            response = http.post(
                url,
                json={"scene": distributor_scene(referrer["user_id"])},
                headers=user["headers"],
                timeout=60,
            )
        try:
            body = response.json()
        except ValueError:
            body = {"raw": response.text[:500]}
        return response.status_code, body

    return storm(len(pairs), bind)


def _seed_lock_row(app: Flask) -> None:
    """Put back the lock row the migration inserts (the autouse cleanup empties every
    table, this one too), so these tests see the database production has."""
    with app.app_context():
        insert_ignore(ReferralLock.__table__, id=1, version=0)
        db.session.commit()


def _assert_forest(app: Flask) -> dict[int, int]:
    """Walk the parents from every node: no cycle anywhere; the books and paths agree."""
    with app.app_context():
        parents = {
            row.user_id: row.parent_id
            for row in db.session.scalars(select(Referral))
            if row.parent_id is not None
        }
        for start in parents:
            seen = {start}
            node = parents.get(start)
            while node is not None:
                assert node not in seen, f"cycle through {node} from {start}"
                seen.add(node)
                node = parents.get(node)
        assert check_all() == []
    return parents


def test_fifty_concurrent_binds_around_a_ring_cannot_close_it(
    client: FlaskClient, app: Flask
) -> None:
    set_settings(app, binding_mode="last_touch", binding_scope="no_referrer")
    _seed_lock_row(app)
    ring = _distributors(client, 50, "ring")
    answers = _concurrent_binds(app, [(ring[i], ring[(i + 1) % 50]) for i in range(50)])

    assert [status for status, _ in answers] == [200] * 50, answers
    reasons = Counter(body["reason"] for _, body in answers)
    # Any 49 edges of the ring form a chain; the 50th would close it, whichever it is.
    assert reasons == {"bound": 49, "cycle": 1}, reasons
    parents = _assert_forest(app)
    assert len(parents) == 49
    refused = next(i for i, (_, body) in enumerate(answers) if body["reason"] == "cycle")
    assert ring[refused]["user_id"] not in parents


def test_twenty_five_pairs_binding_to_each_other_at_once_bind_one_way(
    client: FlaskClient, app: Flask
) -> None:
    set_settings(app, binding_mode="last_touch", binding_scope="no_referrer")
    _seed_lock_row(app)
    people = _distributors(client, 50, "pair")
    pairs = [(people[2 * k], people[2 * k + 1]) for k in range(25)]
    binds = [bind for a, b in pairs for bind in ((a, b), (b, a))]
    answers = _concurrent_binds(app, binds)

    assert [status for status, _ in answers] == [200] * 50, answers
    for k in range(25):
        one, other = answers[2 * k][1], answers[2 * k + 1][1]
        assert sorted([one["reason"], other["reason"]]) == ["bound", "cycle"], (k, one, other)
    parents = _assert_forest(app)
    assert len(parents) == 25


def test_concurrent_first_binds_without_the_lock_row_all_answer(
    client: FlaskClient, app: Flask
) -> None:
    """`_take_binding_lock` recreates a missing lock row with INSERT IGNORE after its UPDATE
    found nothing. On MySQL/MariaDB that UPDATE leaves a gap lock in every racing
    transaction, their inserts then wait on each other, and InnoDB kills all but one as a
    deadlock (1213): the shopper gets a 500. Each round deletes the row, as a wiped or
    hand-restored database would lack it, and rebinds 40 users at once (last touch, to the
    other of two distributors); the race is timing-dependent, hence the rounds."""
    set_settings(app, binding_mode="last_touch", binding_scope="no_referrer")
    tops = _distributors(client, 2, "lockless-top")
    users = [{"headers": login(client, f"lockless-{i}")} for i in range(40)]
    with app.app_context():
        mysql = db.engine.dialect.name == "mysql"
    for round_no in range(8 if mysql else 2):  # SQLite's write lock has no gaps to race on
        with app.app_context():
            db.session.execute(delete(ReferralLock))
            db.session.commit()
        if mysql:
            time.sleep(1)  # let InnoDB purge the deleted row: a long-gone row leaves a bare gap
        answers = _concurrent_binds(app, [(user, tops[round_no % 2]) for user in users])
        failed = [body for status, body in answers if status != 200]
        assert not failed, f"round {round_no}: {len(failed)} of 40 binds failed: {failed[0]}"
        reason = "rebound" if round_no else "bound"
        assert all(body["reason"] == reason for _, body in answers), answers
    _assert_forest(app)


# ---- flask reconcile ----------------------------------------------------------------------


def _sound_books(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Callable[[], int]
) -> dict[str, int]:
    """top ← mid ← buyer; the buyer pays 100 yuan, the order completes and settles."""
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=500, freeze_days=7)
    top = become_distributor(client, "rc-top")
    login(client, "rc-mid", scene=distributor_scene(top["user_id"]))
    mid = become_distributor(client, "rc-mid")
    buyer = login(client, "rc-buyer", scene=distributor_scene(mid["user_id"]))
    product = make_product(app, price_fen=10_000)
    order = pay_order(client, emulator.url, buyer, product["sku_id"])
    run_jobs()
    with app.app_context():
        ship_whole_order(order["id"], "SF", "SF-RC")
    response = client.post(f"/api/v1/orders/{order['id']}/confirm-receipt", headers=buyer)
    assert response.status_code == 200, response.get_json()
    with app.app_context():
        assert settlement.settle_due(utcnow() + timedelta(days=8)) == 1
        item = db.session.scalars(select(OrderItem).where(OrderItem.order_id == order["id"])).one()
        commission = db.session.scalars(
            select(Commission).where(
                Commission.order_item_id == item.id, Commission.beneficiary_id == mid["user_id"]
            )
        ).one()
        assert db.session.get(DistributorAccount, mid["user_id"]).available_fen == 1000
        return {
            "top": top["user_id"],
            "mid": mid["user_id"],
            "item": item.id,
            "item_paid": item.paid_fen,
            "commission": commission.id,
        }


def _reconcile(app: Flask) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["reconcile"])
    return result.exit_code, result.output


def test_reconcile_is_clean_on_sound_books(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Callable[[], int]
) -> None:
    _sound_books(client, app, emulator, run_jobs)
    code, output = _reconcile(app)
    assert code == 0, output
    assert "clean" in output


CORRUPTIONS = {
    # A balance moved without a ledger entry.
    "balance_without_entry": (
        "UPDATE distributor_accounts SET available_fen = available_fen + 123 WHERE user_id = {mid}",
        r"user {mid}: available 1123 != ledger 1000",
    ),
    # A commission larger than what was paid for its item.
    "commission_above_paid": (
        "UPDATE commissions SET amount_fen = {item_paid} + 1 WHERE id = {commission}",
        r"order item {item}: commission \d+ > paid {item_paid}",
    ),
    # A referral path that runs through its own user: top ← mid ← top.
    "cyclic_path": (
        "INSERT INTO referrals (user_id, parent_id, grandparent_id, path, depth) "
        "VALUES ({top}, {mid}, {top}, '/{top}/{mid}/', 2)",
        r"user {top}: referral cycle, ancestry /{top}/{mid}/",
    ),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_reconcile_lists_corruption_and_exits_1(
    client: FlaskClient,
    app: Flask,
    emulator: EmulatorServer,
    run_jobs: Callable[[], int],
    corruption: str,
) -> None:
    ids = _sound_books(client, app, emulator, run_jobs)
    assert _reconcile(app)[0] == 0
    statement, expected = CORRUPTIONS[corruption]
    with app.app_context():
        db.session.execute(text(statement.format(**ids)))
        db.session.commit()
    code, output = _reconcile(app)
    assert code == 1, output
    assert "clean" not in output
    assert re.search(expected.format(**ids), output), output
