"""Recommendation refresh benchmark: every approved distributor's top 50 recomputed and
stored, on MariaDB (never part of the test suite).

Run from the repository root (MariaDB at 127.0.0.1:3306 as root):

    .venv/bin/python bench/recommend_refresh.py [--items 200000] [--products 2000]
                                                [--keep-db NAME]

On a fresh database `wxdist_bench_<random>` (dropped at the end unless `--keep-db`), it
migrates, seeds `--products` products in 20 categories and a history of `--items` order
lines with the generator of wxdist/cli/demo_history.py (audiences with tastes, bundles,
a Zipf skew), with one approved distributor per 100 order lines, the density of the
target (50,000 distributors over 5,000,000 order lines), then times
`wxdist.recommendations.refresh.refresh_all` (the job's own code) twice: the shared
signals (grow with the order lines) and the per-batch ranking and writes (grow with the
distributors). It prints both and their linear extrapolation to the target; the target
is 10 minutes on this 2-core machine. Full size: `--items 5000000 --products 20000`
(the seed then takes long; the refresh is what is timed).
"""

from __future__ import annotations

import argparse
import random
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._harness import Database, app_context, app_env, free_port, migrate  # noqa: E402

TARGET_ITEMS, TARGET_DISTRIBUTORS, TARGET_SECONDS = 5_000_000, 50_000, 600
ITEMS_PER_DISTRIBUTOR = TARGET_ITEMS // TARGET_DISTRIBUTORS


def _seed(products: int, items: int) -> None:
    from wxdist.cli.demo_history import HistorySpec, seed_history
    from wxdist.core.extensions import db
    from wxdist.models import Category, Product, Sku

    rng = random.Random(16)
    categories = []
    for c in range(20):
        category = Category(name=f"品类{c + 1}", sort=c)
        db.session.add(category)
        categories.append(category)
    db.session.flush()
    for n in range(products):
        db.session.add(
            Product(
                category_id=categories[n % 20].id, title=f"商品{n + 1}", on_shelf=True,
                skus=[Sku(name="标准", price_fen=rng.randint(990, 39900), stock=1000)],
            )
        )  # fmt: skip
    db.session.commit()
    distributors = max(1, items // ITEMS_PER_DISTRIBUTOR)
    # ~1.3 lines an order, 2 orders a shopper: items / 2.6 shoppers, 60 % of them bound.
    shoppers = items / 2.6
    history = seed_history(
        HistorySpec(
            distributors=distributors,
            shoppers_per_distributor=max(1, round(0.6 * shoppers / distributors)),
            unbound_shoppers=round(0.4 * shoppers), orders_per_shopper=2.0, days=180,
            affinity=0.7, bundle_rate=0.3, zipf=1.1, seed=16, prefix="rb",
        )
    )  # fmt: skip
    print(
        f"seeded {products} products, {history.distributors} distributors, "
        f"{history.shoppers} shoppers, {history.orders} orders, {history.items} order lines"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--keep-db", help="create (or reuse) and keep this database")
    args = parser.parse_args()
    name = args.keep_db or f"wxdist_bench_{secrets.token_hex(4)}"
    db = Database("mysql+pymysql://root@127.0.0.1:3306", name)
    exists = False
    if args.keep_db:
        with db.cursor(use_db=False) as cur:
            exists = bool(cur.execute("SHOW DATABASES LIKE %s", (name,)))
    if not exists:
        db.create()
    try:
        if not exists:
            migrate(app_env(db, free_port(), "http://127.0.0.1:9"))
        with app_context(db):
            from sqlalchemy import func, select

            from wxdist.core.extensions import db as sa
            from wxdist.models import OrderItem
            from wxdist.recommendations.refresh import refresh_all

            if not exists:
                started = time.monotonic()
                _seed(args.products, args.items)
                print(f"seed: {time.monotonic() - started:.0f} s")
            items = sa.session.scalar(select(func.count()).select_from(OrderItem)) or 1
            for run in (1, 2):
                result = refresh_all()
                scans = result.model_seconds + result.tables_seconds  # grow with the lines
                ranking = result.seconds - scans
                print(f"refresh {run}: {result.summary()}")
            scaled = scans * TARGET_ITEMS / items + ranking * (
                TARGET_DISTRIBUTORS / max(result.distributors, 1)
            )
            verdict = "within" if scaled <= TARGET_SECONDS else "OVER"
            print(
                f"extrapolated to {TARGET_DISTRIBUTORS:,} distributors and {TARGET_ITEMS:,} "
                f"order lines: {scaled:.0f} s ({verdict} the {TARGET_SECONDS} s target)"
            )
    finally:
        if not args.keep_db:
            db.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
