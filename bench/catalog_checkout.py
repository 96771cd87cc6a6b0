"""The cart-checkout phase of bench/catalog.py: POST /api/v1/cart/checkout under wrk, each
request a real checkout that creates an order.

Set-up, in bulk and untimed, on the catalogue bench's database:

- `shoppers` users (INSERT ... SELECT from MariaDB's sequence engine) and a token each,
  signed with the app's SECRET_KEY as `wxdist.accounts.auth.issue_token` signs one (the
  bench gives the app a random key), so no login round trip per shopper;
- a pool of SKUS_IN_POOL on-sale SKUs (active, on-shelf products, drawn at random), their
  stock raised to AMPLE_STOCK so no checkout is refused for stock;
- each shopper's cart: 1-3 selected lines of distinct pool SKUs, quantity 1-2
  (LOAD DATA LOCAL INFILE into cart_lines).

The requests: one record per shopper (its own Authorization header), an inline address
with a `region_code` (浦东新区), so the shipping step matches a district. wrk sends each
record at most once (`once`), so every measured request checks out a cart that still has
its lines. The first WARMUP shoppers check out through Python first, then WARM_SECONDS of
wrk over the next WARM_SHOPPERS warm the server and the buffer pool, as each listing phase
is warmed (both untimed, on shoppers of their own). A 201 is a success, anything else an
error (reported by status and code). If the records run out before the time is up the
phase is shorter and the line says so.

Checks afterwards: orders of the bench shoppers = 201 answers (warm-up included), and
every shopper who got a 201 has an empty cart while the others keep theirs.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

from bench._harness import (
    Check,
    Database,
    PhaseResult,
    Pool,
    Shopper,
    run_wrk,
    signed_tokens,
    write_records,
)

PATH = "/api/v1/cart/checkout"
JSON = "application/json"
FIRST_USER_ID = 1001  # the catalogue seed's orders belong to user 1
SKUS_IN_POOL = 5000
AMPLE_STOCK = 1_000_000
WARMUP = 40  # checkouts through Python first, to see the path works
WARM_SECONDS = 2
WARM_SHOPPERS = 2000  # records for the warm-up (wrk sends what it can in WARM_SECONDS)
BODY = json.dumps(
    {
        "address": {
            "name": "张三",
            "phone": "13800138000",
            "region": "上海市 浦东新区",
            "detail": "世纪大道 100 号",
            "region_code": "310115",
        }
    },
    ensure_ascii=False,
    separators=(",", ":"),
).encode()


@dataclass
class CheckoutBench:
    db: Database
    secret_key: str
    shoppers: int
    lines_seeded: int = 0
    untimed: int = 0  # checkouts placed before the timed phase (first ones, warm-up)
    prepared: int = 0

    def seed(self, load) -> list[Shopper]:  # type: ignore[no-untyped-def]
        """Users, their tokens and carts; `load(table, columns, rows)` bulk-loads rows."""
        rng = random.Random(17)
        last = FIRST_USER_ID + self.shoppers - 1
        with self.db.cursor() as cur:
            cur.execute(
                "INSERT INTO users (id, openid, nickname, avatar_url, token_version,"
                " paid_orders, paid_spend_fen, created_at, last_login_at)"
                " SELECT seq, CONCAT('bench-cart-', seq), '购物车压测', '', 1, 0, 0, NOW(6),"
                f" NOW(6) FROM seq_{FIRST_USER_ID}_to_{last}"
            )
            cur.execute(
                "SELECT s.id FROM skus s JOIN products p ON p.id = s.product_id"
                " WHERE s.is_active = 1 AND p.on_shelf = 1 ORDER BY RAND(17) LIMIT %s",
                (SKUS_IN_POOL,),
            )
            pool = [int(row[0]) for row in cur.fetchall()]
            cur.execute(
                "UPDATE skus SET stock = %s WHERE id IN (" + ",".join(map(str, pool)) + ")",
                (AMPLE_STOCK,),
            )
        now = time.strftime("%Y-%m-%d %H:%M:%S")
        rows = [
            (user_id, sku_id, rng.randint(1, 2), 1, now, now)
            for user_id in range(FIRST_USER_ID, last + 1)
            for sku_id in rng.sample(pool, rng.randint(1, 3))
        ]
        self.lines_seeded = load(
            "cart_lines", "user_id, sku_id, quantity, selected, created_at, updated_at", rows
        )
        return signed_tokens(self.secret_key, range(FIRST_USER_ID, last + 1))

    def run(
        self,
        shoppers: list[Shopper],
        base_url: str,
        connections: int,
        seconds: int,
        workdir: Path,
        cpu_groups: dict[str, list[int]],
    ) -> PhaseResult:
        pool = Pool(base_url, connections)
        first = shoppers[:WARMUP]
        answers = pool.executor.map(lambda s: pool.post(PATH, BODY, JSON, s.auth), first)
        codes = [a.status_code for a in answers]
        pool.close()
        if any(code != 201 for code in codes):
            raise RuntimeError(f"first checkouts answered {codes}")
        self.untimed = len(first)
        # Warmed under load as every listing phase is (WARM_SECONDS of wrk on shoppers of
        # their own): the first seconds of checkouts read the SKUs', products' and order
        # indexes' pages into the buffer pool, which the ceiling's one hot row never needs.
        warm = [(PATH, JSON, s.auth, BODY) for s in shoppers[WARMUP : WARMUP + WARM_SHOPPERS]]
        warm_path = workdir / "cart-checkout-warm.tsv"
        write_records(warm_path, warm)
        warmed = run_wrk(
            "cart-checkout-warm",
            base_url,
            warm_path,
            connections,
            workdir,
            seconds=WARM_SECONDS,
            once=True,
            cpu_groups=cpu_groups,
        )
        warmed.count_as_ok(lambda outcome: outcome.startswith("201"))
        if warmed.errors:
            raise RuntimeError(f"warm-up checkouts answered {warmed.outcomes}")
        self.untimed += warmed.ok
        records = [(PATH, JSON, s.auth, BODY) for s in shoppers[WARMUP + WARM_SHOPPERS :]]
        self.prepared = len(records)
        path = workdir / "cart-checkout.tsv"
        write_records(path, records)
        result = run_wrk(
            "cart-checkout",
            base_url,
            path,
            connections,
            workdir,
            seconds=seconds,
            once=True,
            cpu_groups=cpu_groups,
        )
        result.count_as_ok(lambda outcome: outcome.startswith("201"))
        ran_out = result.sent >= self.prepared
        print(
            f"cart-checkout: {result.ok} orders in {result.duration_s:.1f} s, {result.sent} of "
            f"{self.prepared} prepared requests sent"
            + (" (ran out before the time was up: raise --shoppers)" if ran_out else "")
            + f"; answers {result.outcomes}; {result.cpu}"
        )
        return result

    def check(self, result: PhaseResult) -> list[Check]:
        placed = int(
            self.db.scalar("SELECT COUNT(*) FROM orders WHERE user_id >= %s", (FIRST_USER_ID,))
        )
        expected = self.untimed + result.ok
        emptied = int(
            self.db.scalar(
                "SELECT COUNT(*) FROM users u WHERE u.id >= %s AND NOT EXISTS"
                " (SELECT 1 FROM cart_lines c WHERE c.user_id = u.id)",
                (FIRST_USER_ID,),
            )
        )
        lines = int(
            self.db.scalar(
                "SELECT COUNT(*) FROM order_items i JOIN orders o ON o.id = i.order_id"
                " WHERE o.user_id >= %s",
                (FIRST_USER_ID,),
            )
        )
        left = int(self.db.scalar("SELECT COUNT(*) FROM cart_lines"))
        return [
            Check(
                "cart-checkout: one order per 201 answer, each cart emptied by its order",
                placed == expected == emptied,
                f"{placed} orders, {expected} answers ({self.untimed} untimed), "
                f"{emptied} carts emptied",
            ),
            Check(
                "cart-checkout: the orders' items are the lines that left the carts",
                lines + left == self.lines_seeded,
                f"{lines} order items + {left} lines still in carts = {self.lines_seeded} seeded",
            ),
        ]
