"""WeChat shipping-info uploads on RQ: one drain job for any number of shipments
(wxdist.core.drains), rows claimed in batches with a lease, outcomes written per batch,
against the emulator's upload counters."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from payments.emulator import EmulatorServer
from tests.shop import login, make_product, pay_order
from wxdist.core.extensions import db
from wxdist.core.gateways import gateways
from wxdist.models import Payment, ShippingSync
from wxdist.models.types import utcnow
from wxdist.shop import shipping_info
from wxdist.shop.shipments import ship_whole_order
from wxdist.shop.shipping_payload import build_payload

DRAIN_JOB = "jobs.shipping.upload_due"
UPLOAD = "/wxa/sec/order/upload_shipping_info"


@pytest.fixture(autouse=True)
def _rq_only(app: Flask) -> None:
    if app.config["INLINE_JOBS"]:
        pytest.skip("inline jobs upload each payment in the shipping request; drains need RQ")


def _redis(app: Flask) -> Any:
    from wxdist.core.redis_conn import redis_client

    return redis_client(app.config["REDIS_URL"])


def _queued(app: Flask) -> list[tuple[str, tuple[Any, ...]]]:
    from wxdist.core.tasks import rq_queue

    with app.app_context():
        return [(job.func_name, tuple(job.args)) for job in rq_queue().get_jobs()]


def _paid_orders(client: FlaskClient, app: Flask, emulator: EmulatorServer, n: int) -> list[int]:
    sku_id = make_product(app, price_fen=1000, stock=n, title="保温杯")["sku_id"]
    buyer = login(client, f"drain-{n}-{utcnow().timestamp()}")
    return [pay_order(client, emulator.url, buyer, sku_id)["id"] for _ in range(n)]


def _ship(app: Flask, order_ids: list[int]) -> None:
    with app.app_context():
        for order_id in order_ids:
            ship_whole_order(order_id, "ZTO", f"ZT{order_id:08d}")


def _syncs(app: Flask, order_ids: list[int]) -> list[ShippingSync]:
    with app.app_context():
        rows = list(
            db.session.scalars(select(ShippingSync).where(ShippingSync.order_id.in_(order_ids)))
        )
        db.session.expunge_all()
        return rows


def _stats(emulator: EmulatorServer) -> dict[str, Any]:
    return requests.get(f"{emulator.url}/_emulator/wechat/shipping", timeout=5).json()


def _drop_queued_jobs(app: Flask) -> None:
    """Leave only the shipping work: the payments' attribution drains ran already."""
    from wxdist.core.tasks import rq_queue

    with app.app_context():
        rq_queue().empty()


def test_many_shipments_are_uploaded_by_one_drain_job(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    ids = _paid_orders(client, app, emulator, 7)
    run_jobs()  # the payments' own jobs
    _ship(app, ids)
    queued = _queued(app)
    assert queued.count((DRAIN_JOB, ())) == 1  # every shipment after the first found it set
    assert not [name for name, _ in queued if name == shipping_info.UPLOAD_JOB]
    assert {row.state for row in _syncs(app, ids)} == {"pending"}

    run_jobs()
    rows = _syncs(app, ids)
    assert [(row.state, row.uploads) for row in rows] == [("uploaded", 1)] * 7
    stats = _stats(emulator)
    assert (stats["total_uploads"], stats["duplicate_uploads"]) == (7, 0)
    assert not _redis(app).exists(shipping_info.UPLOADS.flag_key)  # the next one schedules


def test_a_backlog_calls_a_helper_and_both_upload_each_row_once(
    client: FlaskClient,
    app: Flask,
    emulator: EmulatorServer,
    run_jobs: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shipping_info, "BATCH", 3)
    ids = _paid_orders(client, app, emulator, 20)
    run_jobs()
    _ship(app, ids)
    _drop_queued_jobs(app)
    errors: list[BaseException] = []

    def one_drain(slot: int) -> None:
        try:
            with app.app_context():
                shipping_info.drain(slot)
        except BaseException as exc:
            errors.append(exc)

    # The flag's drain and a helper at once, as two workers run them.
    _redis(app).set(shipping_info.UPLOADS.flag_key, "1")
    _redis(app).set(shipping_info.UPLOADS.helper_key(1), "1")
    threads = [threading.Thread(target=one_drain, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert [(row.state, row.uploads) for row in _syncs(app, ids)] == [("uploaded", 1)] * 20
    stats = _stats(emulator)
    assert (stats["total_uploads"], stats["duplicate_uploads"]) == (20, 0)
    run_jobs()  # a helper the first drain asked for meanwhile finds nothing and ends
    assert not _redis(app).exists(shipping_info.UPLOADS.helper_key(1))  # its slot freed
    assert _stats(emulator)["total_uploads"] == 20

    # A drain whose batches come back full asks for a helper job.
    more = _paid_orders(client, app, emulator, 7)
    run_jobs()
    _ship(app, more)
    with app.app_context():
        shipping_info.drain()
    assert (DRAIN_JOB, (1,)) in _queued(app)
    run_jobs()
    assert [row.uploads for row in _syncs(app, more)] == [1] * 7


def test_a_lost_drains_rows_are_taken_again_after_the_lease_without_a_second_upload(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    ids = _paid_orders(client, app, emulator, 3)
    run_jobs()
    _ship(app, ids)
    _drop_queued_jobs(app)
    with app.app_context():
        # A worker claims the batch, sends the first row, and dies before recording.
        claimed = shipping_info._claim()
        assert sorted(sync.order_id for sync in claimed) == sorted(ids)
        first = db.session.scalar(select(Payment).where(Payment.order_id == ids[0]))
        gateways().miniprogram.post_json(UPLOAD, build_payload(first, utcnow()))
        db.session.rollback()
        # Meanwhile a sweep finds nothing to start: the rows are held.
        assert shipping_info.due_payments() == []
        # The lease ends, and so does the flag's TTL (the lost job refreshed neither); the
        # sweep starts a drain.
        _redis(app).delete(shipping_info.UPLOADS.flag_key)
        db.session.execute(
            update(ShippingSync)
            .where(ShippingSync.order_id.in_(ids))
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        assert shipping_info.sweep() == 3
    assert (DRAIN_JOB, ()) in _queued(app)
    run_jobs()
    rows = {row.order_id: row for row in _syncs(app, ids)}
    assert {row.state for row in rows.values()} == {"uploaded"}
    # The row WeChat already held was found with get_order, not sent again.
    assert [rows[order_id].uploads for order_id in ids] == [0, 1, 1]
    stats = _stats(emulator)
    assert (stats["total_uploads"], stats["duplicate_uploads"]) == (3, 0)


def test_once_wechat_is_unavailable_the_rest_of_the_batch_waits_unsent(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    ids = _paid_orders(client, app, emulator, 3)
    run_jobs()
    body = {"key": UPLOAD, "mode": "error500", "times": 1, "code": "SYSTEMERROR"}
    requests.post(f"{emulator.url}/_emulator/faults", json=body, timeout=5).raise_for_status()
    _ship(app, ids)
    run_jobs()
    rows = _syncs(app, ids)
    assert {row.state for row in rows} == {"failed"}
    assert all(row.next_attempt_at > utcnow() for row in rows)  # each waits out a backoff
    errors = sorted(row.last_error.split(":")[0] for row in rows)
    assert errors == ["not sent, WeChat unavailable", "not sent, WeChat unavailable", "unavailable"]
    assert _stats(emulator)["total_uploads"] == 0

    with app.app_context():  # the backoff passes; the sweep starts a drain
        db.session.execute(
            update(ShippingSync)
            .where(ShippingSync.order_id.in_(ids))
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        shipping_info.sweep()
    run_jobs()
    assert [(row.state, row.last_error) for row in _syncs(app, ids)] == [("uploaded", None)] * 3
    stats = _stats(emulator)
    assert (stats["total_uploads"], stats["duplicate_uploads"]) == (3, 0)
