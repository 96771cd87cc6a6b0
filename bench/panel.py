"""Merchant panel speed on MariaDB: the withdrawals page over 100,000 withdrawals and the
dashboard over 1,000,000 orders.

Seeds a fresh database (dropped at the end unless --keep) with users, distributors and
their accounts, `--withdrawals` withdrawals in every status and method, and `--orders`
orders over the last 60 days. The dashboard's daily aggregates are built from those orders
with one grouped INSERT … SELECT, standing in for what payment attribution writes one
order at a time; the bench checks them against a scan of the orders (untimed).

Each page is requested through Flask's test client by a signed-in owner (the whole request:
session, role check, queries, template), warmed up, then timed `--requests` times. Targets:
withdrawals page p95 < 150 ms, dashboard p95 < 200 ms.

    .venv/bin/python bench/panel.py [--withdrawals 100000] [--orders 1000000]
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import Database, batches

LIST = "/panel/withdrawals"
TARGETS_MS = {"withdrawals": 150.0, "dashboard": 200.0}
STATUSES = (
    ("paid", 60),
    ("pending_review", 10),
    ("approved", 4),
    ("paying", 1),
    ("failed", 10),
    ("rejected", 10),
    ("cancelled", 5),
)
METHODS = (("wechat", 70), ("alipay", 20), ("bank", 10))
BATCH = 5000


def weighted(choices: tuple[tuple[str, int], ...], rng: random.Random) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def seed(database: Database, users: int, withdrawals: int, orders: int, seed_value: int) -> None:
    """Bulk rows with multi-row INSERTs (PyMySQL's executemany)."""
    rng = random.Random(seed_value)
    now = datetime.now(UTC).replace(tzinfo=None)
    conn = database.connect()
    distributors = max(users // 10, 1)
    with conn.cursor() as cur:
        started = time.perf_counter()
        for batch in batches(
            (i, f"bench-openid-{i}", "", f"用户{i}", "", 1, 0, 0, now, now)
            for i in range(1, users + 1)
        ):
            cur.executemany(
                "INSERT INTO users (id, openid, unionid, nickname, avatar_url, token_version,"
                " paid_orders, paid_spend_fen, created_at, last_login_at)"
                " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                batch,
            )
        for batch in batches(
            (i, "approved", f"分销员{i}", "13800000000", "", "", now, now, now, 0, 0)
            for i in range(1, distributors + 1)
        ):
            cur.executemany(
                "INSERT INTO distributors (user_id, status, real_name, phone, reason,"
                " review_note, applied_at, reviewed_at, approved_at, direct_invites,"
                " team_sales_fen) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                batch,
            )
            cur.executemany(
                "INSERT INTO distributor_accounts (user_id, frozen_fen, available_fen,"
                " withdrawing_fen, lifetime_earned_fen, updated_at)"
                " VALUES (%s, 0, 100000, 0, 100000, %s)",
                [(row[0], now) for row in batch],
            )
        print(f"  {users:,} users, {distributors:,} distributors", flush=True)

        def withdrawal_rows() -> Iterator[tuple]:
            for i in range(1, withdrawals + 1):
                status = weighted(STATUSES, rng)
                method = weighted(METHODS, rng)
                amount = rng.randrange(1000, 500000)
                created = now - timedelta(seconds=(withdrawals - i) * 30)
                yield (
                    rng.randrange(1, distributors + 1),
                    amount,
                    0,
                    amount,
                    method,
                    "v3" if method == "wechat" else None,
                    "",
                    "微信零钱" if method == "wechat" else "尾号 1234",
                    status,
                    f"B{uuid.uuid4().hex[:24]}",
                    "",
                    0,
                    created,
                )

        for batch in batches(withdrawal_rows()):
            cur.executemany(
                "INSERT INTO withdrawals (user_id, amount_fen, fee_fen, net_fen, method,"
                " payout_api, account_encrypted, account_masked, status, payout_no,"
                " review_note, attempts, created_at)"
                " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                batch,
            )
        print(f"  {withdrawals:,} withdrawals ({time.perf_counter() - started:.0f} s)", flush=True)

        def order_rows() -> Iterator[tuple]:
            span = 60 * 86400
            for i in range(1, orders + 1):
                created = now - timedelta(seconds=span * (orders - i) / orders)
                goods = rng.randrange(990, 59900)
                paid = rng.random() < 0.9
                status = rng.choice(("paid", "shipped", "completed")) if paid else "closed"
                yield (
                    f"{i:024d}",
                    rng.randrange(1, users + 1),
                    status,
                    goods,
                    0,
                    0,
                    goods,
                    goods if paid else 0,
                    0,
                    "wechat" if paid else None,
                    created if paid else None,
                    created if paid else None,
                    "张三",
                    "13900139000",
                    "上海市 浦东新区",
                    "世纪大道 100 号",
                    "",
                    created,
                    created + timedelta(minutes=30),
                )

        for number, batch in enumerate(batches(order_rows()), start=1):
            cur.executemany(
                "INSERT INTO orders (order_no, user_id, status, goods_fen, shipping_fen,"
                " discount_fen, payable_fen, paid_fen, refunded_fen, pay_channel, paid_at,"
                " attributed_at, receiver_name, receiver_phone, receiver_region,"
                " receiver_detail, remark, created_at, expires_at)"
                " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                batch,
            )
            if number % 40 == 0:
                print(f"  {number * BATCH:,} orders", flush=True)
        print(f"  {orders:,} orders ({time.perf_counter() - started:.0f} s)", flush=True)
        # What attribution adds order by order, in one statement: the merchant's day
        # (UTC+8, China has no DST) and the shard of each paid order.
        cur.execute(
            "INSERT INTO daily_stats (day, shard, paid_orders, paid_fen)"
            " SELECT DATE(paid_at + INTERVAL 8 HOUR), id % 8, COUNT(*), SUM(paid_fen)"
            " FROM orders WHERE paid_at IS NOT NULL GROUP BY 1, 2"
        )
        cur.execute("ANALYZE TABLE orders, withdrawals, daily_stats, skus")
    conn.close()


def timed(client, url: str, requests: int) -> list[float]:  # type: ignore[no-untyped-def]
    for _ in range(3):  # warm-up: templates compiled, pool filled, buffer pool warm
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        response.get_data()
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return samples


def check_dashboard(client, database: Database) -> str:  # type: ignore[no-untyped-def]
    """The dashboard's 30-day paid orders against a scan of the orders (untimed)."""
    html = client.get("/panel/").get_data(as_text=True)
    match = re.search(
        r"<span>Paid orders</span>\s*<b>([\d,]+)</b>\s*<small[^>]*>today · 7 days "
        r"<em>([\d,]+)</em> · 30 days <em>([\d,]+)</em>",
        html,
    )
    assert match, "the dashboard has no paid-orders card"
    shown = int(match.group(3).replace(",", ""))
    conn = database.connect()
    with conn.cursor() as cur:
        cur.execute(
            "SELECT COUNT(*) FROM orders WHERE paid_at IS NOT NULL"
            " AND DATE(paid_at + INTERVAL 8 HOUR) >= DATE(UTC_TIMESTAMP() + INTERVAL 8 HOUR)"
            " - INTERVAL 29 DAY"
        )
        scanned = cur.fetchone()[0]
    conn.close()
    mark = "ok" if shown == scanned else "MISMATCH"
    return f"[{mark}] dashboard 30-day paid orders {shown:,} = scan of orders {scanned:,}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", default="mysql+pymysql://root@127.0.0.1:3306")
    parser.add_argument("--withdrawals", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    options = parser.parse_args()

    from config import load_settings
    from wxdist import create_app

    database = Database(options.server, f"wxdist_bench_panel_{uuid.uuid4().hex[:8]}")
    database.create()
    print(f"wxdist panel bench: database {database.name}", flush=True)
    try:
        settings = load_settings({"DATABASE_URL": database.url})
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": database.url,
                "SQLALCHEMY_ENGINE_OPTIONS": settings["SQLALCHEMY_ENGINE_OPTIONS"],
                "REDIS_URL": None,
                "INLINE_JOBS": True,
            }
        )
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
        logging.disable(logging.INFO)
        started = time.perf_counter()
        seed(database, options.users, options.withdrawals, options.orders, options.seed)
        print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)

        from tests.panel_helpers import staff_client

        client = staff_client(app, "owner", "bench-owner")
        pages = [
            ("dashboard", "dashboard", "/panel/"),
            ("withdrawals", "withdrawals, newest first", "/panel/withdrawals"),
            (
                "withdrawals",
                "withdrawals, pending review",
                "/panel/withdrawals?status=pending_review",
            ),
            (
                "withdrawals",
                "withdrawals, bank + approved",
                "/panel/withdrawals?method=bank&status=approved",
            ),
            ("withdrawals", "withdrawals, alipay", "/panel/withdrawals?method=alipay"),
            ("withdrawals", "withdrawals, page 100", "/panel/withdrawals?page=100"),
            ("", "orders, newest first (info)", "/panel/orders"),
            ("", "commission records (info)", "/panel/commissions"),
        ]
        print(f"\n{'page':40} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}  target")
        failures = 0
        for target_key, label, url in pages:
            if not _served(app, url):
                print(f"{label:40} {'(page not served)':>28}")
                continue
            samples = timed(client, url, options.requests)
            p95 = statistics.quantiles(samples, n=20)[18]
            verdict = ""
            if target_key:
                limit = TARGETS_MS[target_key]
                ok = p95 < limit
                failures += not ok
                verdict = f"p95 < {limit:.0f} ms -> {'PASS' if ok else 'FAIL'}"
            print(
                f"{label:40} {statistics.median(samples):10.1f} {p95:8.1f} "
                f"{max(samples):8.1f}  {verdict}"
            )
        print()
        print(check_dashboard(client, database))
        return 1 if failures else 0
    finally:
        if not options.keep:
            database.drop()


def _served(app, url: str) -> bool:  # type: ignore[no-untyped-def]
    path = url.split("?")[0]
    adapter = app.url_map.bind("localhost")
    try:
        adapter.match(path, method="GET")
    except Exception:
        return False
    return True


if __name__ == "__main__":
    raise SystemExit(main())
