"""Periodic jobs: declared once, registered with `rq cron`, runnable inline and on RQ."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from tests.shop import get_order, login, make_product, place_order, sku_stock
from wxdist.cli.scheduler import run_all_once
from wxdist.core.extensions import db
from wxdist.core.schedule import SCHEDULE
from wxdist.core.tasks import spec
from wxdist.models import Order
from wxdist.models.types import utcnow


def test_rq_cron_config_registers_every_scheduled_job() -> None:
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=redis.Redis())  # not contacted by loading
    scheduler.load_config_from_file("jobs/cron_config.py")
    registered = {
        (f"{job.func.__module__}.{job.func.__name__}", job.interval, job.queue_name)
        for job in scheduler.get_jobs()
    }
    assert registered == {(p.func_path, p.every_seconds, spec(p.func_path).queue) for p in SCHEDULE}
    assert {name for name, _, queue in registered if queue == "payouts"} == {
        "jobs.payouts.resume_payouts",
        "jobs.payouts.expire_unconfirmed_bills",
        "jobs.payouts.run_payout_cycle",
    }


@pytest.mark.parametrize("path", ["inline", "rq"])
def test_the_closing_sweep_runs_inline_and_on_an_rq_worker(
    path: str, client: FlaskClient, app: Flask, run_jobs
) -> None:
    if path == "rq" and app.config["INLINE_JOBS"]:
        pytest.skip("no REDIS_URL: RQ is exercised in the MariaDB + Redis run")
    product = make_product(app, stock=2)
    headers = login(client)
    order = place_order(client, headers, product["sku_id"], quantity=2)
    with app.app_context():
        db.session.get(Order, order["id"]).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        if path == "inline":
            results = dict(run_all_once())
            assert results["jobs.orders.close_expired_orders"]["closed"] == 1
        else:
            from wxdist.core.tasks import enqueue

            enqueue("jobs.orders.close_expired_orders")
    run_jobs()
    assert get_order(client, headers, order["id"])["status"] == "closed"
    assert sku_stock(app, product["sku_id"]) == 2


def test_the_worker_class_builds_the_app_before_forking(app: Flask) -> None:
    """`rq worker -w jobs.worker.AppWorker`: the parent holds the app, so a forked job
    does not import and build it again."""
    import jobs
    from jobs.worker import AppWorker

    jobs._app = None
    try:
        AppWorker(["default"], connection=redis.Redis.from_url("redis://127.0.0.1:6379/0"))
        assert jobs._app is not None
        first = jobs._app
        with jobs.app_context():  # what a job does: reuse it
            assert jobs._app is first
    finally:
        jobs._app = None


# The modules of `jobs` that hold jobs (the others: the worker and cron's config).
JOB_MODULES = (
    "jobs.aftersales",
    "jobs.commissions",
    "jobs.incentives",
    "jobs.customers",
    "jobs.marketing",
    "jobs.notifications",
    "jobs.open_api",
    "jobs.orders",
    "jobs.payouts",
    "jobs.posters",
    "jobs.recommendations",
    "jobs.refunds",
    "jobs.shipping",
    "jobs.stock",
    "jobs.tracking",
    "jobs.webhooks",
)


def test_every_job_declares_itself_under_its_rq_name() -> None:
    """Each function of a job module carries its `@job` declaration, named by the dotted
    path RQ stores (jobs queued before a deploy must still run)."""
    import importlib
    import inspect
    import pkgutil

    import jobs
    from wxdist.core.tasks import spec

    found = {f"jobs.{m.name}" for m in pkgutil.iter_modules(jobs.__path__)}
    assert found - {"jobs.worker", "jobs.cron_config"} == set(JOB_MODULES)
    names = []
    for module_name in JOB_MODULES:
        module = importlib.import_module(module_name)
        for name, func in inspect.getmembers(module, inspect.isfunction):
            if func.__module__ == module_name:
                assert spec(func).name == f"{module_name}.{name}"
                assert spec(f"{module_name}.{name}") is spec(func)
                names.append(name)
    assert "pay_withdrawals" in names and "attribute_pending" in names


def test_a_job_without_a_declaration_is_refused(app: Flask) -> None:
    from wxdist.core.tasks import enqueue, job

    with app.app_context(), pytest.raises(LookupError):
        enqueue("jobs.worker.warm", None)
    with pytest.raises(ValueError):
        job(queue="nobody-listens")
    with pytest.raises(ValueError):
        job(if_down="later")


def test_the_declared_queue_retries_and_timeout_reach_rq(app: Flask) -> None:
    """What `@job` declares is what RQ stores, with call sites passing only ids: RQ's
    defaults (queue "default", 180 s, no retry) would fail every line."""
    if app.config["INLINE_JOBS"]:
        pytest.skip("no REDIS_URL: RQ is exercised in the MariaDB + Redis run")
    from wxdist.core.tasks import QUEUES, enqueue, rq_queue

    with app.app_context():
        enqueue("jobs.payouts.pay_withdrawals", [424242])
        enqueue("jobs.posters.predraw_for_product", 4242)
        queued = {job.func_name: job for name in QUEUES for job in rq_queue(name).get_jobs()}
        for queue in QUEUES:
            rq_queue(queue).empty()
    payout = queued["jobs.payouts.pay_withdrawals"]
    assert payout.origin == "payouts"
    assert payout.retries_left == 5
    assert payout.retry_intervals == [10, 30, 120, 600, 1800]
    assert payout.args == ([424242],)
    poster = queued["jobs.posters.predraw_for_product"]
    assert poster.origin == "default"
    assert poster.timeout == 1800
    assert poster.retries_left is None
