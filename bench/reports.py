"""Reports benchmark: the distributor centre's trend and funnel and the merchant's
performance report read from the report aggregates on MariaDB (never part of the suite).

Run from the repository root (MariaDB at 127.0.0.1:3306 as root):

    .venv/bin/python bench/reports.py [--distributors 50000] [--days 90] [--active 10000]
                                      [--products 2000] [--codes 200] [--requests 40]
                                      [--keep-db NAME]

What it does: on a fresh database `wxdist_bench_<random>` (dropped at the end unless
`--keep-db` names one to create and keep, or reuse when it exists), migrates, and writes
the aggregate rows a shop of that size leaves (`wxdist.models.report`): `--distributors`
approved distributors, each of the last `--days` days with `--active` of them selling
(report_daily and report_monthly beside it; 10,000 a day is what 5,000,000 order items
over a year to 50,000 distributors give, counting second-level beneficiaries), the
merchant shards per day, channel and `--products` products, and one distributor with
`--codes` share codes and figures every day. The aggregates are the only thing the reports
read, so the order history itself is not generated (bench/insight.py seeds it in full and
checks the same targets through the real write path).

Then, in process (the Flask test client, one request at a time, so a figure is the
request's own), `--requests` times each: the distributor's trend (30 and 90 days),
channels, top products and funnel through the API (target p95 < 50 ms), and the panel's
performance page (target p95 < 300 ms) for this month (the monthly rows), the last 30 days
and the last 90 days (the daily rows, grouped), sorted by sales and by conversion, page 1
and 50, and the channels-and-products page. Prints p50 / p95 / max ms per phase.
"""

from __future__ import annotations

import argparse
import random
import re
import secrets
import sys
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._harness import Database, app_context, app_env, free_port, migrate  # noqa: E402

CHANNELS = ("", "group", "moments", "chat", "live")
COUNTERS = ("orders", "paid_fen", "refunds", "refunded_fen", "commission_fen",
            "commission_clawed_fen")  # fmt: skip
CHUNK = 5_000


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _figures(rng: random.Random, orders: int) -> dict[str, int]:
    paid = sum(rng.randint(2_000, 40_000) for _ in range(orders))
    refunded = paid // 5 if rng.random() < 0.1 else 0
    commission = paid // 10
    return {
        "orders": orders,
        "paid_fen": paid,
        "refunds": 1 if refunded else 0,
        "refunded_fen": refunded,
        "commission_fen": commission,
        "commission_clawed_fen": refunded // 10,
    }


def _insert(table: Any, rows: list[dict[str, Any]]) -> None:
    from sqlalchemy import insert

    from wxdist.core.extensions import db

    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(table), rows[start : start + CHUNK])
        db.session.commit()


def _seed(db: Database, args: argparse.Namespace) -> tuple[str, str]:
    """The aggregate rows, an owner to sign in to the panel; returns the token of the
    distributor with share codes and the owner's username."""
    from wxdist.accounts.auth import issue_token
    from wxdist.accounts.staff import create_staff
    from wxdist.core.extensions import db as sa
    from wxdist.models import Distributor, Product, ShareCode, User
    from wxdist.models.report import (
        ReportChannelDaily,
        ReportDaily,
        ReportMonthly,
        ReportProductDaily,
        ReportShareCode,
    )
    from wxdist.models.types import utcnow
    from wxdist.reporting import reports

    rng = random.Random(16)
    started = time.perf_counter()
    with app_context(db):
        now = utcnow()
        tag = secrets.token_hex(3)
        _insert(
            User.__table__,
            [
                {"openid": f"rep-{tag}-{n}", "nickname": f"分销员{n}"}
                for n in range(args.distributors)
            ],
        )
        ids = list(sa.session.scalars(sa.select(User.id).order_by(User.id)))[-args.distributors :]
        _insert(
            Distributor.__table__,
            [
                {"user_id": uid, "status": "approved", "real_name": f"王{uid}", "approved_at": now}
                for uid in ids
            ],
        )
        _insert(
            Product.__table__,
            [{"title": f"商品 {n}", "on_shelf": True} for n in range(max(args.products, 5))],
        )
        products = list(sa.session.scalars(sa.select(Product.id)))
        print(f"seeded users, distributors, products in {time.perf_counter() - started:.1f} s")
        today = reports.today()
        star = ids[0]
        daily: list[dict[str, Any]] = []
        monthly: dict[tuple[date, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        shard_rows: list[dict[str, Any]] = []
        for back in range(args.days):
            day = today - timedelta(days=back)
            sellers = set(rng.sample(ids, args.active)) | {star}
            shards: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            for uid in sellers:
                figures = _figures(rng, rng.randint(1, 3))
                figures["new_members"] = rng.randint(0, 3)
                daily.append({"day": day, "distributor_id": uid, **figures})
                month = monthly[(day.replace(day=1), uid)]
                shard = shards[-(1 + uid % 8)]
                for name, value in figures.items():
                    month[name] += value
                    shard[name] += value
            for shard_id, figures in shards.items():
                daily.append({"day": day, "distributor_id": shard_id, **figures})
                month = monthly[(day.replace(day=1), shard_id)]
                for name, value in figures.items():
                    month[name] += value
                for channel in CHANNELS:
                    part = {k: v // len(CHANNELS) for k, v in figures.items() if k in COUNTERS}
                    shard_rows.append(
                        {"distributor_id": shard_id, "day": day, "channel": channel, **part}
                    )
        _insert(ReportDaily.__table__, daily)
        _insert(
            ReportMonthly.__table__,
            [{"month": m, "distributor_id": d, **f} for (m, d), f in monthly.items()],
        )
        _insert(ReportChannelDaily.__table__, shard_rows)
        product_rows = []
        for back in range(args.days):
            day = today - timedelta(days=back)
            for shard_id in range(-8, 0):
                for product_id in rng.sample(products, min(len(products), 100)):
                    figures = _figures(rng, 1)
                    figures.pop("refunds")
                    product_rows.append(
                        {"distributor_id": shard_id, "day": day, "product_id": product_id,
                         **figures}
                    )  # fmt: skip
            for product_id in rng.sample(products, min(len(products), 5)):
                figures = _figures(rng, 1)
                figures.pop("refunds")
                product_rows.append(
                    {"distributor_id": star, "day": day, "product_id": product_id, **figures}
                )
            for channel in CHANNELS[:3]:
                shard_rows = [{"distributor_id": star, "day": day, "channel": channel,
                               **_figures(rng, 1)}]  # fmt: skip
                _insert(ReportChannelDaily.__table__, shard_rows)
        _insert(ReportProductDaily.__table__, product_rows)
        codes = [
            {
                "scene": f"b{tag}{n}",
                "distributor_id": star,
                "product_key": n,
                "channel": CHANNELS[n % len(CHANNELS)],
                "scans": rng.randint(0, 500),
                "opens": rng.randint(0, 300),
                "binds": rng.randint(0, 100),
                "created_at": now,
            }
            for n in range(args.codes)
        ]
        _insert(ShareCode.__table__, codes)
        _insert(
            ReportShareCode.__table__,
            [
                {"share_code_id": code_id, "orders": rng.randint(0, 40),
                 "paid_fen": rng.randint(0, 400_000), "refunded_fen": 0}
                for code_id in sa.session.scalars(
                    sa.select(ShareCode.id).where(ShareCode.distributor_id == star)
                )
            ],
        )  # fmt: skip
        create_staff(f"bench{tag}", "bench-password-2026", "owner", "老板")
        user = sa.session.get(User, star)
        token = issue_token(user)
        print(
            f"seeded {len(daily):,} daily rows, {len(monthly):,} monthly rows in "
            f"{time.perf_counter() - started:.1f} s"
        )
        return token, f"bench{tag}"


def _time(client: Any, url: str, requests: int, **kwargs: Any) -> list[float]:
    response = client.get(url, **kwargs)
    if response.status_code != 200:
        raise RuntimeError(f"{url}: {response.status_code}")
    taken = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url, **kwargs)
        taken.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code}")
    return taken


def _measure(db: Database, token: str, staff: str, requests: int) -> None:
    from wxdist.reporting import reports

    with app_context(db) as app:
        api = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        panel = app.test_client()
        page = panel.get("/panel/login").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert csrf, "no CSRF token on the login page"
        signed = panel.post(
            "/panel/login",
            data={"username": staff, "password": "bench-password-2026", "csrf_token": csrf[1]},
        )
        assert signed.status_code == 302, signed.status_code
        today = reports.today()

        def days(n: int) -> str:
            return f"first={(today - timedelta(days=n - 1)).isoformat()}&last={today.isoformat()}"

        phases = [
            ("trend 30 days", 50, api, "/api/v1/distributor/reports/trend?days=30"),
            ("trend 90 days", 50, api, "/api/v1/distributor/reports/trend?days=90"),
            ("channels 90 days", 50, api, "/api/v1/distributor/reports/channels?days=90"),
            ("top products 90", 50, api, "/api/v1/distributor/reports/products?days=90"),
            ("funnel p1", 50, api, "/api/v1/distributor/reports/funnel"),
            ("funnel p5", 50, api, "/api/v1/distributor/reports/funnel?page=5"),
            ("perf this month", 300, panel, "/panel/reports"),
            ("perf month p50", 300, panel, "/panel/reports?page=50"),
            ("perf month conv", 300, panel, "/panel/reports?sort=conversion"),
            ("perf 30 days", 300, panel, f"/panel/reports?{days(30)}"),
            ("perf 30d conv p50", 300, panel, f"/panel/reports?{days(30)}&sort=conversion&page=50"),
            ("perf 90 days", 300, panel, f"/panel/reports?{days(90)}"),
            ("contribution 30d", 300, panel, f"/panel/reports/contribution?{days(30)}"),
        ]
        print(f"{'phase':<22}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'target':>9}")
        for name, target, client, url in phases:
            kwargs = {"headers": headers} if client is api else {}
            taken = _time(client, url, requests, **kwargs)
            p95 = _percentile(taken, 0.95)
            print(
                f"{name:<22}{_percentile(taken, 0.5):>9.1f}{p95:>9.1f}{max(taken):>9.1f}"
                f"{'< ' + str(target):>9}{'' if p95 < target else '  OVER'}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--distributors", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--active", type=int, default=10_000)
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--codes", type=int, default=200)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--keep-db", default="")
    parser.add_argument("--mysql-url", default="mysql+pymysql://root@127.0.0.1:3306")
    args = parser.parse_args(argv)
    args.active = min(args.active, args.distributors)
    db = Database(args.mysql_url, args.keep_db or f"wxdist_bench_{secrets.token_hex(4)}")
    keep = ROOT / "instance" / f"{db.name}.reports"
    try:
        import pymysql

        conn = pymysql.connect(**db._server())
        with conn.cursor() as cur:
            exists = cur.execute("SHOW DATABASES LIKE %s", (db.name,))
        conn.close()
        if not exists:
            db.create()
            migrate(app_env(db, free_port(), "http://127.0.0.1:9"))
            token, staff = _seed(db, args)
            if args.keep_db:
                keep.parent.mkdir(exist_ok=True)
                keep.write_text(f"{token}\n{staff}\n")
        else:
            token, staff = keep.read_text().split()
        _measure(db, token, staff, args.requests)
    finally:
        if not args.keep_db:
            db.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
