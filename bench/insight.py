"""Issue 16's Must-show bench: customers, reports and recommendations over a whole shop of
1,000,000 customers, 5,000,000 order items and 50,000 distributors on MariaDB.

Run from the repository root (MariaDB at 127.0.0.1:3306 as root with `local_infile` on,
and `wrk`; never part of the test suite):

    .venv/bin/python -u bench/insight.py [--customers 1000000] [--items 5000000]
        [--distributors 50000] [--products 20000] [--seconds 10] [--connections 2]
        [--keep-db NAME] [--skip-refresh] [--refresh-only]

A small run for development: `--customers 20000 --items 100000 --distributors 1000
--products 2000`. `--keep-db NAME` creates and keeps the database, or reuses it when it
exists (skipping the seed); without it a `wxdist_bench_insight_<random>` is dropped at the
end. `--refresh-only` (with `--keep-db` of a seeded database) times the refresh alone.

1. Seed (untimed, seconds per step printed): bench/insight_seed.py, whose docstring says
   what is generated and how every derived row (attribution, customer_stats, the report
   aggregates) follows the app's own rules; then the app's own checks over it
   (`customers.stats.check`, the report totals of `flask reconcile`, and the report writer
   `insight.record_orders` over 2,000 orders finding nothing to add).
2. The app under gunicorn (bench/_harness.py's settings: 2 sync workers), each phase
   warmed for 2 s then timed for `--seconds` by wrk, `--connections` at a time (2: one
   per worker, as bench/catalog.py, so a figure is the request's own latency; with 4, half
   the requests wait in gunicorn's queue for a worker and p95 measures the queue), each
   request taken in turn from many of its kind (different tags, distributors, ranges):
   - the panel's customer list (a signed-in owner's session cookie): by tag, by tag sorted
     by spend, by source distributor, by spend range, by last order in 30 days, source with
     a spend floor, and second pages (keyset `after=` links read from first pages):
     target p95 < 150 ms;
   - the distributor centre's reports (signed API tokens of 200 distributors who sold in
     the last 90 days): trend 30 and 90 days, channels, top products, the share funnel
     (the top 1 % have 30 codes): target p95 < 50 ms;
   - the panel's merchant performance report: this month, 30 and 90 days, by sales and by
     conversion, page 1 and page 50, and the channels-and-products page: p95 < 300 ms.
3. `wxdist.recommendations.refresh.refresh_all` (the periodic job's own code, in process)
   for every approved distributor: target 600 s.
4. Checks: the seed's checks, a source filter's total against a count of bindings, a
   distributor's 90-day trend totals against SQL over their orders and commission records.

The shop is ~5 GB in InnoDB, far more than the shared server's 128 MB buffer pool: the
refresh reads it in scans (its audience tables, wxdist/recommendations/audience_tables.py),
357 s on that pool. `--mysql-url` names another server (e.g. one with a larger pool).

Prints a table (p50 / p95 / p99 ms, throughput, CPU ms per request of the app and MariaDB,
verdict) and exits 0 only when every target holds and every check passes.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import shutil
import sys
import tempfile
import time
from contextlib import suppress
from datetime import timedelta
from pathlib import Path
from typing import Any

import pymysql
import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bench`, `config`, `wxdist` importable
    sys.path.insert(0, str(ROOT))

from bench._harness import (  # noqa: E402
    Check,
    Database,
    Gunicorn,
    PhaseResult,
    Service,
    app_context,
    app_env,
    free_port,
    migrate,
    panel_cookie,
    pids_named,
    print_checks,
    process_tree,
    require_wrk,
    run_wrk,
    signed_tokens,
    start_service,
    wait_http,
    warn_if_busy,
    write_records,
)
from bench.insight_seed import OWNER, OWNER_PASSWORD, Scale, Shop, check  # noqa: E402

TARGET_CUSTOMERS_MS, TARGET_DISTRIBUTOR_MS, TARGET_MERCHANT_MS = 150.0, 50.0, 300.0
TARGET_REFRESH_S = 600.0
QUIET_LOCK = Path("/tmp/quiet.lock")
Record = tuple[str, str, str, bytes]


def wait_quiet() -> None:
    """Wait while another benchmark on this machine asks for quiet (it holds the lock)."""
    if QUIET_LOCK.exists():
        print("waiting for /tmp/quiet.lock to go ...", flush=True)
    while QUIET_LOCK.exists():
        time.sleep(20)


def seed(db: Database, scale: Scale) -> list[str]:
    """Migrate, generate and load the shop, create the owner; returns the checks' problems."""
    workdir = Path(tempfile.mkdtemp(prefix="wxdist-insight-"))
    began = time.perf_counter()

    def say(step: str, started: float) -> None:
        print(f"  {step}: {time.perf_counter() - started:.1f} s", flush=True)

    try:
        started = time.perf_counter()
        migrate(app_env(db, free_port(), "http://127.0.0.1:9"))
        say("migrated", started)
        Shop(scale, _now()).write(db, workdir, say)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    with app_context(db):
        from wxdist.accounts.staff import create_staff

        create_staff(OWNER, OWNER_PASSWORD, "owner", "老板")
    print(f"seeded in {time.perf_counter() - began:.0f} s", flush=True)
    return run_checks(db)


def run_checks(db: Database) -> list[str]:
    """The seed's checks, kept in the database (bench_insight_checks) so a re-run on a kept
    database reads them instead of spending minutes on them again."""
    started = time.perf_counter()
    with app_context(db):
        problems = check()
    print(f"seed checks in {time.perf_counter() - started:.0f} s: {problems or 'clean'}")
    with db.cursor() as cur:
        cur.execute("CREATE TABLE bench_insight_checks (problems TEXT NOT NULL)")
        cur.execute("INSERT INTO bench_insight_checks VALUES (%s)", ("\n".join(problems),))
    return problems


def stored_checks(db: Database) -> list[str]:
    if not db.scalar("SHOW TABLES LIKE 'bench_insight_checks'"):
        return run_checks(db)
    problems = [
        p for p in str(db.scalar("SELECT problems FROM bench_insight_checks")).split("\n") if p
    ]
    print(f"seed checks (when it was seeded): {problems or 'clean'}")
    return problems


def _now() -> Any:
    from wxdist.models.types import utcnow

    return utcnow()


def _get(path: str, auth: str = "") -> Record:
    return (f"GET {path}", "", auth, b"")


def customer_phases(base: str, cookie: str, scale: Scale) -> list[tuple[str, list[Record]]]:
    rng = random.Random(17)
    auth = f"Cookie: {cookie}"
    today = _now().date()
    big = list(range(1, max(scale.distributors // 100, 2)))  # the largest audiences
    sources = big + rng.sample(range(1, scale.distributors + 1), min(60, scale.distributors))
    lists = {
        "cust tag": [f"tag={t}" for t in range(1, 6)],
        "cust tag spend": [f"tag={t}&sort=spend" for t in range(1, 6)],
        "cust source": [f"source={d}" for d in sources],
        "cust spend range": [
            f"spend_min={lo}&spend_max={lo + w}&sort=spend"
            for lo in (100, 300, 500, 800)
            for w in (200, 500)
        ],
        "cust last 30d": [
            f"last_from={(today - timedelta(days=30 + n)).isoformat()}" for n in range(10)
        ],
        "cust src+spend": [f"source={d}&spend_min=300" for d in sources],
    }
    out = [(name, [_get(f"/panel/customers?{q}", auth) for q in qs]) for name, qs in lists.items()]
    second = []
    session = requests.Session()
    for name in ("cust tag", "cust source", "cust spend range", "cust last 30d"):
        for _path, _ct, _auth, _body in dict(out)[name][:8]:
            html = session.get(base + _path[4:], headers={"Cookie": cookie}, timeout=60).text
            found = re.search(r'href="(/panel/customers\?[^"]*after=[^"]+)"', html)
            if found:
                second.append(_get(found.group(1).replace("&amp;", "&"), auth))
    return [*out, ("cust page 2", second)]


def distributor_phases(db: Database, secret: str) -> list[tuple[str, list[Record]]]:
    sellers = [
        int(row[0])
        for row in db.rows(
            "SELECT distributor_id FROM report_daily WHERE distributor_id > 0 AND day >= %s"
            " AND orders > 0 GROUP BY distributor_id ORDER BY RAND(16) LIMIT 200",
            (_now().date() - timedelta(days=89),),
        )
    ]
    top = [
        int(r[0])
        for r in db.rows(
            "SELECT distributor_id FROM share_codes GROUP BY"
            " distributor_id HAVING COUNT(*) > 10 LIMIT 200"
        )
    ]
    tokens = {s.user_id: s.auth for s in signed_tokens(secret, set(sellers + top))}
    api = "/api/v1/distributor/reports"
    return [
        ("trend 30d", [_get(f"{api}/trend?days=30", tokens[d]) for d in sellers]),
        ("trend 90d", [_get(f"{api}/trend?days=90", tokens[d]) for d in sellers]),
        ("channels 90d", [_get(f"{api}/channels?days=90", tokens[d]) for d in sellers]),
        ("products 90d", [_get(f"{api}/products?days=90", tokens[d]) for d in sellers]),
        ("funnel", [_get(f"{api}/funnel", tokens[d]) for d in sellers]),
        ("funnel 30 codes", [_get(f"{api}/funnel", tokens[d]) for d in top or sellers]),
    ]


def merchant_phases(cookie: str) -> list[tuple[str, list[Record]]]:
    auth = f"Cookie: {cookie}"
    today = (_now() + timedelta(hours=8)).date()  # Shanghai's day (no summer time)

    def days(n: int) -> str:
        return f"first={(today - timedelta(days=n - 1)).isoformat()}&last={today.isoformat()}"

    pages = {
        "perf month": ["", "sort=conversion", "sort=orders"],
        "perf month p50": ["page=50", "sort=conversion&page=50"],
        "perf 30d": [days(30), f"{days(30)}&sort=conversion"],
        "perf 30d p50": [f"{days(30)}&page=50", f"{days(30)}&sort=conversion&page=50"],
        "perf 90d": [days(90), f"{days(90)}&sort=conversion"],
        "perf 90d p50": [f"{days(90)}&page=50", f"{days(90)}&sort=conversion&page=50"],
    }
    out = [(n, [_get(f"/panel/reports?{q}", auth) for q in qs]) for n, qs in pages.items()]
    contribution = [_get(f"/panel/reports/contribution?{days(n)}", auth) for n in (30, 90)]
    return [*out, ("contribution", contribution)]


def run_phases(
    base: str,
    phases: list[tuple[str, list[Record]]],
    opts: argparse.Namespace,
    workdir: Path,
    cpu_groups: dict[str, list[int]],
) -> list[PhaseResult]:
    results = []
    for name, records in phases:
        wait_quiet()
        path = workdir / f"{name.replace(' ', '-')}.tsv"
        write_records(path, records)
        run_wrk(
            f"{name}-warm", base, path, opts.connections, workdir, seconds=2, cpu_groups=cpu_groups
        )
        result = run_wrk(
            name, base, path, opts.connections, workdir, seconds=opts.seconds, cpu_groups=cpu_groups
        )
        result.count_as_ok(lambda outcome: outcome.startswith("200"))
        results.append(result)
        print(
            f"{name}: p95 {result.p95_ms:.1f} ms, {result.ok} ok, {result.errors} errors; "
            f"{result.cpu}",
            flush=True,
        )
    return results


def answer_checks(db: Database, base: str, cookie: str, secret: str) -> list[Check]:
    """The list's total and a distributor's trend against SQL over the source rows."""
    from wxdist.core.clock import utc_start
    from wxdist.reporting import reports

    source, bound = db.rows(
        "SELECT referrer_id, COUNT(*) n FROM referral_bindings GROUP BY referrer_id"
        " HAVING n BETWEEN 50 AND 9000 ORDER BY n DESC LIMIT 1"
    )[0]
    html = requests.get(
        f"{base}/panel/customers?source={source}", headers={"Cookie": cookie}, timeout=60
    ).text
    counts = re.findall(r'<p class="muted">[^<]*?(\d+)[^<]*</p>', html)
    checks = [
        Check(
            "customer list total for one source = its bindings",
            str(bound) in counts,
            f"source {source}: page says {counts}, SQL {bound}",
        )
    ]
    seller = int(
        db.scalar(
            "SELECT referrer_l1_id FROM orders WHERE referrer_l1_id IS NOT NULL"
            " GROUP BY referrer_l1_id ORDER BY COUNT(*) DESC LIMIT 1"
        )
    )
    token = signed_tokens(secret, [seller])[0].auth
    answer = requests.get(
        f"{base}/api/v1/distributor/reports/trend?days=90",
        headers={"Authorization": token},
        timeout=60,
    ).json()
    with app_context(db):
        period = reports.Period.last_days(90)
    since, until = utc_start(period.first), utc_start(period.last + timedelta(days=1))
    earned = db.scalar(
        "SELECT COALESCE(SUM(amount_fen), 0) FROM commissions WHERE"
        " beneficiary_id = %s AND created_at >= %s AND created_at < %s",
        (seller, since, until),
    )
    orders, paid = db.rows(
        "SELECT COUNT(*), COALESCE(SUM(paid_fen), 0) FROM orders WHERE"
        " referrer_l1_id = %s AND paid_at >= %s AND paid_at < %s",
        (seller, since, until),
    )[0]
    got = answer["totals"]
    checks.append(
        Check(
            "a distributor's 90-day trend = SQL over their orders and commission records",
            (got["commission_fen"], got["orders"], got["paid_fen"]) == (earned, orders, paid),
            f"distributor {seller}: commission {got['commission_fen']} / {earned}, orders "
            f"{got['orders']} / {orders}, paid {got['paid_fen']} / {paid} (API / SQL)",
        )
    )
    return checks


def refresh(db: Database) -> tuple[float, str]:
    wait_quiet()
    with app_context(db):
        from wxdist.recommendations.refresh import refresh_all

        r = refresh_all()
    return r.seconds, r.summary()


def report(results: list[PhaseResult], targets: dict[str, float]) -> bool:
    header = (
        f"{'phase':<17}{'requests':>9}{'errors':>7}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}"
        f"{'p99 ms':>8}{'target':>8}{'CPU ms/req app':>16}{'db':>7}  verdict"
    )
    print("\n" + header + "\n" + "-" * len(header))
    passed = True
    for r in results:
        ok = r.errors == 0 and r.ok > 0 and r.p95_ms < targets[r.name]
        passed = passed and ok
        print(
            f"{r.name:<17}{r.requests:>9}{r.errors:>7}{r.throughput:>8.1f}{r.p50_ms:>8.1f}"
            f"{r.p95_ms:>8.1f}{r.p99_ms:>8.1f}{'<' + format(targets[r.name], '.0f'):>8}"
            f"{r.server_ms_per_request:>16.2f}{r.db_ms_per_request:>7.2f}  "
            f"{'PASS' if ok else 'FAIL'}"
        )
    for r in results:
        if r.first_error:
            print(f"{r.name}: {r.errors} errors, the first: {r.first_error[:200]}")
    return passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=5_000_000)
    parser.add_argument("--distributors", type=int, default=50_000)
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--keep-db", default="")
    parser.add_argument("--skip-refresh", action="store_true")
    parser.add_argument("--refresh-only", action="store_true")
    parser.add_argument("--mysql-url", default="mysql+pymysql://root@127.0.0.1:3306")
    opts = parser.parse_args(argv)
    require_wrk()
    scale = Scale(opts.customers, opts.items, opts.distributors, opts.products)
    db = Database(opts.mysql_url, opts.keep_db or f"wxdist_bench_insight_{secrets.token_hex(4)}")
    workdir = Path(tempfile.mkdtemp(prefix="wxdist-insight-"))
    services: list[Service] = []
    gunicorn = Gunicorn()
    print(
        f"wxdist insight bench: db {db.name}, {scale}, {gunicorn.describe()}, "
        f"{opts.connections} connections, {opts.seconds} s a phase, {os.cpu_count()} cores"
    )
    try:
        with db.cursor(use_db=False) as cur:
            exists = bool(cur.execute("SHOW DATABASES LIKE %s", (db.name,)))
        wait_quiet()
        if opts.refresh_only:
            if not exists:
                raise SystemExit(f"--refresh-only needs the kept database {db.name}")
            seconds, detail = refresh(db)
            ok = seconds < TARGET_REFRESH_S
            print(f"recommendation refresh: {seconds:.1f} s (target < {TARGET_REFRESH_S:.0f} s)"
                  f" {'PASS' if ok else 'FAIL'}: {detail}")  # fmt: skip
            return 0 if ok else 1
        if exists:
            print("reusing the kept database (no seed)")
            problems = stored_checks(db)
        else:
            db.create()
            problems = seed(db, scale)
        checks = [
            Check(
                "seed: the app's own checks (customer stats, report totals, writer)",
                not problems,
                "; ".join(problems)[:600] or "clean",
            )
        ]
        wait_quiet()
        warn_if_busy()
        port = free_port()
        env = app_env(db, port, f"http://127.0.0.1:{free_port()}")
        env["SECRET_KEY"] = secret = secrets.token_hex(24)
        base = f"http://127.0.0.1:{port}"
        app = start_service("app", gunicorn.cmd(port, "wsgi:app"), env, workdir)
        services.append(app)
        wait_http(app, f"{base}/healthz")
        cookie = panel_cookie(base, OWNER, OWNER_PASSWORD)
        cpu_groups = {"app": process_tree(app.proc.pid), "mariadb": pids_named("mariadbd")}
        groups = [
            (TARGET_CUSTOMERS_MS, customer_phases(base, cookie, scale)),
            (TARGET_DISTRIBUTOR_MS, distributor_phases(db, secret)),
            (TARGET_MERCHANT_MS, merchant_phases(cookie)),
        ]
        targets = {name: target for target, phases in groups for name, _r in phases}
        results = []
        for _target, phases in groups:
            results += run_phases(base, phases, opts, workdir, cpu_groups)
        checks += answer_checks(db, base, cookie, secret)
        app.stop()
        passed = report(results, targets)
        if not opts.skip_refresh:
            seconds, detail = refresh(db)
            ok = seconds < TARGET_REFRESH_S
            passed = passed and ok
            print(
                f"\nrecommendation refresh: {seconds:.1f} s (target < {TARGET_REFRESH_S:.0f} s)"
                f" {'PASS' if ok else 'FAIL'}: {detail}"
            )
        print()
        print_checks(checks)
        passed = passed and all(c.passed for c in checks)
        print(f"\nverdict: {'PASS' if passed else 'FAIL'}")
    finally:
        for service in reversed(services):
            service.stop()
        if opts.keep_db:
            print(f"kept database {db.name}")
        else:
            with suppress(pymysql.MySQLError):
                db.drop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
