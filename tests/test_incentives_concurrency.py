"""A boost's budget under 50 concurrent attributions (MariaDB): 50 paid orders under one
boost, each attributed by its own thread with its own app context and session, released
together. The conditional UPDATE of the campaign's counter lets exactly as many extras
through as the budget holds; every other record falls back to the normal rate; each
boosted record names the campaign; reconcile is clean.

On SQLite the write lock serialises the threads anyway, and the notify attributes inline:
the point is MySQL/MariaDB with RQ, run with DATABASE_URL and REDIS_URL set."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from payments.emulator import EmulatorServer
from tests.shop import become_distributor, login, make_product, pay_order, set_settings, storm
from tests.test_incentives_boost import boost
from wxdist.core.extensions import db
from wxdist.core.sql import insert_ignore
from wxdist.distribution.commissions import attribute_order
from wxdist.models import Commission, IncentiveCampaign, Order
from wxdist.models.stats import SHARDS, DailyStat
from wxdist.models.types import utcnow
from wxdist.reporting.daily_stats import local_day
from wxdist.reporting.reconcile import check_all

ORDERS = 50
EXTRA_FEN = 1_000  # 10 % extra on 10,000 fen
BUDGET_FEN = 23_500  # room for 23 extras, and 500 fen no record can use


@pytest.fixture(autouse=True)
def _mysql_with_rq(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name != "mysql":
            pytest.skip("the race needs MySQL/MariaDB row locks (SQLite serialises writers)")
    if app.config["INLINE_JOBS"]:
        pytest.skip("inline jobs attribute in the notify itself: set REDIS_URL")


def test_fifty_concurrent_attributions_never_spend_more_than_the_budget(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=0, depth=1)
    sellers = [become_distributor(client, f"race-seller-{i}") for i in range(5)]
    buyers = [
        login(client, f"race-buyer-{i}", scene=sellers[i % 5]["centre"]["scene"]) for i in range(25)
    ]
    sku = make_product(app, price_fen=10_000, stock=ORDERS)["sku_id"]
    campaign = boost(app, "并发预算", rate_bp=1000, budget_fen=BUDGET_FEN)
    # Paid, queued for attribution, not attributed: no worker runs the queue.
    ids = [pay_order(client, emulator.url, buyers[i % 25], sku)["id"] for i in range(ORDERS)]
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(Order).where(Order.attributed_at.is_not(None))
            )
            == 0
        )

    with app.app_context():
        # The day's figure rows exist, as after the day's first sales. Creating one takes a
        # second connection in a short transaction (wxdist.reporting.daily_stats); 50
        # threads of one process queued on the campaign's row lock hold all 30 of the
        # pool's, so the first creator would starve. A worker process attributes one batch
        # at a time and never meets this.
        for shard in range(SHARDS):
            insert_ignore(DailyStat.__table__, day=local_day(utcnow()), shard=shard)
        db.session.commit()

    def attribute(i: int) -> int:
        with app.app_context():  # a session (and connection) of its own
            return attribute_order(ids[i])

    written = storm(ORDERS, attribute)

    assert sum(written) == ORDERS  # one record per order, each written once
    with app.app_context():
        rows = db.session.scalars(select(Commission).order_by(Commission.id)).all()
        boosted = [c for c in rows if c.campaign_id is not None]
        normal = [c for c in rows if c.campaign_id is None]
        assert len(rows) == ORDERS
        assert len(boosted) == BUDGET_FEN // EXTRA_FEN == 23
        assert {(c.campaign_id, c.rate_source, c.rate_bp, c.amount_fen) for c in boosted} == {
            (campaign, "campaign", 2000, 2000)
        }
        assert {(c.rate_source, c.rate_bp, c.amount_fen) for c in normal} == {
            ("default", 1000, 1000)
        }
        total_extra = sum(c.campaign_extra_fen for c in boosted)
        spent = db.session.get(IncentiveCampaign, campaign).spent_fen
        assert total_extra == spent == 23 * EXTRA_FEN <= BUDGET_FEN
        assert check_all() == []
