"""Coalesced commission attribution on RQ: the notify pushes the order id to a Redis list
and schedules one drain job only when none is (wxdist.attribution_queue)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from payments.emulator import EmulatorServer
from tests.shop import become_distributor, login, make_product, pay_order, set_settings
from wxdist import attribution_queue
from wxdist.extensions import db
from wxdist.models import Commission, Order, OrderItem
from wxdist.reconcile import check_all
from wxdist.referrals import chain_for

DRAIN = "jobs.orders.attribute_pending"


@pytest.fixture(autouse=True)
def _rq_only(app: Flask) -> None:
    if app.config["INLINE_JOBS"]:
        pytest.skip("inline jobs attribute in the notify itself; the drain needs RQ")


def _redis(app: Flask) -> Any:
    from wxdist.redis_conn import redis_client

    return redis_client(app.config["REDIS_URL"])


def _queued(app: Flask) -> list[str]:
    from wxdist.tasks import rq_queue

    with app.app_context():
        return [job.func_name for job in rq_queue().get_jobs()]


def _shop(client: FlaskClient, app: Flask, code: str) -> tuple[dict[str, str], int]:
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=0)
    distributor = become_distributor(client, f"{code}-d")
    buyer = login(client, f"{code}-b", scene=distributor["centre"]["scene"])
    return buyer, make_product(app, price_fen=10_000, stock=100)["sku_id"]


def _attributed(app: Flask, order_ids: list[int]) -> dict[int, bool]:
    with app.app_context():
        rows = db.session.execute(
            select(Order.id, Order.attributed_at).where(Order.id.in_(order_ids))
        )
        return {row.id: row.attributed_at is not None for row in rows}


def _commissions(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Commission))


def test_many_paid_orders_are_attributed_by_one_drain_job(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    buyer, sku_id = _shop(client, app, "many")
    ids = [pay_order(client, emulator.url, buyer, sku_id)["id"] for _ in range(12)]
    # Every push after the first found the drain scheduled and enqueued nothing.
    assert _queued(app).count(DRAIN) == 1
    assert "jobs.orders.order_paid" not in _queued(app)
    assert _redis(app).llen(attribution_queue.PENDING_KEY) == 12
    assert not any(_attributed(app, ids).values())

    run_jobs()
    assert all(_attributed(app, ids).values())
    assert _commissions(app) == 12
    assert _redis(app).llen(attribution_queue.PENDING_KEY) == 0
    assert not _redis(app).exists(attribution_queue.SCHEDULED_KEY)  # the next push schedules
    with app.app_context():
        assert check_all() == []

    later = pay_order(client, emulator.url, buyer, sku_id)["id"]
    assert _queued(app).count(DRAIN) == 1
    run_jobs()
    assert _attributed(app, [later]) == {later: True}


def test_a_push_while_a_drain_is_scheduled_enqueues_nothing(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    buyer, sku_id = _shop(client, app, "sched")
    pay_order(client, emulator.url, buyer, sku_id)
    assert _queued(app).count(DRAIN) == 1
    with app.app_context():
        assert attribution_queue.push(10**9) is False  # the flag is set: no second job
    assert _queued(app).count(DRAIN) == 1


def test_an_expired_flag_lets_a_later_notify_schedule_again(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    """A drain job lost (here: the queue emptied) leaves the flag set; once its TTL runs
    out, the next notify schedules a drain, which attributes the earlier orders too."""
    from wxdist.tasks import rq_queue

    buyer, sku_id = _shop(client, app, "ttl")
    first = pay_order(client, emulator.url, buyer, sku_id)["id"]
    with app.app_context():
        rq_queue().empty()  # the job is lost
    second = pay_order(client, emulator.url, buyer, sku_id)["id"]
    assert _queued(app).count(DRAIN) == 0  # the flag still says a drain is scheduled
    _redis(app).pexpire(attribution_queue.SCHEDULED_KEY, 1)
    time.sleep(0.05)
    third = pay_order(client, emulator.url, buyer, sku_id)["id"]
    assert _queued(app).count(DRAIN) == 1
    run_jobs()
    assert _attributed(app, [first, second, third]) == {first: True, second: True, third: True}
    with app.app_context():
        assert check_all() == []


def test_a_failing_order_leaves_the_others_attributed_and_the_job_retried(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    """The middle order already holds a commission record for the same (item, beneficiary,
    level): attributing it breaks the unique key, a real IntegrityError from the database."""
    from rq import SimpleWorker
    from rq.job import Job

    from wxdist.tasks import rq_queue

    buyer, sku_id = _shop(client, app, "fail")
    ids = [pay_order(client, emulator.url, buyer, sku_id)["id"] for _ in range(3)]
    bad = ids[1]
    with app.app_context():
        item = db.session.scalars(select(OrderItem).where(OrderItem.order_id == bad)).one()
        order = db.session.get(Order, bad)
        parent_id = chain_for(order.user_id, order.paid_at).parent_id
        planted = Commission(
            order_id=bad,
            order_item_id=item.id,
            buyer_id=order.user_id,
            beneficiary_id=parent_id,
            level=1,
            base_fen=item.paid_fen,
            rate_bp=1000,
            rate_source="default",
            amount_fen=1000,
            created_at=order.paid_at,
        )
        db.session.add(planted)
        db.session.commit()
        planted_id = planted.id

    with app.app_context():
        queue = rq_queue()
        (job_id,) = [job.id for job in queue.get_jobs() if job.func_name == DRAIN]
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
        job = Job.fetch(job_id, connection=queue.connection)
        # RQ recorded the failure and scheduled a retry (interval: DRAIN_RETRIES[0]).
        assert job.get_status() == "scheduled"
        assert job.retries_left == len(attribution_queue.DRAIN_RETRIES) - 1
    assert _attributed(app, ids) == {ids[0]: True, bad: False, ids[2]: True}
    assert _redis(app).lrange(attribution_queue.PENDING_KEY, 0, -1) == [str(bad).encode()]
    assert _redis(app).exists(attribution_queue.SCHEDULED_KEY)  # the retry is the drain

    with app.app_context():  # the cause is mended; the retry (run now) attributes it
        db.session.delete(db.session.get(Commission, planted_id))
        db.session.commit()
        queue.scheduled_job_registry.remove(job_id)
        queue.enqueue_job(Job.fetch(job_id, connection=queue.connection))
    run_jobs()
    assert all(_attributed(app, ids).values())
    with app.app_context():
        assert check_all() == []


def test_an_order_paid_job_queued_before_the_change_still_attributes(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    from wxdist.tasks import enqueue

    buyer, sku_id = _shop(client, app, "old")
    order_id = pay_order(client, emulator.url, buyer, sku_id)["id"]
    _redis(app).flushdb()  # as if paid before the deploy: only the old job is queued
    with app.app_context():
        enqueue("jobs.orders.order_paid", order_id)
    run_jobs()
    assert _attributed(app, [order_id]) == {order_id: True}
