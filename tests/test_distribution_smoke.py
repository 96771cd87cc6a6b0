"""A purchase through a two-level chain: attribution, settlement, clawback, reconcile."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from payments.emulator import EmulatorServer
from tests.shop import (
    become_distributor,
    centre,
    login,
    make_product,
    pay_order,
    set_settings,
    wait_for_status,
)
from wxdist.distribution import commissions, settlement
from wxdist.models.types import utcnow
from wxdist.reporting.reconcile import check_all
from wxdist.shop.refunds import request_refund
from wxdist.shop.shipments import ship_whole_order


def test_two_level_purchase_settles_and_claws_back(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=500, freeze_days=7)
    top = become_distributor(client, "top")
    mid_headers = login(client, "mid", scene=top["centre"]["scene"])
    mid = become_distributor(client, "mid")
    buyer = client.post(
        "/api/v1/auth/login", json={"code": "buyer", "scene": mid["centre"]["scene"]}
    ).get_json()
    assert buyer["referral"] == {"bound": True, "reason": "bound", "referrer_id": mid["user_id"]}
    headers = {"Authorization": f"Bearer {buyer['token']}"}
    product = make_product(app, price_fen=10_000)
    order = pay_order(client, emulator.url, headers, product["sku_id"])
    run_jobs()
    assert centre(client, mid_headers)["balances"]["frozen_fen"] == 1000
    assert centre(client, top["headers"])["balances"]["frozen_fen"] == 500

    with app.app_context():
        ship_whole_order(order["id"], "SF", "SF1")
    client.post(f"/api/v1/orders/{order['id']}/confirm-receipt", headers=headers)
    with app.app_context():
        assert settlement.settle_due(utcnow() + timedelta(days=3)) == 0  # still frozen
        assert settlement.settle_due(utcnow() + timedelta(days=8)) == 1
    mid_view = centre(client, mid_headers)
    assert mid_view["balances"] == {"frozen_fen": 0, "available_fen": 1000, "withdrawing_fen": 0}
    assert mid_view["lifetime_earned_fen"] == 1000

    with app.app_context():
        request_refund(order["id"], 5000, "退一半")
    wait_for_status(client, headers, order["id"], "completed")  # the refund notify arrived
    run_jobs()
    assert centre(client, mid_headers)["balances"]["available_fen"] == 500
    assert centre(client, top["headers"])["balances"]["available_fen"] == 250
    with app.app_context():
        assert check_all() == []
    team = client.get("/api/v1/distributor/team?depth=2", headers=top["headers"]).get_json()
    assert [m["user_id"] for m in team["items"]] == [buyer["user"]["id"]]
    assert team["items"][0]["contribution_fen"] == 250
    listed = client.get("/api/v1/distributor/orders", headers=mid_headers).get_json()
    assert listed["items"][0]["commission_fen"] == 500 and listed["items"][0]["level"] == 1


def test_a_lost_attribution_job_is_caught_up_by_the_sweep(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    """On RQ a queued job can be lost (Redis flushed, a worker dying past its retries): the
    periodic sweep attributes the paid order anyway, once."""
    if app.config["INLINE_JOBS"]:
        import pytest

        pytest.skip("inline jobs run in the notify itself; the lost job needs RQ")
    from wxdist.core.redis_conn import redis_client

    set_settings(app, level1_rate_bp=1000, level2_rate_bp=0)
    distributor = become_distributor(client, "lost-d")
    buyer = login(client, "lost-b", scene=distributor["centre"]["scene"])
    product = make_product(app, price_fen=10_000)
    pay_order(client, emulator.url, buyer, product["sku_id"])
    redis_client(app.config["REDIS_URL"]).flushdb()  # the order_paid job is gone
    assert centre(client, distributor["headers"])["balances"]["frozen_fen"] == 0
    with app.app_context():
        assert commissions.attribute_missed(utcnow() + timedelta(minutes=2)) == 1
        assert commissions.attribute_missed(utcnow() + timedelta(minutes=2)) == 0
        assert check_all() == []
    assert centre(client, distributor["headers"])["balances"]["frozen_fen"] == 1000


def test_a_refund_settled_before_attribution_is_clawed_back_with_the_commission(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    """On RQ the attribution job can run after a refund has settled: the commission it
    writes is clawed back in the same transaction, so nothing can leave it owed."""
    if app.config["INLINE_JOBS"]:
        import pytest

        pytest.skip("inline jobs attribute inside the notify, before any refund")
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=0)
    distributor = become_distributor(client, "late-d")
    buyer = login(client, "late-b", scene=distributor["centre"]["scene"])
    product = make_product(app, price_fen=10_000)
    order = pay_order(client, emulator.url, buyer, product["sku_id"])
    with app.app_context():  # the attribution job is still queued
        request_refund(order["id"], 4000, "先退一部分")
    wait_for_status(client, buyer, order["id"], "paid")  # the refund settled
    run_jobs()
    assert centre(client, distributor["headers"])["balances"]["frozen_fen"] == 600
    with app.app_context():
        assert check_all() == []
