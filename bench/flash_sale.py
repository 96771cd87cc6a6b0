"""Flash-sale benchmark (issue 17): 10,000 buyers at once for 100 units, one each, through
POST /api/v1/flash-sales/orders under `wrk`, against the same-run transaction ceiling.

Run (from the repository root; needs MariaDB at 127.0.0.1:3306 as root without password,
Redis at 127.0.0.1:6379 and `wrk`; never part of the test suite):

    .venv/bin/python bench/flash_sale.py [--buyers 10000] [--units 100] [--after 5000]
                                         [--connections 8] [--seconds 8]
                                         [--worker-class sync|gthread]
                                         [--redis-url redis://127.0.0.1:6379/13] [--keep-db]

On a fresh database `wxdist_flash_<random>` (dropped at the end unless `--keep-db`) and the
Redis database of `--redis-url` (flushed first: give the bench one of its own):

1. migrates; seeds one product whose SKU has stock for every buyer (so only the activity
   stock limits), a flash sale open now selling `--units` of it at ¥1.00, one per person,
   and `--buyers` + `--after` users (MariaDB's sequence engine) with tokens signed as
   `wxdist.accounts.auth.issue_token` signs them (the bench gives the app its SECRET_KEY);
2. starts the app under gunicorn (the harness's settings) with REDIS_URL set, warms it
   with 2 s of GET /api/v1/flash-sales;
3. **flash-sale**: each of the `--buyers` buyers sends one order request (wrk, `once`,
   `--connections` at a time: 4 per sync worker by default, so a refusal's latency is its
   own plus a short queue, not 16 requests queued per worker). A 201 is a sale, a
   `409 sold_out` a refusal; anything else is an error;
4. **sold-out**: `--after` further buyers once the item is gone: every answer must be
   `409 sold_out`, from the Redis flag; its p99 is the refusals' own p99;
5. the ceiling (bench/ceiling_app.py: one hot-row transaction per request) under the same
   gunicorn settings on the same database.

Checks: exactly `--units` orders and flash-sale links, to as many distinct buyers, the
activity stock left 0, `flask reconcile`'s checks clean. Verdicts (the issue's):
(successful + refused) requests per second of the flash-sale phase >= 0.5 x the ceiling;
p99 of refused requests < 50 ms (the sold-out phase's p99, all refusals; the flash-sale
phase's p99 over every answer, successes included, is printed beside it). Exit status 1
when a check or a verdict fails.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import sys
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pymysql

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `config`, `wxdist` importable
    sys.path.insert(0, str(ROOT))

from itsdangerous import URLSafeTimedSerializer  # noqa: E402

from bench._harness import (  # noqa: E402
    Ceiling,
    Check,
    Database,
    Gunicorn,
    PhaseResult,
    Pool,
    Service,
    app_context,
    app_env,
    create_ceiling_tables,
    free_port,
    migrate,
    pids_named,
    print_checks,
    process_tree,
    require_wrk,
    run_wrk,
    seed_catalogue,
    start_service,
    wait_http,
    warn_if_busy,
    write_records,
)
from wxdist.accounts.auth import TOKEN_SALT  # noqa: E402

PATH = "/api/v1/flash-sales/orders"
JSON = "application/json"
FIRST_USER_ID = 1001
TARGET_RATIO = 0.5
TARGET_REFUSED_P99_MS = 50.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--buyers", type=int, default=10_000)
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--after", type=int, default=5_000, help="buyers once sold out")
    parser.add_argument(
        "--timed", type=int, default=3_000, help="buyers of the per-request timed sale"
    )
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=8, help="the ceiling's phase")
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="sync")
    parser.add_argument("--mysql-url", default="mysql+pymysql://root@127.0.0.1:3306")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--keep-db", action="store_true")
    return parser.parse_args(argv)


def seed(db: Database, opts: argparse.Namespace, secret_key: str) -> tuple[int, int, list[str]]:
    """The SKU, the two activities (the one wrk storms, the one timed per request) and the
    buyers; returns the two activity SKUs' ids and one Authorization header per buyer."""
    from wxdist.core.extensions import db as sa
    from wxdist.marketing.flash_sales.admin import ActivitySpec, SkuSpec, save_activity
    from wxdist.models import FlashSku
    from wxdist.models.types import utcnow

    total = opts.buyers + opts.after
    sku_id = seed_catalogue(db, title="秒杀压测商品", price_fen=9_900, stock=total)
    with app_context(db):
        now = utcnow()
        flash_sku_ids = []
        for name in ("压测秒杀", "压测秒杀（逐个计时）"):
            activity = save_activity(
                ActivitySpec(
                    name,
                    [(now - timedelta(minutes=5), now + timedelta(hours=2))],
                    [SkuSpec(sku_id, 100, opts.units)],
                )
            )
            sa.session.commit()
            flash_sku_ids.append(
                sa.session.query(FlashSku.id).filter_by(activity_id=activity.id).scalar()
            )
    last = FIRST_USER_ID + total - 1
    with db.cursor() as cur:
        cur.execute(
            "INSERT INTO users (id, openid, nickname, avatar_url, token_version,"
            " paid_orders, paid_spend_fen, created_at, last_login_at)"
            " SELECT seq, CONCAT('bench-flash-', seq), '秒杀压测', '', 1, 0, 0, NOW(6),"
            f" NOW(6) FROM seq_{FIRST_USER_ID}_to_{last}"
        )
    signer = URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT)
    auths = [
        "Bearer " + signer.dumps({"uid": user_id, "v": 1})
        for user_id in range(FIRST_USER_ID, last + 1)
    ]
    return int(flash_sku_ids[0]), int(flash_sku_ids[1]), auths


@dataclass
class Timed:
    """The per-request sale: each request timed by its own client thread (wrk cannot
    split its latencies by answer), milliseconds by outcome."""

    by_outcome: dict[str, list[float]]

    def p(self, outcome: str, share: float) -> float:
        values = sorted(self.by_outcome.get(outcome, []))
        return values[min(len(values) - 1, int(share * len(values)))] if values else 0.0


def timed_sale(base_url: str, auths: list[str], flash_sku_id: int, connections: int) -> Timed:
    """`auths` buy once each, `connections` at a time, through Python client threads (their
    own CPU makes the figures a little worse, never better)."""
    pool = Pool(base_url, connections)
    raw = body(flash_sku_id)

    def one(auth: str) -> tuple[str, float]:
        started = time.perf_counter()
        answer = pool.post(PATH, raw, JSON, auth)
        took = (time.perf_counter() - started) * 1000
        code = answer.json()["error"]["code"] if answer.status_code >= 400 else ""
        return f"{answer.status_code} {code}".strip(), took

    found: dict[str, list[float]] = {}
    for outcome, took in pool.executor.map(one, auths):
        found.setdefault(outcome, []).append(took)
    pool.close()
    return Timed(found)


def body(flash_sku_id: int) -> bytes:
    return json.dumps(
        {
            "flash_sku_id": flash_sku_id,
            "quantity": 1,
            "address": {
                "name": "张三",
                "phone": "13800138000",
                "region": "上海市 浦东新区",
                "detail": "世纪大道 100 号",
                "region_code": "310115",
            },
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def _served(outcome: str) -> bool:
    return outcome.startswith("201") or outcome == "409 sold_out"


def checks(
    db: Database,
    opts: argparse.Namespace,
    sale: PhaseResult,
    after: PhaseResult,
    timed: tuple[int, Timed],
) -> list[Check]:
    from wxdist.reporting.reconcile import check_all

    def sold_of(flash_sku_id: int) -> tuple[int, int, int]:
        links, buyers = db.rows(
            "SELECT COUNT(*), COUNT(DISTINCT user_id) FROM flash_orders WHERE flash_sku_id = %s",
            (flash_sku_id,),
        )[0]
        left = db.scalar("SELECT stock_left FROM flash_skus WHERE id = %s", (flash_sku_id,))
        return int(links), int(buyers), int(left)

    orders = int(db.scalar("SELECT COUNT(*) FROM orders"))
    stormed = int(db.scalar("SELECT MIN(id) FROM flash_skus"))
    links, buyers, left = sold_of(stormed)
    sold = sale.outcomes.get("201", 0) + after.outcomes.get("201", 0)
    timed_sku, timed_result = timed
    timed_links, timed_buyers, timed_left = sold_of(timed_sku)
    timed_sold = len(timed_result.by_outcome.get("201", []))
    with app_context(db):
        problems = check_all()
    return [
        Check(
            f"exactly {opts.units} sold",
            links == buyers == sold == opts.units and left == 0,
            f"{links} flash-sale links, {buyers} distinct buyers, {sold} answers 201, "
            f"activity stock left {left}",
        ),
        Check(
            f"exactly {opts.units} sold in the timed sale, one order per sale",
            timed_links == timed_buyers == timed_sold == opts.units
            and timed_left == 0
            and orders == links + timed_links,
            f"{timed_links} links, {timed_buyers} buyers, {timed_sold} answers 201, stock left "
            f"{timed_left}; {orders} orders in all; answers "
            f"{ {k: len(v) for k, v in timed_result.by_outcome.items()} }",
        ),
        Check(
            "every answer a sale or sold_out",
            sale.errors == 0 and after.errors == 0,
            f"flash-sale {sale.outcomes}, sold-out {after.outcomes}",
        ),
        Check("reconcile clean", not problems, "; ".join(problems[:5]) or "no discrepancy"),
    ]


def report(sale: PhaseResult, after: PhaseResult, ceiling: PhaseResult, timed: Timed) -> bool:
    header = (
        f"{'phase':<12}{'requests':>9}{'served':>8}{'errors':>8}{'req/s':>9}{'p50 ms':>9}"
        f"{'p99 ms':>9}{'max ms':>9}{'CPU ms/req: app':>17}{'db':>7}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for r in (sale, after, ceiling):
        print(
            f"{r.name:<12}{r.requests:>9}{r.ok:>8}{r.errors:>8}{r.throughput:>9.1f}"
            f"{r.p50_ms:>9.1f}{r.p99_ms:>9.1f}{r.max_ms:>9.1f}"
            f"{r.server_ms_per_request:>17.2f}{r.db_ms_per_request:>7.2f}"
        )
    for outcome, values in sorted(timed.by_outcome.items()):
        print(
            f"timed sale, {outcome}: {len(values)} answers, p50 {timed.p(outcome, 0.5):.1f} ms, "
            f"p99 {timed.p(outcome, 0.99):.1f} ms, max {max(values):.1f} ms"
        )
    ratio = sale.throughput / ceiling.throughput if ceiling.throughput else 0.0
    fast = ratio >= TARGET_RATIO
    refused_p99 = timed.p("409 sold_out", 0.99)
    quick = after.p99_ms < TARGET_REFUSED_P99_MS and refused_p99 < TARGET_REFUSED_P99_MS
    print(
        f"\nverdict: {'PASS' if fast else 'FAIL'}: flash-sale (successful + refused) "
        f"{sale.throughput:.0f} req/s = {ratio:.2f} x the ceiling's {ceiling.throughput:.0f} "
        f"(target >= {TARGET_RATIO})"
    )
    print(
        f"verdict: {'PASS' if quick else 'FAIL'}: p99 of refused requests {refused_p99:.1f} ms "
        f"in the timed sale (the rush included), {after.p99_ms:.1f} ms once sold out (target "
        f"< {TARGET_REFUSED_P99_MS:.0f} ms; wrk's flash-sale p99 over every answer, successes "
        f"included: {sale.p99_ms:.1f} ms)"
    )
    return fast and quick


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    require_wrk()
    import redis

    redis.Redis.from_url(opts.redis_url).flushdb()
    db = Database(opts.mysql_url, f"wxdist_flash_{secrets.token_hex(4)}")
    workdir = Path(tempfile.mkdtemp(prefix="wxdist-flash-"))
    services: list[Service] = []
    mysqld = pids_named("mariadbd", "mysqld")
    gunicorn = Gunicorn(worker_class=opts.worker_class)
    print(
        f"wxdist flash-sale bench: db {db.name}, {gunicorn.describe()}, {opts.connections} "
        f"connections, {opts.buyers} buyers for {opts.units} units, then {opts.after} more"
    )
    warn_if_busy()
    clean = False
    try:
        db.create()
        port = free_port()
        env = app_env(db, port, f"http://127.0.0.1:{free_port()}", opts.redis_url)
        env["SECRET_KEY"] = secrets.token_hex(24)
        migrate(env)
        started = time.perf_counter()
        flash_sku_id, timed_sku_id, auths = seed(db, opts, env["SECRET_KEY"])
        print(f"seeded the sale and {len(auths)} buyers in {time.perf_counter() - started:.1f} s")
        create_ceiling_tables(db)
        base_url = f"http://127.0.0.1:{port}"
        app = start_service("app", gunicorn.cmd(port, "wsgi:app"), env, workdir)
        services.append(app)
        wait_http(app, f"{base_url}/healthz")
        groups = {"app": process_tree(app.proc.pid), "mariadb": mysqld}
        warm = workdir / "warm.tsv"
        write_records(warm, [("GET /api/v1/flash-sales", JSON, "", b"")])
        run_wrk("warm", base_url, warm, opts.connections, workdir, seconds=2, cpu_groups=groups)
        raw = body(flash_sku_id)
        phases = {}
        for name, chosen in (
            ("flash-sale", auths[: opts.buyers]),
            ("sold-out", auths[opts.buyers :]),
        ):
            path = workdir / f"{name}.tsv"
            write_records(path, [(PATH, JSON, auth, raw) for auth in chosen])
            result = run_wrk(
                name, base_url, path, opts.connections, workdir, seconds=None, cpu_groups=groups
            )
            result.count_as_ok(_served)
            print(f"{name}: {result.outcomes} in {result.duration_s:.2f} s; {result.cpu}")
            phases[name] = result
        timed = timed_sale(base_url, auths[: opts.timed], timed_sku_id, opts.connections)
        app.stop()
        ceiling = Ceiling(gunicorn, env, opts.connections, workdir, mysqld)
        ceiling_result = ceiling.run(opts.seconds, 50, services)
        found = [
            *checks(db, opts, phases["flash-sale"], phases["sold-out"], (timed_sku_id, timed)),
            ceiling.check(db, ceiling_result),
        ]
        verdicts = report(phases["flash-sale"], phases["sold-out"], ceiling_result, timed)
        print_checks(found)
        clean = verdicts and all(check.passed for check in found)
    finally:
        for service in reversed(services):
            service.stop()
        if opts.keep_db:
            print(f"kept database {db.name}")
        else:
            with suppress(pymysql.MySQLError):
                db.drop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
