"""Report aggregates under concurrency: twenty orders of one distributor's buyers, through
one share code, attributed at once (on MariaDB with RQ the attributions run in twenty
threads against the same hot rows: the distributor's day, the code, the merchant shards),
then ten refunds settling at once. The figures equal the direct count and reconcile stays
clean."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from payments.emulator import EmulatorServer
from tests.reports_helpers import direct_counts, link, pay_at
from tests.shop import become_distributor, login, make_product, set_settings, storm, wait_for_status
from tests.test_reports import nonzero, stored
from wxdist.core.extensions import db
from wxdist.models import ReportShareCode, ShareCode
from wxdist.models.types import utcnow
from wxdist.reporting.reconcile import check_all

BUYERS = 20


def test_concurrent_attributions_and_refunds_count_once_each(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    from wxdist.distribution.commissions import attribute_order
    from wxdist.shop import refunds

    set_settings(app, level1_rate_bp=1000, level2_rate_bp=0, freeze_days=0)
    product = make_product(app, price_fen=5_000, stock=BUYERS)
    seller = become_distributor(client, "rep-hot")
    scene = link(client, seller["headers"], channel="group")
    buyers = [login(client, f"rep-hot-{n}", scene=scene) for n in range(BUYERS)]
    orders = [pay_at(client, app, emulator, buyer, product["sku_id"], utcnow()) for buyer in buyers]

    def attribute(i: int) -> int:
        with app.app_context():
            return attribute_order(orders[i])

    storm(BUYERS, attribute)  # without Redis the payments attributed them already
    run_jobs()

    def refund(i: int) -> None:
        with app.app_context():
            refunds.request_refund(orders[i], 1_000, reason="少发一件")

    storm(BUYERS // 2, refund)
    for i in range(BUYERS // 2):
        wait_for_status(client, buyers[i], orders[i], "paid")
    run_jobs()
    with app.app_context():
        assert stored() == {name: nonzero(rows) for name, rows in direct_counts().items()}
        code_id = db.session.scalar(db.select(ShareCode.id).where(ShareCode.scene == scene))
        row = db.session.get(ReportShareCode, code_id)
        assert (row.orders, row.paid_fen, row.refunded_fen) == (BUYERS, BUYERS * 5_000, 10_000)
        assert check_all() == []
