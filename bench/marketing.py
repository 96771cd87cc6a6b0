"""Marketing benchmark: a coupon claim burst and create-order with offers, against the ceiling.

Run (from the repository root; needs MariaDB at 127.0.0.1:3306 as root without password,
and `wrk`, which `apt-get install -y wrk` provides; the script stops with a message if it is
missing):

    .venv/bin/python bench/marketing.py [--seconds 15] [--connections 32] [--claimers 2000]
                                        [--coupons 500] [--users 32] [--warmup 20]
                                        [--worker-class sync|gthread] [--keep-db]

It is never part of the test suite. The whole run takes 2 to 3 minutes with the defaults.
The method is bench/order_flow.py's (read its docstring; the shared pieces are in
bench/_harness.py): a fresh MariaDB database `wxdist_bench_<random>`, the Alembic
migrations, the app under gunicorn (2 sync workers, loopback), `wrk` with
bench/wrk_records.lua, the ceiling bench/ceiling_app.py (one transaction per request on a
hot row) under the same gunicorn settings on the same database, CPU per request from /proc
for the gunicorn workers and MariaDB, database checks at the end, the database dropped.

Set-up (untimed): two products at ¥19.90, each with one SKU: a plain one, and one with a
live limited-time discount (¥15.90) and a full reduction on its product (满¥15减¥1), both
created through the marketing services; a burst coupon template (`--coupons` in all, one per
shopper, ¥2 off) and a warm-up one; the emulator and the app started; `--claimers` shoppers
logged in through the API (in parallel, `--connections` at a time).

1. claim burst: each claimer POSTs /api/v1/coupons/<burst>/claim exactly once, with its
   own token and a claim_key, as the mini-program sends it (`wrk` can do this: the Lua
   script reads one pre-built request per line, so every request carries its own
   Authorization header; no Python client needed). An answer counts as served when it is
   201 (issued) or 409 `sold_out` / `limit_reached`; anything else is an error.
   Throughput = served answers per second. Before it, `--warmup` claimers claim from the
   warm-up template through Python (untimed).
2. create-order, plain: the first `--users` claimers place orders of the plain SKU (no
   offer applies, no coupon), rotating tokens, for `--seconds`, as in order_flow.
3. coupons claimed ahead (untimed): templates with 100 per shopper (the most a template
   allows; as many templates as needed) of ¥3 off over ¥10, stackable with promotions;
   each of the `--users` shoppers claims enough of them through the API for 1.5 x the
   plain rate x `--seconds` orders (one thread per shopper, its claims one after another).
   One POST /api/v1/orders/preview checks that the offer SKU is priced by all three offers
   and gives the payable.
4. create-order with offers: the same shoppers order the offer SKU, each request with a
   different unused coupon of its shopper and `expected_payable_fen` (a coupon locks with
   its order, so a coupon can serve one request only): the records are written in
   advance, round-robin over the shoppers, each shopper's coupons in turn, and wrk sends
   each at most once (until `--seconds` are up, or the records run out: then the line
   says so and the phase is shorter). Warm-up: `--warmup` of them through Python.
5. ceiling, as in order_flow.

Checks: the burst issued exactly `--coupons` coupons (201 answers and rows), nobody holds
two, the template has remaining 0 and issued `--coupons`, every other answer was 409
`sold_out`; orders created = 201 answers for each SKU and stock down by as much; coupons
locked or used = orders with a coupon, each locked by the order that names it, none on two
orders; every offer order has a discount, a reduction and a coupon share and pays the
previewed amount; `flask reconcile` clean; the ceiling wrote one row per success.

Reading the output: the table as in order_flow (throughput: served requests per second;
CPU ms per request of the app's gunicorn workers and of MariaDB), the answers of the burst
by status and code, then the verdicts against the issue's targets, ratios of the same run:
claim burst >= 0.5 x the ceiling's throughput with exactly `--coupons` issued and no
errors; create-order with offers >= 0.5 x the ceiling, no errors, and app CPU per request
<= 1.25 x plain create-order's. p50 / p99 are shown, not judged. Exit status 0 when every
database check passed (the verdicts do not change it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pymysql

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `config`, `wxdist` importable
    sys.path.insert(0, str(ROOT))

from bench._harness import (  # noqa: E402
    INITIAL_STOCK,
    TARGET_RATIO,
    VENV_BIN,
    Ceiling,
    Check,
    CpuMeter,
    Database,
    Gunicorn,
    PhaseResult,
    Pool,
    Service,
    Shopper,
    app_context,
    app_env,
    create_ceiling_tables,
    flask_cli,
    free_port,
    login_shoppers,
    migrate,
    order_body,
    pids_named,
    place_orders,
    print_checks,
    print_table,
    print_warnings,
    process_tree,
    require_wrk,
    run_wrk,
    seed_catalogue,
    start_service,
    wait_http,
    warn_if_busy,
    write_records,
)

LIST_FEN = 1990
PROMO_FEN = 1590  # the limited-time price of the offer SKU
REDUCTION_TIERS = [{"threshold": 1500, "off_fen": 100}]  # 满¥15减¥1
BURST_OFF_FEN = 200
COUPON_OFF_FEN, COUPON_THRESHOLD_FEN = 300, 1000  # the coupons the offer orders use
PER_USER_MAX = 100  # the most one template lets a shopper hold
TARGET_CPU_RATIO = 1.25
SERVED_CLAIMS = ("201", "409 sold_out", "409 limit_reached")
JSON = "application/json"


# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class Options:
    seconds: int
    connections: int
    gunicorn: Gunicorn
    claimers: int
    coupons: int
    users: int
    warmup: int
    mysql_url: str
    keep_db: bool


def parse_args(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        description="Benchmark a coupon claim burst and create-order with offers against a "
        "bare-Flask ceiling."
    )
    parser.add_argument("--seconds", type=int, default=15, help="length of each timed phase")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--worker-class", choices=("sync", "gthread"), default="sync", help="gunicorn worker"
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument(
        "--claimers", type=int, default=2000, help="shoppers who each claim once in the burst"
    )
    parser.add_argument("--coupons", type=int, default=500, help="coupons the burst template has")
    parser.add_argument(
        "--users", type=int, default=32, help="shoppers placing orders (the first claimers)"
    )
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per flow")
    parser.add_argument(
        "--mysql-url",
        default="mysql+pymysql://root@127.0.0.1:3306",
        help="server URL without database (user without password)",
    )
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    ns = parser.parse_args(argv)
    if min(ns.seconds, ns.connections, ns.workers, ns.users, ns.coupons) < 1:
        parser.error("--seconds, --connections, --workers, --users, --coupons must be positive")
    if ns.claimers < max(ns.users, ns.warmup):
        parser.error("--claimers must be at least --users and --warmup")
    return Options(
        seconds=ns.seconds,
        connections=ns.connections,
        gunicorn=Gunicorn(ns.workers, ns.worker_class, ns.threads),
        claimers=ns.claimers,
        coupons=ns.coupons,
        users=ns.users,
        warmup=ns.warmup,
        mysql_url=ns.mysql_url.rstrip("/"),
        keep_db=ns.keep_db,
    )


# --------------------------------------------------------------------------- seeding


def product_of(db: Database, sku_id: int) -> int:
    return int(db.scalar("SELECT product_id FROM skus WHERE id = %s", (sku_id,)))


def seed_promotions(db: Database, sku_id: int) -> None:
    """A limited-time price for `sku_id` and a full reduction on its product, live for a
    day, through the marketing services."""
    from wxdist.core.extensions import db as sa
    from wxdist.marketing.promotions import (
        ReductionSpec,
        create_full_reduction,
        create_timed_discount,
    )
    from wxdist.models.types import utcnow

    now = utcnow()
    starts, ends = now - timedelta(hours=1), now + timedelta(days=1)
    product_id = product_of(db, sku_id)
    with app_context(db):
        create_timed_discount("压测限时价", sku_id, starts, ends, price_fen=PROMO_FEN)
        create_full_reduction(
            ReductionSpec(
                "压测满减", starts, ends, REDUCTION_TIERS, scope={"product_ids": [product_id]}
            )
        )
        sa.session.commit()


def seed_templates(
    db: Database, name: str, count: int, total: int, per_user_limit: int, off_fen: int, **kw: Any
) -> list[int]:
    """`count` coupon templates open to claim for a day, through the marketing service."""
    from wxdist.core.extensions import db as sa
    from wxdist.marketing.templates import TemplateSpec, create_template
    from wxdist.models.types import utcnow

    now = utcnow()
    ids = []
    with app_context(db):
        for i in range(count):
            spec = TemplateSpec(
                name=f"{name}{i + 1}" if count > 1 else name,
                claim_starts_at=now - timedelta(hours=1),
                claim_ends_at=now + timedelta(days=1),
                total=total,
                off_fen=off_fen,
                valid_days=30,
                per_user_limit=per_user_limit,
                **kw,
            )
            ids.append(int(create_template(spec).id))
        sa.session.commit()
    return ids


# --------------------------------------------------------------------------- claims


def claim_path(template_id: int) -> str:
    return f"/api/v1/coupons/{template_id}/claim"


def claim_body(key: str) -> bytes:
    return json.dumps({"claim_key": key}, separators=(",", ":")).encode()


def claim_ahead(
    pool: Pool, shoppers: list[Shopper], template_ids: list[int], per_shopper: int
) -> dict[int, list[int]]:
    """Each shopper claims `per_shopper` coupons (PER_USER_MAX from each template in
    turn), one request after another per shopper; returns user id -> coupon ids."""
    run = secrets.token_hex(3)

    def one(shopper: Shopper) -> tuple[int, list[int]]:
        got = []
        for n in range(per_shopper):
            template_id = template_ids[n // PER_USER_MAX]
            body = claim_body(f"ahead-{run}-{shopper.user_id}-{n}")
            response = pool.post(claim_path(template_id), body, JSON, shopper.auth)
            if response.status_code != 201:
                raise RuntimeError(f"claim failed: {response.status_code} {response.text[:300]}")
            got.append(int(response.json()["id"]))
        return shopper.user_id, got

    return dict(pool.executor.map(one, shoppers))


# --------------------------------------------------------------------------- the run


class Bench:
    """One run: set up, the four timed phases, the database checks, and the teardown."""

    env: dict[str, str]
    base_url: str
    app: Service
    claimers: list[Shopper]
    pool: Pool
    cpu_groups: dict[str, list[int]]
    ceiling_app: Ceiling
    plain_sku: int
    offer_sku: int
    burst_template: int
    warm_template: int

    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.db = Database(opts.mysql_url, f"wxdist_bench_{secrets.token_hex(4)}")
        self.workdir = Path(tempfile.mkdtemp(prefix="wxdist-bench-"))
        self.services: list[Service] = []
        self.mysqld = pids_named("mariadbd", "mysqld")
        self.started = time.monotonic()
        # Orders the server placed outside the timed wrk runs (warm-up), for the checks.
        self.plain_outside_wrk = 0
        self.offers_outside_wrk = 0
        self.expected_payable = 0
        self.records_ran_out = False

    @property
    def shoppers(self) -> list[Shopper]:
        return self.claimers[: self.opts.users]

    def start(self, name: str, cmd: list[str], health: str) -> Service:
        service = start_service(name, cmd, self.env, self.workdir)
        self.services.append(service)
        wait_http(service, health)
        return service

    def close(self) -> None:
        for service in reversed(self.services):
            service.stop()
        if self.opts.keep_db:
            print(f"kept database {self.db.name}")
        else:
            with suppress(pymysql.MySQLError):
                self.db.drop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def wrk(self, name: str, records: list[tuple[str, str, str, bytes]], **kw: Any) -> PhaseResult:
        path = self.workdir / f"{name}.tsv"
        write_records(path, records)
        return run_wrk(
            name,
            self.base_url,
            path,
            self.opts.connections,
            self.workdir,
            cpu_groups=self.cpu_groups,
            **kw,
        )

    # ------------------------------------------------------------------ set-up
    def setup(self) -> None:
        opts = self.opts
        self.db.create()
        app_port, emulator_port = free_port(), free_port()
        emulator_url = f"http://127.0.0.1:{emulator_port}"
        self.env = app_env(self.db, app_port, emulator_url)
        migrate(self.env)
        self.plain_sku = seed_catalogue(self.db, "压测商品", LIST_FEN)
        self.offer_sku = seed_catalogue(self.db, "压测促销商品", LIST_FEN)
        seed_promotions(self.db, self.offer_sku)
        (self.burst_template,) = seed_templates(
            self.db, "压测抢券", 1, opts.coupons, 1, BURST_OFF_FEN
        )
        (self.warm_template,) = seed_templates(self.db, "压测预热", 1, opts.warmup or 1, 1, 100)
        create_ceiling_tables(self.db)
        self.ceiling_app = Ceiling(
            opts.gunicorn, self.env, opts.connections, self.workdir, self.mysqld
        )
        emulator = self.start(
            "emulator",
            [str(VENV_BIN / "flask"), "emulator", "--port", str(emulator_port)],
            f"{emulator_url}/_emulator/health",
        )
        self.base_url = f"http://127.0.0.1:{app_port}"
        self.app = self.start(
            "app", opts.gunicorn.cmd(app_port, "wsgi:app"), f"{self.base_url}/healthz"
        )
        self.pool = Pool(self.base_url, opts.connections)
        login_started = time.monotonic()
        self.claimers = login_shoppers(self.base_url, opts.claimers, pool=self.pool)
        login_s = time.monotonic() - login_started
        self.cpu_groups = {
            "app": process_tree(self.app.proc.pid),
            "mariadb": self.mysqld,
            "emulator": process_tree(emulator.proc.pid),
        }
        print(
            f"setup: migrated; plain SKU {self.plain_sku}, offer SKU {self.offer_sku} "
            f"(limited-time ¥{PROMO_FEN / 100:.2f}, 满¥15减¥1); burst template "
            f"{self.burst_template} ({opts.coupons} coupons, 1 each); {len(self.claimers)} "
            f"shoppers logged in through the API in {login_s:.1f} s "
            f"({time.monotonic() - self.started:.1f} s)"
        )

    # ------------------------------------------------------------------ (1) claim burst
    def claim_burst(self) -> PhaseResult:
        run = secrets.token_hex(3)
        warm = [
            (claim_path(self.warm_template), JSON, s.auth, claim_body(f"warm-{run}-{s.user_id}"))
            for s in self.claimers[: self.opts.warmup]
        ]
        list(self.pool.executor.map(lambda r: self.pool.post(r[0], r[3], r[1], r[2]), warm))
        records = [
            (claim_path(self.burst_template), JSON, s.auth, claim_body(f"burst-{run}-{s.user_id}"))
            for s in self.claimers
        ]
        result = self.wrk("claim-burst", records, seconds=None)
        result.count_as_ok(lambda outcome: outcome in SERVED_CLAIMS)
        print(f"claim burst: {result.requests} answered in {result.duration_s:.1f} s; {result.cpu}")
        return result

    # ------------------------------------------------------------------ (2) plain orders
    def plain_orders(self) -> PhaseResult:
        shoppers = self.shoppers
        self.plain_outside_wrk += place_orders(
            self.pool, shoppers, self.plain_sku, self.opts.warmup
        )
        body = order_body(self.plain_sku)
        records = [("/api/v1/orders", JSON, s.auth, body) for s in shoppers]
        result = self.wrk("create-order", records, seconds=self.opts.seconds)
        print(f"create-order (plain): {result.ok} ok in {result.duration_s:.1f} s; {result.cpu}")
        return result

    # ------------------------------------------------------------------ (3) coupons ahead
    def claim_coupons(self, plain: PhaseResult) -> dict[int, list[int]]:
        opts = self.opts
        wanted = math.ceil(1.5 * plain.throughput * opts.seconds) + opts.connections
        per_shopper = math.ceil(wanted / opts.users) + math.ceil(opts.warmup / opts.users)
        templates = seed_templates(
            self.db,
            "压测下单券",
            math.ceil(per_shopper / PER_USER_MAX),
            opts.users * PER_USER_MAX,
            PER_USER_MAX,
            COUPON_OFF_FEN,
            threshold_fen=COUPON_THRESHOLD_FEN,
        )
        started, meter = time.monotonic(), CpuMeter(dict(self.cpu_groups))
        held = claim_ahead(self.pool, self.shoppers, templates, per_shopper)
        seconds = time.monotonic() - started
        print(
            f"coupons claimed ahead (untimed): {per_shopper} for each of {opts.users} shoppers "
            f"from {len(templates)} templates, {per_shopper * opts.users} claims through the API "
            f"in {seconds:.1f} s ({per_shopper * opts.users / max(seconds, 1e-9):.0f}/s; "
            f"every claim issues); {meter.report()[0]} (this script's client threads among the "
            "others)"
        )
        return held

    def check_preview(self, shopper: Shopper, coupon_id: int) -> int:
        """Price the offer SKU with a coupon; insist every offer applies; the payable."""
        body = json.dumps(
            {"items": [{"sku_id": self.offer_sku, "quantity": 1}], "coupon_id": coupon_id}
        ).encode()
        response = self.pool.post("/api/v1/orders/preview", body, JSON, shopper.auth)
        if response.status_code != 200:
            raise RuntimeError(f"preview failed: {response.status_code} {response.text[:300]}")
        data = response.json()
        parts = {k: data[k] for k in ("discount_fen", "reduction_fen", "coupon_fen")}
        if not all(parts.values()) or data["coupon_id"] != coupon_id:
            raise RuntimeError(f"the offer SKU is not priced by all three offers: {data}")
        shown = ", ".join(f"{k.removesuffix('_fen')} ¥{v / 100:.2f}" for k, v in parts.items())
        print(
            f"preview: list ¥{data['goods_fen'] / 100:.2f}, {shown} -> pays "
            f"¥{data['payable_fen'] / 100:.2f}"
        )
        return int(data["payable_fen"])

    # ------------------------------------------------------------------ (4) offer orders
    def offer_orders(self, held: dict[int, list[int]]) -> PhaseResult:
        opts, shoppers = self.opts, self.shoppers
        self.expected_payable = self.check_preview(shoppers[0], held[shoppers[0].user_id][-1])
        queues = {s.user_id: list(held[s.user_id]) for s in shoppers}

        def record(shopper: Shopper) -> tuple[str, str, str, bytes]:
            body = order_body(
                self.offer_sku,
                coupon_id=queues[shopper.user_id].pop(0),
                expected_payable_fen=self.expected_payable,
            )
            return "/api/v1/orders", JSON, shopper.auth, body

        warm = [record(shoppers[i % len(shoppers)]) for i in range(opts.warmup)]
        answers = self.pool.executor.map(lambda r: self.pool.post(r[0], r[3], r[1], r[2]), warm)
        self.offers_outside_wrk += sum(a.status_code == 201 for a in answers)
        depth = min(len(q) for q in queues.values())
        records = [record(s) for _ in range(depth) for s in shoppers]
        result = self.wrk("order+offers", records, seconds=opts.seconds, once=True)
        self.records_ran_out = result.sent >= len(records)
        print(
            f"create-order with offers: {result.ok} ok in {result.duration_s:.1f} s, "
            f"{result.sent} of {len(records)} prepared requests sent"
            + (" (ran out before the time was up)" if self.records_ran_out else "")
            + f"; {result.cpu}"
        )
        self.pool.close()
        self.app.stop()
        return result

    # ------------------------------------------------------------------ (5) ceiling
    def ceiling(self) -> PhaseResult:
        return self.ceiling_app.run(self.opts.seconds, self.opts.warmup, self.services)

    # ------------------------------------------------------------------ correctness
    def verify(self, results: dict[str, PhaseResult]) -> list[Check]:
        checks = self.verify_burst(results["claim-burst"])
        checks += self.verify_orders(results["create-order"], results["order+offers"])
        checks.append(self.verify_reconcile())
        checks.append(self.ceiling_app.check(self.db, results["ceiling"]))
        return checks

    def verify_burst(self, burst: PhaseResult) -> list[Check]:
        db, wanted = self.db, self.opts.coupons
        coupons = int(
            db.scalar("SELECT COUNT(*) FROM coupons WHERE template_id = %s", (self.burst_template,))
        )
        doubles = int(
            db.scalar(
                "SELECT COUNT(*) FROM (SELECT user_id FROM coupons WHERE template_id = %s"
                " GROUP BY user_id HAVING COUNT(*) > 1) AS d",
                (self.burst_template,),
            )
        )
        remaining, issued = db.rows(
            "SELECT remaining, issued_count FROM coupon_templates WHERE id = %s",
            (self.burst_template,),
        )[0]
        issued_answers = burst.outcomes.get("201", 0)
        sold_out = burst.outcomes.get("409 sold_out", 0)
        return [
            Check(
                f"the burst issued exactly {wanted} coupons",
                coupons == issued_answers == issued == wanted and remaining == 0,
                f"{coupons} coupon rows, {issued_answers} 201 answers, template remaining "
                f"{remaining} / issued {issued}",
            ),
            Check(
                "nobody holds two burst coupons; the others were told sold_out",
                doubles == 0 and sold_out == self.opts.claimers - wanted,
                f"{doubles} shoppers with more than one; {sold_out} 409 sold_out answers for "
                f"{self.opts.claimers} claimers",
            ),
        ]

    def verify_orders(self, plain: PhaseResult, offers: PhaseResult) -> list[Check]:
        db = self.db
        checks = []
        for sku, result, outside in (
            (self.plain_sku, plain, self.plain_outside_wrk),
            (self.offer_sku, offers, self.offers_outside_wrk),
        ):
            orders = int(
                db.scalar(
                    "SELECT COUNT(DISTINCT order_id) FROM order_items WHERE sku_id = %s", (sku,)
                )
            )
            stock = int(db.scalar("SELECT stock FROM skus WHERE id = %s", (sku,)))
            expected = result.ok + outside
            checks.append(
                Check(
                    f"{result.name}: orders created = 201 answers, stock down by as much",
                    orders == expected == INITIAL_STOCK - stock,
                    f"{orders} orders, {expected} answers ({outside} warm-up), stock "
                    f"-{INITIAL_STOCK - stock}",
                )
            )
        with_coupon = int(db.scalar("SELECT COUNT(*) FROM orders WHERE coupon_id IS NOT NULL"))
        held = int(db.scalar("SELECT COUNT(*) FROM coupons WHERE status IN ('locked', 'used')"))
        matched = int(
            db.scalar(
                "SELECT COUNT(*) FROM orders o JOIN coupons c"
                " ON c.id = o.coupon_id AND c.order_id = o.id AND c.user_id = o.user_id"
                " WHERE c.status = 'locked'"
            )
        )
        twice = int(
            db.scalar(
                "SELECT COUNT(*) FROM (SELECT coupon_id FROM orders WHERE coupon_id IS NOT NULL"
                " GROUP BY coupon_id HAVING COUNT(*) > 1) AS t"
            )
        )
        checks.append(
            Check(
                "coupons locked/used = orders with a coupon, each by its order, none twice",
                with_coupon == held == matched == offers.ok + self.offers_outside_wrk
                and twice == 0,
                f"{with_coupon} orders with a coupon, {held} coupons locked or used, {matched} "
                f"locked by the order naming them, {twice} coupons on two orders",
            )
        )
        kinds = dict(
            db.rows("SELECT kind, COUNT(*) FROM order_adjustments GROUP BY kind")  # type: ignore[arg-type]
        )
        off_price = int(
            db.scalar(
                "SELECT COUNT(*) FROM orders WHERE coupon_id IS NOT NULL AND payable_fen <> %s",
                (self.expected_payable,),
            )
        )
        checks.append(
            Check(
                "every offer order has its discount, reduction and coupon, and pays the preview",
                all(kinds.get(k, 0) == with_coupon for k in ("discount", "reduction", "coupon"))
                and len(kinds) == 3
                and off_price == 0,
                f"adjustments by kind {kinds}; {off_price} orders paying other than "
                f"¥{self.expected_payable / 100:.2f}",
            )
        )
        return checks

    def verify_reconcile(self) -> Check:
        result = flask_cli(self.env, "reconcile")
        out = (result.stdout + result.stderr).strip()
        return Check(
            "flask reconcile clean",
            result.returncode == 0 and out.endswith("reconcile: clean"),
            f"exit {result.returncode}: " + " | ".join(out.splitlines()[-5:]),
        )


# --------------------------------------------------------------------------- report


def report(results: dict[str, PhaseResult], checks: list[Check], bench: Bench) -> None:
    burst, plain, offers, ceiling = results.values()
    opts = bench.opts
    print()
    print_table(list(results.values()))
    answers = ", ".join(f"{n} x {o}" for o, n in sorted(burst.outcomes.items()))
    print(f"claim-burst answers: {answers}; throughput counts every answer served as intended")
    print()

    def ratio(flow: PhaseResult) -> float:
        return flow.throughput / ceiling.throughput if ceiling.throughput else 0.0

    issued = burst.outcomes.get("201", 0)
    misses = [f"throughput {ratio(burst):.2f} < {TARGET_RATIO}"] if ratio(burst) < 0.5 else []
    if issued != opts.coupons:
        misses.append(f"{issued} issued, not {opts.coupons}")
    if burst.errors:
        misses.append(f"{burst.errors} errors")
    print(f"{'claim-burst':<13} {ratio(burst):.2f} x ceiling, {issued} issued -> {verdict(misses)}")
    cpu_ratio = (
        offers.server_ms_per_request / plain.server_ms_per_request
        if plain.server_ms_per_request
        else 0.0
    )
    misses = [f"throughput {ratio(offers):.2f} < {TARGET_RATIO}"] if ratio(offers) < 0.5 else []
    if cpu_ratio > TARGET_CPU_RATIO:
        misses.append(f"app CPU {cpu_ratio:.2f} > {TARGET_CPU_RATIO} x plain")
    if offers.errors:
        misses.append(f"{offers.errors} errors")
    print(
        f"{'order+offers':<13} {ratio(offers):.2f} x ceiling, app CPU/request {cpu_ratio:.2f} x "
        f"plain create-order -> {verdict(misses)}"
    )
    db_ratio = (
        offers.db_ms_per_request / plain.db_ms_per_request if plain.db_ms_per_request else 0.0
    )
    print(
        f"{'create-order':<13} {ratio(plain):.2f} x ceiling (plain, the reference); "
        f"throughput with offers {offers.throughput / max(plain.throughput, 1e-9):.2f} x "
        f"plain, MariaDB CPU/request {db_ratio:.2f} x plain"
    )
    print(
        f"targets: claim burst and order+offers >= {TARGET_RATIO} x ceiling throughput, "
        f"exactly {opts.coupons} issued, order+offers app CPU per request <= "
        f"{TARGET_CPU_RATIO} x plain create-order, no errors (p50 / p99 shown, not judged)"
    )
    if bench.records_ran_out:
        print("note: the offer orders ran out of prepared coupons before the time was up")
    print_warnings(list(results.values()))
    print()
    print_checks(checks)


def verdict(misses: list[str]) -> str:
    return "PASS" if not misses else "FAIL (" + "; ".join(misses) + ")"


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    require_wrk()
    bench = Bench(opts)
    print(
        f"wxdist marketing bench: db {bench.db.name}, {opts.gunicorn.describe()}, "
        f"{opts.connections} connections, {opts.seconds} s per timed phase, {opts.claimers} "
        f"claimers for {opts.coupons} coupons, {opts.users} ordering shoppers, "
        f"{os.cpu_count()} cores"
    )
    warn_if_busy()
    checks: list[Check] = []
    try:
        bench.setup()
        results = {"claim-burst": bench.claim_burst()}
        results["create-order"] = bench.plain_orders()
        held = bench.claim_coupons(results["create-order"])
        results["order+offers"] = bench.offer_orders(held)
        results["ceiling"] = bench.ceiling()
        checks = bench.verify(results)
        report(results, checks, bench)
    finally:
        bench.close()
    print(f"\nwhole run {time.monotonic() - bench.started:.0f} s")
    return 0 if checks and all(check.passed for check in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
