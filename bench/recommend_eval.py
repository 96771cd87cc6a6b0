"""Offline evaluation of the distributor recommendations (never part of the test suite).

Run from the repository root:

    .venv/bin/python bench/recommend_eval.py [--keep DIR] [--scale 1.0]

For each of two histories, on a fresh SQLite file (the real schema, by the migrations):

- **demo** (five histories, seeds 16-20, pooled: one is too small to tell two methods
  apart by more than one distributor): `flask seed`'s catalogue (6 products,
  wxdist/cli/demo_data.py) plus the demo extension (36 more, 42 in 6 categories,
  wxdist/cli/demo_history.py: with 6 any top 10 holds the whole catalogue and both methods
  score 100 %) and its demo history: 30 distributors, ~120 shoppers they brought, 100
  others, ~370 orders over 90 days;
- **generated**: 300 products in 12 categories (about 5 % off shelf or sold out), 400
  distributors with ~12 shoppers each and 3,000 unbound shoppers over 120 days, with
  audiences of shared tastes (favourite categories), bundles bought together, and a Zipf
  popularity skew (`--scale` multiplies distributors and shoppers).

Time split: the recommender (`wxdist.recommendations.refresh.refresh_all`, the job's own
code, reading the database) is trained on orders paid before the cut (the last quarter of
the history is the test period); the baseline "most sold overall" is the same top 10 for
everyone, the recommendable products with most units sold before the cut. Test
distributors: those with attributed paid orders after the cut.

- hit rate@10: share of test distributors with at least one product of their attributed
  orders after the cut in their top 10;
- coverage: share of the recommendable products in at least one distributor's top 10.

The verdict: the recommender ships only if it beats the baseline's hit rate on both
histories (coverage is reported beside it: the baseline's is 10 / catalogue by design).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TOP = 10


def _app(directory: Path) -> Any:
    from flask_migrate import upgrade

    from wxdist import create_app

    app = create_app(
        {
            "WXDIST_ENV": "test",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{directory / 'eval.db'}",
            "MEDIA_DIR": str(directory / "media"),
        }
    )
    with app.app_context():
        upgrade()
    return app


def _seed_demo(seed: int) -> Any:
    from wxdist.cli.demo_data import seed_demo_catalogue
    from wxdist.cli.demo_history import HistorySpec, seed_demo_extra_catalogue, seed_history

    seed_demo_catalogue()
    seed_demo_extra_catalogue()
    return seed_history(HistorySpec(seed=seed))


def _seed_generated(scale: float) -> Any:
    import random

    from sqlalchemy import update

    from wxdist.cli.demo_history import HistorySpec, seed_history
    from wxdist.core.extensions import db
    from wxdist.models import Category, Product, ProductImage, Sku

    rng = random.Random(1616)
    for c in range(20):
        category = Category(name=f"品类{c + 1}", sort=c)
        db.session.add(category)
        db.session.flush()
        for n in range(30):
            db.session.add(
                Product(
                    category_id=category.id, title=f"品类{c + 1} 商品{n + 1}", on_shelf=True,
                    images=[ProductImage(url="https://img.example/p.jpg")],
                    skus=[Sku(name="标准", price_fen=rng.randint(990, 39900), stock=1000)],
                )
            )  # fmt: skip
    db.session.commit()
    history = seed_history(
        HistorySpec(
            distributors=int(600 * scale), shoppers_per_distributor=8,
            unbound_shoppers=int(4000 * scale), orders_per_shopper=2.0, days=120,
            affinity=0.7, bundle_rate=0.3, zipf=1.1, seed=1717, prefix="gen",
        )
    )  # fmt: skip
    # After the history: some products went off shelf or sold out (never to recommend).
    ids = sorted(db.session.scalars(db.select(Product.id)))
    gone = rng.sample(ids, len(ids) // 20)
    half = len(gone) // 2
    db.session.execute(update(Product).where(Product.id.in_(gone[:half])).values(on_shelf=False))
    db.session.execute(update(Sku).where(Sku.product_id.in_(gone[half:])).values(stock=0))
    db.session.commit()
    return history


def _evaluate(history: Any) -> dict[str, Any]:
    from sqlalchemy import select

    from wxdist.core.extensions import db
    from wxdist.models import DistributorRecommendation as Row
    from wxdist.models import Order, OrderItem
    from wxdist.recommendations import signals
    from wxdist.recommendations.refresh import refresh_all

    cut = history.end - (history.end - history.start) / 4
    started = time.monotonic()
    result = refresh_all(as_of=cut)
    seconds = time.monotonic() - started
    tops: dict[int, set[int]] = {}
    for d, p in db.session.execute(
        select(Row.distributor_id, Row.product_id).where(Row.rank <= TOP)
    ):
        tops.setdefault(d, set()).add(p)
    known = signals.catalogue(signals.Window(cut))
    baseline = set(sorted(known.category, key=lambda p: (-known.units.get(p, 0), -p))[:TOP])
    bought: dict[int, set[int]] = {}
    rows = db.session.execute(
        select(Order.referrer_l1_id, OrderItem.product_id)
        .join(OrderItem, OrderItem.order_id == Order.id)
        .where(
            Order.referrer_l1_id.is_not(None),
            Order.paid_at >= cut,
            Order.status.in_(signals.PAID_STATUSES),
        )
    )
    for d, p in rows:
        bought.setdefault(d, set()).add(p)
    catalogue = set(known.category)

    def hits(top_of: Any) -> int:
        return sum(1 for d, products in bought.items() if top_of(d) & products)

    def coverage(top_sets: list[set[int]]) -> float:
        covered = set().union(*top_sets) & catalogue if top_sets else set()
        return len(covered) / len(catalogue) if catalogue else 0.0

    return {
        "history": history,
        "test_distributors": len(bought),
        "catalogue": len(catalogue),
        "refresh": result,
        "seconds": seconds,
        "rec_hits": hits(lambda d: tops.get(d, set())),
        "base_hits": hits(lambda d: baseline),
        "rec_cov": coverage(list(tops.values())),
        "base_cov": coverage([baseline]),
    }


def _run(seed: Any, directory: Path) -> dict[str, Any]:
    directory.mkdir(parents=True, exist_ok=True)
    app = _app(directory)
    with app.app_context():
        return _evaluate(seed())


def _pool(name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several histories of one kind as one: hits over all their test distributors, the
    mean coverage, summed sizes."""
    n = sum(r["test_distributors"] for r in runs) or 1
    histories = [r["history"] for r in runs]
    return {
        "name": name,
        "runs": len(runs),
        "orders": sum(h.orders for h in histories),
        "items": sum(h.items for h in histories),
        "distributors": sum(h.distributors for h in histories),
        "test_distributors": n,
        "catalogue": runs[0]["catalogue"],
        "refresh": [(r["refresh"].distributors, r["refresh"].rows, r["seconds"]) for r in runs],
        "rec_hit": sum(r["rec_hits"] for r in runs) / n,
        "base_hit": sum(r["base_hits"] for r in runs) / n,
        "rec_cov": sum(r["rec_cov"] for r in runs) / len(runs),
        "base_cov": sum(r["base_cov"] for r in runs) / len(runs),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", help="keep the SQLite files in this directory")
    parser.add_argument("--scale", type=float, default=1.0, help="of the generated history")
    parser.add_argument(
        "--demo-seeds", type=int, default=5, help="demo histories pooled (they are small)"
    )
    args = parser.parse_args()
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="recommend-eval-"))
    try:
        demo = [
            _run(lambda seed=seed: _seed_demo(seed), base / f"demo-{seed}")
            for seed in range(16, 16 + args.demo_seeds)
        ]
        generated = [_run(lambda: _seed_generated(args.scale), base / "generated")]
        results = [_pool("demo", demo), _pool("generated", generated)]
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print(f"{'history':<10} {'runs':>4} {'orders':>7} {'items':>7} {'dists':>6} {'test':>5} "
          f"{'products':>8}  {'method':<12} {'hit@10':>7} {'coverage':>8}")  # fmt: skip
    wins = []
    for r in results:
        for method, hit, cov in (
            ("recommender", r["rec_hit"], r["rec_cov"]),
            ("most sold", r["base_hit"], r["base_cov"]),
        ):
            print(f"{r['name']:<10} {r['runs']:>4} {r['orders']:>7} {r['items']:>7} "
                  f"{r['distributors']:>6} {r['test_distributors']:>5} {r['catalogue']:>8}  "
                  f"{method:<12} {hit:>7.1%} {cov:>8.1%}")  # fmt: skip
        for distributors, rows, seconds in r["refresh"]:
            print(f"{'':<10} refresh of {distributors} distributors ({rows} rows) "
                  f"in {seconds:.2f} s")  # fmt: skip
        wins.append(r["rec_hit"] > r["base_hit"] and r["rec_cov"] > r["base_cov"])
    verdict = all(wins)
    names = ", ".join(r["name"] for r, won in zip(results, wins, strict=True) if not won)
    print(
        "verdict: the recommender beats 'most sold overall' on hit rate@10 and coverage on "
        "both histories: it ships"
        if verdict
        else f"verdict: the recommender does NOT beat the baseline on: {names}; it does not ship"
    )
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
