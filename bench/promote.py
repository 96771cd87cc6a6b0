"""Products-to-promote benchmark: GET /api/v1/distributor/products sorted by earning at
100,000 products on MariaDB (never part of the test suite).

Run from the repository root (MariaDB at 127.0.0.1:3306 as root, `local_infile` on):

    .venv/bin/python bench/promote.py [--products 100000] [--order-items 100000]
                                      [--requests 40] [--discounts 50] [--keep-db NAME]

What it does: on a fresh database `wxdist_bench_<random>` (dropped at the end unless
`--keep-db` names one to create and keep, or reuse when it exists), migrates and seeds
the catalogue as bench/catalog.py does (its `seed`: two SKUs a product, 95 % on shelf),
adds `--discounts` limited-time discounts in force on random SKUs and an approved
distributor, then asks the endpoint in-process (the Flask test client, one request at a
time, so a figure is the request's own) `--requests` times for each phase:
earning_desc and earning_asc, pages 1 and 50 (20 per page), and sales_desc page 1.
Prints p50 / p95 / max ms per phase.
"""

from __future__ import annotations

import argparse
import random
import secrets
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import catalog  # noqa: E402
from bench._harness import Database, app_context, app_env, free_port, migrate  # noqa: E402

PER_PAGE = 20
PHASES = (
    ("earning_desc", 1),
    ("earning_desc", 50),
    ("earning_asc", 1),
    ("earning_asc", 50),
    ("sales_desc", 1),
)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _prepare(db: Database, discounts: int) -> str:
    """Discounts in force, the programme on, one approved distributor; its token."""
    from wxdist.accounts.auth import issue_token
    from wxdist.core.extensions import db as sa
    from wxdist.distribution.settings import update_settings
    from wxdist.marketing import promotions
    from wxdist.models import Distributor, User
    from wxdist.models.types import utcnow

    rng = random.Random(17)
    with app_context(db):
        update_settings(enabled=True, level1_rate_bp=1000, level2_rate_bp=0)
        now = utcnow()
        skus = rng.sample(range(1, 2 * 100_000 + 1), discounts)
        for sku_id in skus:
            promotions.create_timed_discount(
                f"bench-{sku_id}", sku_id, now - timedelta(hours=1), now + timedelta(days=1),
                pay_rate_bp=rng.choice((5_000, 8_000, 9_500)),
            )  # fmt: skip
        user = User(openid=f"bench-promote-{secrets.token_hex(4)}")
        sa.session.add(user)
        sa.session.flush()
        sa.session.add(Distributor(user_id=user.id, status="approved", approved_at=now))
        sa.session.commit()
        return issue_token(user)


def _measure(db: Database, token: str, requests: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with app_context(db) as app:
        client = app.test_client()
        print(f"{'phase':<22}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
        for sort, page in PHASES:
            query = {"sort": sort, "page": page, "per_page": PER_PAGE}
            client.get("/api/v1/distributor/products", query_string=query, headers=headers)
            taken = []
            for _ in range(requests):
                started = time.perf_counter()
                response = client.get(
                    "/api/v1/distributor/products", query_string=query, headers=headers
                )
                taken.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200 or len(response.get_json()["items"]) != PER_PAGE:
                    raise RuntimeError(f"{sort} page {page}: {response.status_code}")
            print(
                f"{sort + ' p' + str(page):<22}{_percentile(taken, 0.5):>9.1f}"
                f"{_percentile(taken, 0.95):>9.1f}{max(taken):>9.1f}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--order-items", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--discounts", type=int, default=50)
    parser.add_argument("--keep-db", default="")
    parser.add_argument("--mysql-url", default="mysql+pymysql://root@127.0.0.1:3306")
    args = parser.parse_args(argv)
    db = Database(args.mysql_url, args.keep_db or f"wxdist_bench_{secrets.token_hex(4)}")
    workdir = Path(tempfile.mkdtemp(prefix="wxdist-bench-"))
    try:
        import pymysql

        conn = pymysql.connect(**db._server())
        with conn.cursor() as cur:
            exists = cur.execute("SHOW DATABASES LIKE %s", (db.name,))
        conn.close()
        if not exists:
            db.create()
            migrate(app_env(db, free_port(), "http://127.0.0.1:9"))
            opts = catalog.parse_args(
                ["--products", str(args.products), "--order-items", str(args.order_items)]
            )
            for step, seconds in catalog.seed(db, opts, workdir).items():
                print(f"seeded {step} in {seconds:.1f} s")
            token = _prepare(db, args.discounts)
            (workdir.parent / f"{db.name}.token").write_text(token)
        else:
            token = (workdir.parent / f"{db.name}.token").read_text()
        _measure(db, token, args.requests)
    finally:
        if not args.keep_db:
            db.drop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
