"""Incentive campaigns benchmark: what a rate boost's budget counter costs attribution
under concurrency, and how long a bonus leaderboard takes to rank.

Run (from the repository root; needs MariaDB at 127.0.0.1:3306 as root without password):

    .venv/bin/python bench/incentives.py [--users 20000] [--orders 2000] [--threads 8]
                                         [--batch 50] [--board-calls 20] [--keep-db]

Not part of the test run. On one fresh database (`wxdist_inc_<random>`, dropped at the end
unless `--keep-db`), built with bench/attribution.py's loaders: the migrations, a referral
forest of `--users` users (every referrer an approved distributor; 10 % / 5 % default
rates), one product, then, per phase, `--orders` paid unattributed orders for distinct
buyers at depth >= 2 inserted with SQL.

1. **Plain**: the orders attributed by `--threads` threads at once, each taking batches of
   `--batch` ids and calling `commissions.attribute_many` in an app context of its own, as
   concurrent RQ drains do. Orders per second.
2. **Boost**: a store-wide boost (+5 %, budget for half of the extras) is active; the same
   with new orders. Every batch that boosts a record holds the campaign's row from its
   reservation to its commit, so batches queue on it: orders per second against phase 1
   is the price of the budget counter. Checks: spent <= budget, records named = extras
   reserved, `flask reconcile`'s checks clean.
3. **Leaderboard**: a bonus campaign whose window holds every order; median and max of
   `--board-calls` calls of `leaderboard.board` (all referrers ranked, top 50 named) and
   of one distributor's `leaderboard.progress`.

Target (ours, not the issue's): phase 2 at least half of phase 1's orders per second;
leaderboard median under 200 ms at the default size. Exit status 1 on a failed check.
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from datetime import timedelta

import attribution as base  # bench/attribution.py: database, forest and order loaders

from wxdist.models.types import utcnow


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--orders", type=int, default=2_000, help="orders per phase")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--board-calls", type=int, default=20)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--seed", type=int, default=20261203)
    return parser.parse_args(argv)


def attribute_concurrently(app, order_ids: list[int], threads: int, batch: int) -> float:  # type: ignore[no-untyped-def]
    """Seconds to attribute `order_ids` with `threads` workers taking `batch` ids at a time."""
    from wxdist.distribution.commissions import attribute_many

    chunks = [order_ids[i : i + batch] for i in range(0, len(order_ids), batch)]
    lock = threading.Lock()
    failed: list[int] = []

    def work() -> None:
        while True:
            with lock:
                if not chunks:
                    return
                chunk = chunks.pop()
            with app.app_context():
                outcome = attribute_many(chunk)
            failed.extend(outcome.failed + outcome.parked)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if failed:
        print(f"  !! {len(failed)} orders failed attribution")
    return elapsed


def timed(call, n: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append(1000 * (time.perf_counter() - started))
    return statistics.median(samples), max(samples)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    options = base.parse_args(["--large", "0", "--small", str(args.users)])
    rnd = random.Random(args.seed)
    database = base.Database(options, f"wxdist_inc_{secrets.token_hex(4)}", options.loader)
    problems: list[str] = []
    try:
        database.create()
        app = base.make_app(database)
        base.migrate(app)
        product_id, sku_id = base.seed_catalogue(app)
        forest = base.build_forest(args.users, rnd)
        base.load_forest(database, forest, base.LoadReport())
        buyers = base.pick_buyers(forest, 2 * args.orders, rnd)
        plain_ids = base.insert_paid_orders(
            database, buyers[: args.orders], 1, product_id, sku_id, "P"
        )
        print(f"phase 1, plain: attributing {len(plain_ids)} orders", flush=True)
        plain_s = attribute_concurrently(app, plain_ids, args.threads, args.batch)

        from sqlalchemy import func, select

        from wxdist.core.extensions import db
        from wxdist.incentives import campaigns, leaderboard
        from wxdist.models import Commission, IncentiveCampaign
        from wxdist.reporting.reconcile import check_all

        now = utcnow()
        extra_each = base.apply_rate(base.PRICE_FEN, 1500) - base.apply_rate(base.PRICE_FEN, 1000)
        budget = extra_each * args.orders // 2
        with app.app_context():
            boost_id = campaigns.create(
                campaigns.CampaignIn(
                    "基准加佣",
                    "boost",
                    now - timedelta(days=1),
                    now + timedelta(days=1),
                    rate_bp=500,
                    budget_fen=budget,
                    activate=True,
                )
            ).id
        boost_ids = base.insert_paid_orders(
            database, buyers[args.orders :], plain_ids[-1] + 1, product_id, sku_id, "B"
        )
        print(f"phase 2, boost: attributing {len(boost_ids)} orders", flush=True)
        boost_s = attribute_concurrently(app, boost_ids, args.threads, args.batch)
        with app.app_context():
            spent = db.session.get(IncentiveCampaign, boost_id).spent_fen
            named, extra = db.session.execute(
                select(
                    func.count(), func.coalesce(func.sum(Commission.campaign_extra_fen), 0)
                ).where(Commission.campaign_id == boost_id)
            ).one()
            if spent > budget or spent != extra:
                problems.append(f"boost spent {spent} of {budget}, records carry {extra}")
            problems += check_all()
            bonus = campaigns.create(
                campaigns.CampaignIn(
                    "基准奖金",
                    "bonus",
                    now - timedelta(days=1),
                    now + timedelta(days=1),
                    tiers=((base.PRICE_FEN, 100), (10 * base.PRICE_FEN, 1000)),
                    activate=True,
                )
            )
            board_ms = timed(lambda: leaderboard.board(bonus), args.board_calls)
            someone = leaderboard.board(bonus, top=1).rows[0].user_id
            mine_ms = timed(lambda: leaderboard.progress(bonus, someone), args.board_calls)
            ranked = leaderboard.board(bonus).total

        plain_rate, boost_rate = len(plain_ids) / plain_s, len(boost_ids) / boost_s
        print(
            f"\n=== {args.users:,} users, {args.orders:,} orders per phase, "
            f"{args.threads} threads x batches of {args.batch}"
        )
        print(f"plain attribution   {plain_rate:8.0f} orders/s  ({plain_s:.1f} s)")
        print(
            f"boost attribution   {boost_rate:8.0f} orders/s  ({boost_s:.1f} s), "
            f"{named:,} records boosted, spent {spent:,} of {budget:,} fen"
        )
        verdict = "PASS" if boost_rate >= plain_rate / 2 else "MISS"
        print(f"  boost / plain     {boost_rate / plain_rate:8.2f}x   (target >= 0.5x) {verdict}")
        verdict = "PASS" if board_ms[0] < 200 else "MISS"
        print(
            f"leaderboard         median {board_ms[0]:.1f} ms, max {board_ms[1]:.1f} ms "
            f"({ranked:,} ranked) {verdict}"
        )
        print(f"one's progress      median {mine_ms[0]:.1f} ms, max {mine_ms[1]:.1f} ms")
        for problem in problems[:20]:
            print(f"  !! {problem}")
        return 1 if problems else 0
    finally:
        if not args.keep_db:
            database.drop()


if __name__ == "__main__":
    sys.exit(main())
