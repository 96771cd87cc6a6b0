"""Shipping information upload benchmark: N shipments uploaded to WeChat (the emulator) by
two RQ workers.

Run (from the repository root; needs MariaDB at 127.0.0.1:3306 as root without password and
Redis; never part of the test suite):

    .venv/bin/python bench/fulfilment.py [--shipments 10000] [--workers 2]
                                         [--worker simple|app] [--compare]
                                         [--redis-url redis://127.0.0.1:6379/14] [--keep-db]

What it does, on a fresh MariaDB database `wxdist_bench_<random>` (dropped at the end):

1. migrates, seeds one product and N paid WeChat orders (one shopper each; orders, items
   and payments written in bulk, as the pay flow leaves them) and tells the emulator
   (`flask emulator`) that their trades are paid (`/_emulator/wechat/paid-trades`);
2. ships every order through `wxdist.shop.shipments.ship_whole_order` (the real service:
   carrier check against the cached WeChat list, order lock, shipment, sync row, the upload
   drain job scheduled on RQ after commit) with no worker running, and reports that rate;
3. starts `--workers` RQ workers (`--worker`: simple = rq's SimpleWorker, one process;
   app = jobs.worker.AppWorker, the deployed forking worker) and waits until every sync row
   is `uploaded`. The rate is N over the span from the first `uploaded_at` to the last
   (worker start-up not counted);
4. checks: every sync row uploaded exactly once (`uploads` = 1), and the emulator's counters
   say N uploads, one per transaction, no duplicate upload, no refused re-upload.

`--compare` seeds and ships 2N orders and measures the earlier design too, in the same run:
the first N are uploaded by one RQ job per upload (`jobs.shipping.upload_shipping_info`,
the queued drain job removed), then the workers stop and the other N are uploaded by the
drain (`jobs.shipping.upload_due`); the ratio of the two rates is printed.

Output: the figures and the verdicts (target: >= 150 uploads/s, no duplicate). Exit status
0 when the checks pass (the rate verdict does not change it).
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, suppress
from datetime import timedelta
from pathlib import Path

import pymysql
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import (
    VENV_BIN,
    Database,
    app_env,
    cpu_seconds,
    free_port,
    machine_busy,
    migrate,
    pids_named,
    process_tree,
    seed_catalogue,
    start_service,
    wait_http,
)

ROOT = Path(__file__).resolve().parent.parent
TARGET_PER_S = 150
WORKERS = {"simple": "rq.worker.SimpleWorker", "app": "jobs.worker.AppWorker"}
BATCH = 1000


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shipments", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker", choices=tuple(WORKERS), default="simple")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--mysql", default="mysql+pymysql://root@127.0.0.1:3306")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--compare", action="store_true", help="also measure one RQ job per upload (2N orders)"
    )
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for uploads")
    ns = parser.parse_args()
    if ns.shipments < 1 or ns.workers < 1:
        parser.error("--shipments and --workers must be positive")
    return ns


def bench_app(db: Database, emulator_url: str, redis_url: str):  # type: ignore[no-untyped-def]
    from config import load_settings
    from wxdist import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": db.url,
            "SQLALCHEMY_ENGINE_OPTIONS": load_settings({"DATABASE_URL": db.url})[
                "SQLALCHEMY_ENGINE_OPTIONS"
            ],
            "EMULATOR_URL": emulator_url,
            "REDIS_URL": redis_url,
            "INLINE_JOBS": False,
            "TRACKING_PROVIDER": "none",  # uploads only
        }
    )


def seed_orders(n: int, sku_id: int, emulator_url: str) -> list[int]:
    """N paid WeChat orders (bulk), their trades paid at the emulator; the order ids."""
    from sqlalchemy import insert, select

    from wxdist.core.extensions import db
    from wxdist.models import Order, OrderItem, Payment, Product, Sku, User
    from wxdist.models.types import utcnow

    sku = db.session.get(Sku, sku_id)
    product = db.session.get(Product, sku.product_id)
    now, tag = utcnow(), secrets.token_hex(4)
    ids: list[int] = []
    for start in range(0, n, BATCH):
        count = min(BATCH, n - start)
        rows = [f"{tag}{start + i:08d}" for i in range(count)]
        db.session.execute(insert(User), [{"openid": f"oBench{r}"} for r in rows])
        users = dict(
            db.session.execute(
                select(User.openid, User.id).where(User.openid.in_([f"oBench{r}" for r in rows]))
            ).all()
        )
        orders = [
            {
                "order_no": f"B{r}",
                "user_id": users[f"oBench{r}"],
                "status": "paid",
                "goods_fen": 1990,
                "payable_fen": 1990,
                "paid_fen": 1990,
                "pay_channel": "wechat",
                "receiver_name": "压测",
                "receiver_phone": "13900139000",
                "receiver_region": "上海市 浦东新区",
                "receiver_detail": "世纪大道 100 号",
                "expires_at": now + timedelta(minutes=30),
                "paid_at": now,
            }
            for r in rows
        ]
        db.session.execute(insert(Order), orders)
        by_no = dict(
            db.session.execute(
                select(Order.order_no, Order.id).where(
                    Order.order_no.in_([o["order_no"] for o in orders])
                )
            ).all()
        )
        db.session.execute(
            insert(OrderItem),
            [
                {
                    "order_id": by_no[f"B{r}"],
                    "product_id": product.id,
                    "sku_id": sku.id,
                    "title": product.title,
                    "sku_name": sku.name,
                    "price_fen": 1990,
                    "quantity": 1,
                    "amount_fen": 1990,
                    "paid_fen": 1990,
                    "commission_base_fen": 1990,
                }
                for r in rows
            ],
        )
        payments = [
            {
                "order_id": by_no[f"B{r}"],
                "channel": "wechat",
                "out_trade_no": f"B{r}W",
                "amount_fen": 1990,
                "status": "paid",
                "transaction_id": f"4200{r}",
                "payer_id": f"oBench{r}",
                "paid_at": now,
            }
            for r in rows
        ]
        db.session.execute(insert(Payment), payments)
        db.session.commit()
        trades = [
            {
                "out_trade_no": p["out_trade_no"],
                "transaction_id": p["transaction_id"],
                "openid": p["payer_id"],
                "total_fee": 1990,
            }
            for p in payments
        ]
        answer = requests.post(
            f"{emulator_url}/_emulator/wechat/paid-trades", json={"trades": trades}, timeout=60
        )
        answer.raise_for_status()
        ids += [by_no[f"B{r}"] for r in rows]
    return ids


def ship_all(order_ids: list[int]) -> float:
    """Ship each order (the real service; the upload drain scheduled on RQ); seconds taken."""
    from wxdist.shop.shipments import ship_whole_order

    started = time.monotonic()
    for n, order_id in enumerate(order_ids):
        ship_whole_order(order_id, "SF" if n % 2 else "ZTO", f"BT{order_id:010d}")
    return time.monotonic() - started


def upload_all(
    env: dict[str, str], db: Database, ns: argparse.Namespace, emulator_pid: int, rows: str
) -> tuple[float, str, dict[str, float]]:
    """Start the workers, wait until every sync row matching `rows` (SQL) is uploaded;
    (seconds waited, logs, CPU seconds used meanwhile by the workers, the emulator and
    MariaDB)."""
    cmd = [str(VENV_BIN / "rq"), "worker", "--url", ns.redis_url]
    cmd += ["--worker-class", WORKERS[ns.worker], "default"]
    with ExitStack() as stack:
        logs = [stack.enter_context(tempfile.TemporaryFile()) for _ in range(ns.workers)]
        workers = [
            subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            for log in logs
        ]
        started = time.monotonic()
        mysqld = pids_named("mariadbd", "mysqld")
        emulator_pids = process_tree(emulator_pid)
        before = {
            "emulator": sum(cpu_seconds(p) for p in emulator_pids),
            "mariadb": sum(cpu_seconds(p) for p in mysqld),
        }
        cpu: dict[str, float] = {}
        try:
            while time.monotonic() - started < ns.timeout:
                left = db.scalar(
                    f"SELECT COUNT(*) FROM shipping_syncs WHERE state <> 'uploaded' AND {rows}"
                )
                if left == 0:
                    break
                if any(w.poll() is not None for w in workers):
                    break
                time.sleep(0.25)
            cpu = {
                "workers": sum(cpu_seconds(w.pid, children=True) for w in workers),
                "emulator": sum(cpu_seconds(p) for p in emulator_pids) - before["emulator"],
                "mariadb": sum(cpu_seconds(p) for p in mysqld) - before["mariadb"],
            }
        finally:
            for worker in workers:  # only the processes this script started
                if worker.poll() is None:
                    worker.send_signal(signal.SIGTERM)
            for worker in workers:
                with suppress(subprocess.TimeoutExpired):
                    worker.wait(timeout=60)
        text = ""
        for log in logs:
            log.seek(0)
            text += log.read().decode(errors="replace")
    return time.monotonic() - started, text, cpu


def measure(db: Database, n: int, rows: str, cpu: dict[str, float]) -> tuple[float, int]:
    """Print the upload rate of the rows matching `rows`; (uploads/s, rows uploaded)."""
    first, last = db.rows(
        f"SELECT MIN(uploaded_at), MAX(uploaded_at) FROM shipping_syncs WHERE {rows}"
    )[0]
    uploaded = db.scalar(f"SELECT COUNT(*) FROM shipping_syncs WHERE state = 'uploaded' AND {rows}")
    failures = db.scalar(
        f"SELECT COUNT(*) FROM shipping_syncs WHERE last_error IS NOT NULL AND {rows}"
    )
    span = max((last - first).total_seconds(), 1e-3) if first and last else float("inf")
    rate = uploaded / span
    print(
        f"upload:   {uploaded} uploaded in {span:.2f} s from the first uploaded_at to the last "
        f"= {rate:.0f} uploads/s; rows with an error on the way: {failures}"
    )
    print(
        "CPU per upload (ms): "
        + ", ".join(f"{name} {seconds * 1000 / max(n, 1):.1f}" for name, seconds in cpu.items())
        + " (workers include their start-up)"
    )
    return rate, uploaded


def check(db: Database, emulator_url: str, n: int, rate: float) -> bool:
    """Print the checks over every row and the verdicts; True when the checks pass."""
    uploaded = db.scalar("SELECT COUNT(*) FROM shipping_syncs WHERE state = 'uploaded'")
    once = db.scalar("SELECT COUNT(*) FROM shipping_syncs WHERE uploads = 1")
    stats = requests.get(f"{emulator_url}/_emulator/wechat/shipping", timeout=30).json()
    per_tx = stats["uploads"]
    checks = {
        f"every sync row uploaded ({uploaded}/{n})": uploaded == n,
        f"each exactly once in our rows ({once}/{n})": once == n,
        f"emulator: {stats['total_uploads']} uploads for {n} shipments": stats["total_uploads"]
        == n,
        f"emulator: one per transaction ({len(per_tx)} transactions)": len(per_tx) == n
        and all(v == 1 for v in per_tx.values()),
        f"emulator: duplicate uploads {stats['duplicate_uploads']}": stats["duplicate_uploads"]
        == 0,
        f"emulator: re-uploads refused {stats['reupload_refused']}": stats["reupload_refused"] == 0,
    }
    for text, ok in checks.items():
        print(f"  [{'ok' if ok else 'FAIL'}] {text}")
    print(
        f"verdict: {'PASS' if rate >= TARGET_PER_S else 'BELOW TARGET'} rate "
        f"(target >= {TARGET_PER_S}/s); "
        f"{'PASS' if stats['duplicate_uploads'] == 0 else 'FAIL'} no duplicate upload"
    )
    return all(checks.values())


def one_job_per_upload(order_ids: list[int]) -> None:
    """Replace the queued drain by one upload job per payment of `order_ids` (the design
    before the drain)."""
    from sqlalchemy import select

    from wxdist.core.extensions import db
    from wxdist.core.tasks import enqueue, rq_queue
    from wxdist.models import ShippingSync
    from wxdist.shop.shipping_info import UPLOAD_JOB, UPLOADS

    rq_queue().empty()
    rq_queue().connection.delete(UPLOADS.flag_key)
    payment_ids = db.session.scalars(
        select(ShippingSync.payment_id).where(ShippingSync.order_id.in_(order_ids))
    ).all()
    for payment_id in payment_ids:
        enqueue(UPLOAD_JOB, payment_id)


def run_phase(
    env: dict[str, str], db: Database, ns: argparse.Namespace, emulator_pid: int, rows: str
) -> tuple[float, str, bool]:
    """Upload the rows matching `rows` with the workers; (rate, logs, all uploaded)."""
    busy = machine_busy()
    if busy > 0.3:
        print(f"warning: the machine is {busy:.0%} busy before the run: figures are lower")
    waited, logs, cpu = upload_all(env, db, ns, emulator_pid, rows)
    print(f"{ns.workers} RQ {WORKERS[ns.worker].rpartition('.')[2]}s ran for {waited:.1f} s")
    rate, uploaded = measure(db, ns.shipments, rows, cpu)
    return rate, logs, uploaded == ns.shipments


def main() -> int:
    ns = options()
    import redis

    if redis.Redis.from_url(ns.redis_url).dbsize():
        print(f"{ns.redis_url} is not empty: give the bench an empty Redis database")
        return 2
    db = Database(ns.mysql, f"wxdist_bench_{secrets.token_hex(4)}")
    workdir = Path(tempfile.mkdtemp(prefix="wxdist-bench-fulfilment-"))
    emulator_port = free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    env = app_env(db, free_port(), emulator_url, ns.redis_url)
    env["TRACKING_PROVIDER"] = "none"
    emulator = None
    try:
        db.create()
        migrate(env)
        sku_id = seed_catalogue(db)
        emulator = start_service(
            "emulator",
            [str(VENV_BIN / "flask"), "emulator", "--port", str(emulator_port)],
            env,
            workdir,
        )
        wait_http(emulator, f"{emulator_url}/_emulator/health")
        app = bench_app(db, emulator_url, ns.redis_url)
        total = ns.shipments * (2 if ns.compare else 1)
        with app.app_context():
            order_ids = seed_orders(total, sku_id, emulator_url)
            print(f"seeded {len(order_ids)} paid WeChat orders")
            ship_s = ship_all(order_ids)
            print(
                f"shipping: {total} shipments recorded in {ship_s:.1f} s "
                f"({total / ship_s:.0f}/s, one process)"
            )
            if ns.compare:
                one_job_per_upload(order_ids[: ns.shipments])
            from wxdist.core.extensions import db as sa

            sa.session.remove()
            sa.engine.dispose()
        pid = emulator.proc.pid
        ok = True
        if ns.compare:
            print("-- one RQ job per upload (the design before the drain)")
            per_job, logs, ok = run_phase(
                env, db, ns, pid, f"order_id <= {order_ids[ns.shipments - 1]}"
            )
            with app.app_context():
                from wxdist.shop.shipping_info import UPLOADS

                UPLOADS.schedule()
            print("-- the drain")
            rate, more_logs, done = run_phase(
                env, db, ns, pid, f"order_id > {order_ids[ns.shipments - 1]}"
            )
            logs, ok = logs + more_logs, ok and done
            print(f"drain / one job per upload: {rate / per_job:.2f}x (same run)")
        else:
            rate, logs, ok = run_phase(env, db, ns, pid, "1 = 1")
        ok = check(db, emulator_url, total, rate) and ok
        if not ok:
            print(logs[-3000:])
        return 0 if ok else 1
    finally:
        if emulator is not None:
            emulator.stop()
        with suppress(Exception):
            r = redis.Redis.from_url(ns.redis_url)
            for pattern in ("rq:*", "wxdist:*"):
                for key in r.scan_iter(pattern, count=500):
                    r.delete(key)
        if ns.keep_db:
            print(f"kept database {db.name}")
        else:
            with suppress(pymysql.MySQLError):
                db.drop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
