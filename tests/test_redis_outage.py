"""Redis goes away mid-run and comes back: the shop keeps serving, nothing committed answers
500, and attribution catches up once Redis answers again, credited once.

Each test starts its own `redis-server` (a free loopback port, no persistence, a temporary
directory) and a second app in RQ mode against it, on the suite's database (SQLite or
MariaDB), served over real HTTP so the emulator's notifies reach it. Stopping that server
is a real outage: connections are refused, and a restart comes back empty.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from payments.emulator import EmulatorServer
from tests.conftest import LiveServer
from tests.panel_helpers import make_staff, sign_in
from tests.shop import (
    become_distributor,
    centre,
    emulator_pay,
    get_order,
    login,
    make_product,
    pay_order,
    place_order,
    set_settings,
    start_pay,
)
from wxdist import create_app
from wxdist.core.extensions import db
from wxdist.distribution import attribution_queue
from wxdist.models import Commission, Order
from wxdist.reporting.reconcile import check_all

REDIS_SERVER = "/usr/bin/redis-server"

pytestmark = pytest.mark.skipif(
    shutil.which(REDIS_SERVER) is None, reason="needs /usr/bin/redis-server"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A redis-server of this test's own, stopped and started at will on one port."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        # A plain client (not the app's) to look inside, unaffected by the app's guards.
        self.plain = redis.Redis(port=self.port, socket_timeout=5)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        from wxdist.core.redis_conn import redis_client

        unavailable = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
        deadline = time.monotonic() + 10
        # Up, and answering the app's client too (which skips an address for a second
        # after it failed).
        for client in (self.plain, redis_client(self.url)):
            while True:
                try:
                    client.ping()
                    break
                except unavailable:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)

    def pause(self) -> None:
        """SIGSTOP: connections are still accepted (by the kernel), nothing answers."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)  # a paused server would not terminate
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
        self.plain.connection_pool.disconnect()


@dataclass
class Shop:
    app: Flask
    client: FlaskClient
    redis: RedisServer

    def run_worker(self) -> None:
        """Drain the RQ queues with a real burst worker; no job may fail."""
        from rq import SimpleWorker

        from wxdist.core.redis_conn import redis_client
        from wxdist.core.tasks import QUEUES, rq_queue

        with self.app.app_context():
            queues = [rq_queue(name) for name in QUEUES]
            worker = SimpleWorker(queues, connection=redis_client(self.app.config["REDIS_URL"]))
            worker.work(burst=True)
            for queue in queues:
                assert queue.failed_job_registry.count == 0, f"a job failed on {queue.name}"

    def pending(self, order_id: int) -> int:
        """How many times `order_id` waits on the attribution list."""
        return self.redis.plain.lrange(attribution_queue.PENDING_KEY, 0, -1).count(
            str(order_id).encode()
        )


@pytest.fixture()
def shop(app: Flask, emulator: EmulatorServer, tmp_path: Path) -> Iterator[Shop]:
    server = RedisServer(tmp_path)
    server.start()
    rq_app = create_app(
        {
            "WXDIST_ENV": "test",
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "SQLALCHEMY_ENGINE_OPTIONS": app.config["SQLALCHEMY_ENGINE_OPTIONS"],
            "REDIS_URL": server.url,
            "INLINE_JOBS": False,
            "POSTER_PREDRAW": False,
            "EMULATOR_URL": emulator.url,
            "GATEWAY_TIMEOUT_SECONDS": 3,
            "MEDIA_DIR": str(tmp_path / "media"),
        }
    )
    live = LiveServer(rq_app)
    rq_app.config["PUBLIC_BASE_URL"] = live.url
    try:
        yield Shop(rq_app, rq_app.test_client(), server)
    finally:
        try:
            server.stop()
            getattr(attribution_queue, "_unpushed", set()).clear()
        finally:
            live.stop()
            with rq_app.app_context():
                db.engine.dispose()


def _attribution(shop: Shop, order_id: int) -> tuple[Any, int]:
    with shop.app.app_context():
        attributed_at = db.session.scalar(select(Order.attributed_at).where(Order.id == order_id))
        records = db.session.scalar(
            select(func.count()).select_from(Commission).where(Commission.order_id == order_id)
        )
        db.session.remove()
        return attributed_at, int(records)


def _resend_notify(emulator: EmulatorServer, out_trade_no: str) -> dict[str, Any]:
    """The gateway sends its notify again (as WeChat does until it hears success)."""
    response = requests.post(
        f"{emulator.url}/_emulator/wechat/notify", json={"out_trade_no": out_trade_no}, timeout=30
    )
    assert response.status_code == 200, response.text
    return response.json()


def _wait_until(condition: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_shop_serves_while_redis_is_down_and_attribution_lands_once_it_returns(
    shop: Shop, emulator: EmulatorServer
) -> None:
    client = shop.client
    set_settings(shop.app, level1_rate_bp=1000, level2_rate_bp=0)
    distributor = become_distributor(client, "outage-d")
    product = make_product(shop.app, price_fen=10_000, stock=5)
    make_staff(shop.app, "owner", "boss")

    shop.redis.stop()
    started = time.monotonic()
    # Login (the WeChat token cache), browsing, ordering and paying all work.
    buyer = login(client, "outage-b", scene=distributor["centre"]["scene"])
    assert client.get("/api/v1/products").status_code == 200
    order = place_order(client, buyer, product["sku_id"])
    pay = start_pay(client, buyer, order["id"])
    answer = emulator_pay(emulator.url, "wechat", pay["out_trade_no"])
    assert answer["notify_status"] == 200, answer
    assert "SUCCESS" in answer["notify_response"]
    assert get_order(client, buyer, order["id"])["status"] == "paid"
    # The panel: sign-in limits count in the process; a wrong password is a plain refusal.
    panel = shop.app.test_client()
    assert sign_in(panel, "boss", "not the password").status_code == 401
    assert sign_in(panel, "boss").status_code == 302
    assert panel.get("/panel/").status_code == 200
    assert time.monotonic() - started < 20  # a dead Redis holds no request for long
    # Paid, not yet attributed: the database is the book of record.
    assert _attribution(shop, order["id"]) == (None, 0)
    assert centre(client, distributor["headers"])["balances"]["frozen_fen"] == 0

    shop.redis.start()  # back, and empty
    # The process pushes the order it could not push, without waiting for the sweep.
    _wait_until(lambda: shop.pending(order["id"]) == 1)
    # The gateway repeats its notify: success again, and the order is queued a second time.
    again = _resend_notify(emulator, pay["out_trade_no"])
    assert again["notify_status"] == 200 and "SUCCESS" in again["notify_response"]
    assert shop.pending(order["id"]) == 2
    shop.run_worker()

    attributed_at, records = _attribution(shop, order["id"])
    assert attributed_at is not None and records == 1  # pushed twice, credited once
    assert centre(client, distributor["headers"])["balances"]["frozen_fen"] == 1000
    _resend_notify(emulator, pay["out_trade_no"])  # attributed: nothing more is queued
    assert shop.pending(order["id"]) == 0
    shop.run_worker()
    assert _attribution(shop, order["id"])[1] == 1
    with shop.app.app_context():
        assert check_all() == []
    result = shop.app.test_cli_runner().invoke(args=["reconcile"])
    assert result.exit_code == 0 and "clean" in result.output, result.output


def test_a_repeated_notify_queues_attribution_again_when_redis_lost_it(
    shop: Shop, emulator: EmulatorServer
) -> None:
    """Redis restarted without persistence after the notify: the queued order is gone. The
    gateway's repeat of the notify queues it again (not only the 10-minute sweep)."""
    client = shop.client
    set_settings(shop.app, level1_rate_bp=1000, level2_rate_bp=0)
    distributor = become_distributor(client, "lost-d")
    buyer = login(client, "lost-b", scene=distributor["centre"]["scene"])
    product = make_product(shop.app, price_fen=10_000)
    paid = pay_order(client, emulator.url, buyer, product["sku_id"])
    shop.redis.stop()
    shop.redis.start()  # empty: the pending list and the drain job are gone
    again = _resend_notify(emulator, paid["out_trade_no"])
    assert again["notify_status"] == 200 and "SUCCESS" in again["notify_response"]
    shop.run_worker()
    assert _attribution(shop, paid["id"])[1] == 1
    assert centre(client, distributor["headers"])["balances"]["frozen_fen"] == 1000
    with shop.app.app_context():
        assert check_all() == []


def test_work_a_sweep_recovers_is_left_to_it_while_redis_is_down(
    shop: Shop, emulator: EmulatorServer
) -> None:
    """An auto-approved withdrawal and an approved distributor (poster predraw on) answer
    success with Redis down; the payout sweep pays the withdrawal once Redis is back."""
    from datetime import timedelta

    from sqlalchemy import update

    from tests.test_withdrawals import balances, clean, fund, status_of, withdraw
    from wxdist.models import Withdrawal
    from wxdist.models.types import utcnow
    from wxdist.money.payouts import resume_stuck

    client = shop.client
    d = fund(client, shop.app, emulator, shop.run_worker, "down-w", 5000)
    set_settings(shop.app, wechat_payout_api="v2", withdraw_auto_approve_below_fen=10_000)
    shop.app.config["POSTER_PREDRAW"] = True

    shop.redis.stop()
    response = withdraw(client, d, 1000)
    assert response.status_code == 201, response.get_json()
    w = response.get_json()
    assert w["status"] == "approved"
    assert balances(client, d)["withdrawing_fen"] == 1000
    become_distributor(client, "down-d2")  # approved at once; no poster drawn ahead

    shop.redis.start()
    with shop.app.app_context():  # a minute later, the periodic resume_payouts runs
        db.session.execute(
            update(Withdrawal)
            .where(Withdrawal.id == w["id"])
            .values(reviewed_at=utcnow() - timedelta(minutes=2))
        )
        db.session.commit()
        assert resume_stuck() == 1
    shop.run_worker()
    assert status_of(client, d, w["id"])["status"] == "paid"
    assert balances(client, d) == {"frozen_fen": 0, "available_fen": 4000, "withdrawing_fen": 0}
    clean(shop.app)


def test_a_shipment_recorded_while_redis_is_down_is_uploaded_by_the_sweep_after(
    shop: Shop, emulator: EmulatorServer
) -> None:
    """Shipping with Redis down records the shipment (its upload due in the database);
    once Redis is back the periodic sweep starts the drain, which uploads it once."""
    from wxdist.models import ShippingSync
    from wxdist.shop import shipping_info
    from wxdist.shop.shipments import ship_whole_order

    buyer = login(shop.client, "down-ship")
    sku_id = make_product(shop.app, price_fen=1000, stock=5)["sku_id"]
    order = pay_order(shop.client, emulator.url, buyer, sku_id)
    shop.run_worker()

    shop.redis.stop()
    with shop.app.app_context():
        ship_whole_order(order["id"], "ZTO", "ZT-DOWN-1")
    shop.redis.start()

    def sync() -> ShippingSync:
        with shop.app.app_context():
            row = db.session.scalar(
                select(ShippingSync).where(ShippingSync.order_id == order["id"])
            )
            db.session.expunge(row)
            return row

    assert (sync().state, sync().uploads) == ("pending", 0)
    with shop.app.app_context():
        assert shipping_info.sweep() == 1
    shop.run_worker()
    assert (sync().state, sync().uploads) == ("uploaded", 1)
    stats = requests.get(f"{emulator.url}/_emulator/wechat/shipping", timeout=5).json()
    assert (stats["total_uploads"], stats["duplicate_uploads"]) == (1, 0)


def test_a_hung_redis_holds_no_request_for_long(shop: Shop, emulator: EmulatorServer) -> None:
    """Redis accepts connections but never answers: every request that touches it waits at
    most a couple of seconds, then falls back; commands it answers late do no harm."""
    client = shop.client
    set_settings(shop.app, level1_rate_bp=1000, level2_rate_bp=0)
    distributor = become_distributor(client, "hung-d")
    product = make_product(shop.app, price_fen=10_000)

    shop.redis.pause()
    started = time.monotonic()
    buyer = login(client, "hung-b", scene=distributor["centre"]["scene"])
    order = place_order(client, buyer, product["sku_id"])
    pay = start_pay(client, buyer, order["id"])
    answer = emulator_pay(emulator.url, "wechat", pay["out_trade_no"])
    assert answer["notify_status"] == 200 and "SUCCESS" in answer["notify_response"]
    code = client.get("/api/v1/distributor/code", headers=distributor["headers"])
    assert code.status_code == 200 and code.mimetype == "image/png"  # the media lock
    assert time.monotonic() - started < 20

    shop.redis.resume()  # it now runs what it was sent meanwhile, and the process re-pushes
    _wait_until(lambda: shop.pending(order["id"]) >= 1)
    shop.run_worker()
    assert _attribution(shop, order["id"])[1] == 1
    assert centre(client, distributor["headers"])["balances"]["frozen_fen"] == 1000
    with shop.app.app_context():
        assert check_all() == []
