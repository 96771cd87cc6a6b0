"""Coalesced commission attribution on RQ: the notify pushes the order id to a Redis list
and schedules one drain job only when none is (wxdist.distribution.attribution_queue)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from payments.emulator import EmulatorServer
from tests.shop import become_distributor, login, make_product, pay_order, set_settings
from wxdist.core.extensions import db
from wxdist.distribution import attribution_queue
from wxdist.distribution.referrals import chain_for
from wxdist.models import Commission, Order, OrderItem
from wxdist.reporting.reconcile import check_all

DRAIN = "jobs.orders.attribute_pending"


@pytest.fixture(autouse=True)
def _rq_only(app: Flask) -> None:
    if app.config["INLINE_JOBS"]:
        pytest.skip("inline jobs attribute in the notify itself; the drain needs RQ")


def _redis(app: Flask) -> Any:
    from wxdist.core.redis_conn import redis_client

    return redis_client(app.config["REDIS_URL"])


def _queued(app: Flask) -> list[str]:
    from wxdist.core.tasks import rq_queue

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
    from wxdist.core.tasks import rq_queue

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

    from wxdist.core.tasks import rq_queue, spec

    buyer, sku_id = _shop(client, app, "fail")
    ids = [pay_order(client, emulator.url, buyer, sku_id)["id"] for _ in range(3)]
    bad = ids[1]
    planted_id = _plant_commission(app, bad)

    with app.app_context():
        queue = rq_queue()
        (job_id,) = [job.id for job in queue.get_jobs() if job.func_name == DRAIN]
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
        job = Job.fetch(job_id, connection=queue.connection)
        # RQ recorded the failure and scheduled a retry (its first declared interval).
        assert job.get_status() == "scheduled"
        assert job.retries_left == len(spec(attribution_queue.DRAIN_JOB).retries) - 1
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
    from wxdist.core.tasks import enqueue

    buyer, sku_id = _shop(client, app, "old")
    order_id = pay_order(client, emulator.url, buyer, sku_id)["id"]
    _redis(app).flushdb()  # as if paid before the deploy: only the old job is queued
    with app.app_context():
        enqueue("jobs.orders.order_paid", order_id)
    run_jobs()
    assert _attributed(app, [order_id]) == {order_id: True}


# --------------------------------------------------------------------------- batches


def _books(app: Flask) -> dict[str, Any]:
    """Everything attribution writes, to compare before and after."""
    from wxdist.models import DailyStat, Distributor, DistributorAccount, LedgerEntry, User

    with app.app_context():
        return {
            "commissions": db.session.scalar(select(func.count()).select_from(Commission)),
            "entries": db.session.scalar(select(func.count()).select_from(LedgerEntry)),
            "frozen": db.session.scalar(select(func.sum(DistributorAccount.frozen_fen))),
            "team_sales": db.session.scalar(select(func.sum(Distributor.team_sales_fen))),
            "paid_orders": db.session.scalar(select(func.sum(User.paid_orders))),
            "stats": db.session.execute(
                select(func.sum(DailyStat.paid_orders), func.sum(DailyStat.commission_fen))
            ).one(),
        }


def _plant_commission(app: Flask, order_id: int) -> int:
    """A record already holding the (item, beneficiary, level) attribution will write: a
    real unique-key violation when the order is attributed. Returns the record's id."""
    with app.app_context():
        item = db.session.scalars(select(OrderItem).where(OrderItem.order_id == order_id)).one()
        order = db.session.get(Order, order_id)
        parent_id = chain_for(order.user_id, order.paid_at).parent_id
        planted = Commission(
            order_id=order_id,
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
        return planted.id


def test_a_burst_is_attributed_in_one_transaction_per_batch(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    """Twelve orders popped together are written by one transaction: one attribution time,
    every record, ledger entry and figure as one order at a time would write them."""
    from wxdist.models import DailyStat, DistributorAccount, LedgerEntry

    buyer, sku_id = _shop(client, app, "batch")
    ids = [pay_order(client, emulator.url, buyer, sku_id)["id"] for _ in range(12)]
    run_jobs()
    with app.app_context():
        orders = db.session.scalars(select(Order).where(Order.id.in_(ids))).all()
        assert len({order.attributed_at for order in orders}) == 1
        assert {order.referrer_l1_id for order in orders} != {None}
        records = db.session.scalars(select(Commission).where(Commission.order_id.in_(ids))).all()
        assert sorted(r.order_id for r in records) == sorted(ids)
        assert {r.amount_fen for r in records} == {1000}  # 10 % of ¥100
        entries = db.session.scalars(
            select(LedgerEntry).where(LedgerEntry.commission_id.in_([r.id for r in records]))
        ).all()
        assert sorted(e.key for e in entries) == sorted(f"c{r.id}:earn" for r in records)
        account = db.session.get(DistributorAccount, records[0].beneficiary_id)
        assert account.frozen_fen == 12 * 1000
        assert db.session.scalar(select(func.sum(DailyStat.paid_orders))) == 12
        assert db.session.scalar(select(func.sum(DailyStat.commission_fen))) == 12 * 1000
        assert check_all() == []


def test_a_poisoned_order_is_retried_alone_and_its_neighbours_are_attributed(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    """The batch transaction fails on the poisoned order; the batch falls back to one
    transaction per order, so its neighbours are written and only it is counted a failure
    and queued again."""
    from wxdist.models import AttributionFailure
    from wxdist.reporting.reconcile import check_parked_attributions

    buyer, sku_id = _shop(client, app, "poison")
    ids = [pay_order(client, emulator.url, buyer, sku_id)["id"] for _ in range(5)]
    bad = ids[2]
    _plant_commission(app, bad)
    with app.app_context(), pytest.raises(attribution_queue.AttributionFailed) as failed:
        attribution_queue.drain()
    assert failed.value.failed == [bad]
    assert _attributed(app, ids) == {i: i != bad for i in ids}
    assert _redis(app).lrange(attribution_queue.PENDING_KEY, 0, -1) == [str(bad).encode()]
    with app.app_context():
        failure = db.session.get(AttributionFailure, bad)
        assert failure.attempts == 1 and failure.parked_at is None
        assert "IntegrityError" in failure.last_error
        assert check_parked_attributions() == []  # not parked yet: nothing to list


def test_an_order_failing_too_often_is_parked_listed_and_swept_later(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    from wxdist.distribution.attribution_failures import PARK_AFTER
    from wxdist.distribution.commissions import attribute_missed
    from wxdist.models import AttributionFailure
    from wxdist.models.types import utcnow

    buyer, sku_id = _shop(client, app, "park")
    bad = pay_order(client, emulator.url, buyer, sku_id)["id"]
    planted = _plant_commission(app, bad)
    with app.app_context():
        for _ in range(PARK_AFTER - 1):  # the first runs of the drain job: RQ retries them
            with pytest.raises(attribution_queue.AttributionFailed):
                attribution_queue.drain()
        assert attribution_queue.drain() == 1  # parked: this drain ends without failing
    client_redis = _redis(app)
    assert client_redis.llen(attribution_queue.PENDING_KEY) == 0
    assert not client_redis.exists(attribution_queue.SCHEDULED_KEY)
    with app.app_context():
        assert db.session.get(AttributionFailure, bad).parked_at is not None

    # It fails no later drain: the next orders are attributed as usual.
    later = pay_order(client, emulator.url, buyer, sku_id)["id"]
    run_jobs()
    assert _attributed(app, [bad, later]) == {bad: False, later: True}

    # `flask reconcile` names it.
    with app.app_context():
        order_no = db.session.get(Order, bad).order_no
    result = app.test_cli_runner().invoke(args=["reconcile"])
    assert result.exit_code == 1
    assert f"order {bad} ({order_no}): commission attribution parked after {PARK_AFTER}" in (
        result.output
    )

    # Once the cause is mended, the sweep attributes it and the listing is gone.
    with app.app_context():
        db.session.delete(db.session.get(Commission, planted))
        db.session.commit()
        assert attribute_missed(utcnow() + timedelta(minutes=2)) == 1
        assert db.session.get(AttributionFailure, bad) is None
        assert check_all() == []
    assert _attributed(app, [bad]) == {bad: True}
    result = app.test_cli_runner().invoke(args=["reconcile"])
    assert result.exit_code == 0, result.output


def test_the_sweep_skips_a_failing_order_and_attributes_the_rest(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    """A lost drain left three orders; one of them cannot be attributed. The sweep writes the
    other two and counts the failure instead of stopping at it."""
    from wxdist.distribution.commissions import attribute_missed
    from wxdist.models.types import utcnow

    buyer, sku_id = _shop(client, app, "sweep")
    ids = [pay_order(client, emulator.url, buyer, sku_id)["id"] for _ in range(3)]
    _plant_commission(app, ids[0])
    _redis(app).flushdb()  # the drain job and the list are lost
    with app.app_context():
        assert attribute_missed(utcnow() + timedelta(minutes=2)) == 2
    assert _attributed(app, ids) == {ids[0]: False, ids[1]: True, ids[2]: True}
    from wxdist.models import AttributionFailure

    with app.app_context():
        assert db.session.get(AttributionFailure, ids[0]).attempts == 1


def test_a_duplicate_push_of_an_attributed_order_writes_nothing(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    buyer, sku_id = _shop(client, app, "dup")
    order_id = pay_order(client, emulator.url, buyer, sku_id)["id"]
    run_jobs()
    before = _books(app)
    assert before["commissions"] == 1
    with app.app_context():
        attribution_queue.push(order_id)
        attribution_queue.push(order_id)
    run_jobs()
    assert _books(app) == before
    with app.app_context():
        assert check_all() == []


def test_a_backlog_enqueues_a_helper_drain(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs
) -> None:
    """More than a batch waiting behind the one popped: the drain enqueues a second drain
    (a helper, holding a slot) for another worker; the queue still drains to the end."""
    from wxdist.core.tasks import rq_queue

    buyer, sku_id = _shop(client, app, "help")
    ids = [pay_order(client, emulator.url, buyer, sku_id)["id"] for _ in range(9)]
    with app.app_context():
        queue = rq_queue()
        queue.empty()
        assert attribution_queue.drain(batch=2) == 9
        # batch 2, helper slot 1 (DRAINS = 2: one helper), for another worker
        assert [(job.func_name, job.args) for job in queue.get_jobs()] == [(DRAIN, (2, 1))]
    assert all(_attributed(app, ids).values())
    assert _redis(app).exists(f"{attribution_queue.HELPER_KEY}:1")
    run_jobs()  # the helper finds the list empty, ends, and frees its slot
    assert not _redis(app).exists(f"{attribution_queue.HELPER_KEY}:1")


def test_two_drains_at_once_attribute_each_order_once(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Two drains on one list, every id pushed twice, buyers sharing a two-level chain (the
    same buyers, accounts, team counters and daily rows in every batch): each order is
    attributed once, no batch had to fall back to one order at a time (no deadlock), and
    the books reconcile."""
    import threading

    from wxdist.models import DistributorAccount

    set_settings(app, level1_rate_bp=1000, level2_rate_bp=500)
    top = become_distributor(client, "two-g")
    login(client, "two-d", scene=top["centre"]["scene"])
    middle = become_distributor(client, "two-d")
    sku_id = make_product(app, price_fen=10_000, stock=200)["sku_id"]
    buyers = [login(client, f"two-b{i}", scene=middle["centre"]["scene"]) for i in range(4)]
    ids = [pay_order(client, emulator.url, buyers[i % 4], sku_id)["id"] for i in range(40)]
    with app.app_context():
        for order_id in ids:  # a duplicate of each, e.g. a notify answered twice
            attribution_queue.push(order_id)
    errors: list[BaseException] = []

    def one_drain() -> None:
        try:
            with app.app_context():
                attribution_queue.drain(batch=4)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one_drain) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert all(_attributed(app, ids).values())
    fallbacks = [r.getMessage() for r in caplog.records if "one by one" in r.getMessage()]
    assert fallbacks == []
    with app.app_context():
        per_order = db.session.execute(
            select(Commission.order_id, func.count()).group_by(Commission.order_id)
        ).all()
        assert sorted(per_order) == sorted((order_id, 2) for order_id in ids)
        assert db.session.get(DistributorAccount, middle["user_id"]).frozen_fen == 40 * 1000
        assert db.session.get(DistributorAccount, top["user_id"]).frozen_fen == 40 * 500
        assert check_all() == []


def test_a_batch_whose_failure_cannot_be_recorded_goes_back_on_the_list(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    """The poisoned order fails and even counting its failure fails (the table is gone):
    the drain raises, and the popped ids are on the list again for the job's retry rather
    than lost until the sweep."""
    from sqlalchemy import text

    buyer, sku_id = _shop(client, app, "lost")
    ids = [pay_order(client, emulator.url, buyer, sku_id)["id"] for _ in range(3)]
    _plant_commission(app, ids[1])
    with app.app_context():
        db.session.execute(text("ALTER TABLE attribution_failures RENAME TO af_away"))
        db.session.commit()
        try:
            with pytest.raises(Exception, match="attribution_failures"):
                attribution_queue.drain()
        finally:
            db.session.rollback()
            db.session.execute(text("ALTER TABLE af_away RENAME TO attribution_failures"))
            db.session.commit()
    queued = [int(v) for v in _redis(app).lrange(attribution_queue.PENDING_KEY, 0, -1)]
    assert sorted(queued) == sorted(ids)
    assert _redis(app).exists(attribution_queue.SCHEDULED_KEY)
    # The batch fell back to one order per transaction and stopped at the failure.
    assert _attributed(app, ids) == {ids[0]: True, ids[1]: False, ids[2]: False}
