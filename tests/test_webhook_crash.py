"""A worker SIGKILLed mid-delivery: the webhook is delivered again, under the same
`webhook-id`, once the lost worker's lease ends.

A real forking `rq worker` (jobs.worker.AppWorker, as deployed) takes the drain job and
POSTs to a receiver that holds the request; the worker and its work-horse are SIGKILLed
while it waits. Then time passes, as in tests/test_payout_crash.py: the lease is moved
into the past and the drain's Redis flag lapses (its TTL) instead of being waited for;
the periodic sweep schedules a drain and a burst worker runs it.

Needs MariaDB/MySQL (DATABASE_URL) and Redis (REDIS_URL): the crash is of a separate
worker process sharing the database.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update
from standardwebhooks import Webhook

from payments.emulator import EmulatorServer
from tests.receiver import Hang, Receiver
from tests.workers import kill_worker, start_worker, worker_env
from wxdist.core.extensions import db
from wxdist.core.redis_conn import redis_client
from wxdist.integrations import delivery, endpoints, outbox
from wxdist.models import DeliveryState, WebhookAttempt, WebhookDelivery
from wxdist.models.types import utcnow

pytestmark = pytest.mark.skipif(
    not (os.environ.get("DATABASE_URL", "").startswith("mysql") and os.environ.get("REDIS_URL")),
    reason="needs DATABASE_URL=mysql+pymysql://… and REDIS_URL: the crash is of a separate "
    "RQ worker process sharing the database",
)


def test_a_worker_killed_mid_delivery_leaves_the_webhook_to_be_delivered_again(
    app: Flask, emulator: EmulatorServer, workers: list, tmp_path: Path, run_jobs: Any
) -> None:
    with Receiver() as receiver:
        receiver.script.append(Hang(120))  # the first request is held past the kill
        with app.app_context():
            made = endpoints.create(receiver.url, ["order.paid"])
            outbox.record("order.paid", {"order_no": "WXCRASH"})
            db.session.commit()  # after commit: the drain job is queued
        log = tmp_path / "worker.log"
        worker = start_worker(
            worker_env(app, emulator), log, "-w", "jobs.worker.AppWorker", queue="default"
        )
        workers.append(worker)
        (held,) = receiver.wait_for(1, timeout=60)
        assert kill_worker(worker) == 1, "expected the worker mid-job (one work-horse)"

        with app.app_context():
            lost = db.session.scalars(select(WebhookDelivery)).one()
            assert lost.state == DeliveryState.PENDING and lost.lease_until > utcnow()
            assert delivery.sweep() == 0 and not delivery.is_due()  # leased: not yet
            # Time passes: the lease ends, and the lost drain's flag expires.
            db.session.execute(
                update(WebhookDelivery).values(lease_until=utcnow() - timedelta(seconds=1))
            )
            db.session.commit()
            redis_client(app.config["REDIS_URL"]).delete(delivery.DELIVERIES.flag_key)
            delivery.sweep()
        run_jobs()

        again = receiver.wait_for(2)[1]
        assert again.headers["webhook-id"] == held.headers["webhook-id"]
        assert Webhook(made.secret).verify(again.body, again.headers)["data"] == {
            "order_no": "WXCRASH"
        }
        with app.app_context():
            found = db.session.scalars(select(WebhookDelivery)).one()
            assert found.state == DeliveryState.SUCCEEDED and found.attempts == 2
            # The killed attempt wrote nothing; the one that succeeded is logged.
            assert db.session.scalars(select(WebhookAttempt.status)).all() == [200]
