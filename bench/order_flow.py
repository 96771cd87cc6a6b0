"""Order-flow benchmark: create-order and pay-notify against a bare-Flask ceiling.

Run (from the repository root; needs MariaDB at 127.0.0.1:3306 as root without password,
and `wrk`, which `apt-get install -y wrk` provides; the script stops with a message if it is
missing):

    .venv/bin/python bench/order_flow.py [--seconds 15] [--connections 32]
                                         [--worker-class sync|gthread] [--threads 4]
                                         [--redis-url redis://127.0.0.1:6379/15]
                                         [--drain-worker simple|app] [--drain-workers 2]
                                         [--distributors 4]

It is never part of the test suite. The whole run takes about 1.5 minutes with the defaults.

What it does, each time on a fresh MariaDB database `wxdist_bench_<random>` that it drops at
the end (`--keep-db` keeps it):

1. runs the Alembic migrations (`flask db upgrade`), seeds one product whose SKU has a huge
   stock and `--distributors` two-level chains of approved distributors, starts the gateway
   emulator (`flask emulator`) and the app under gunicorn (2 sync workers, loopback) and
   logs in 32 shoppers, each with the scene of a lower distributor, so that every paid
   order earns commission at both levels (`--distributors 0`: nobody refers them and no
   commission is written). Jobs run inline (no REDIS_URL), so a pay notify also attributes
   the order's commission in the same request, as the app does without Redis;
   `--redis-url` queues it on RQ instead (the production set-up: the order id goes on the
   pending list and one drain job is scheduled per burst). After the timed pay-notify
   phase, `--drain-workers` RQ workers (`--drain-worker`: the class) attribute the queue;
   their start-up is not counted (the drain job is held back until they all wait for
   work), and the row "attribution" of the table gives the orders attributed per second
   from the drain job's start to the last order attributed, compared with the pay-notify
   rate of the same run (target: at least as fast), with the InnoDB deadlocks and the
   batches that fell back to one order at a time;
2. create-order: `wrk` POSTs /api/v1/orders for `--seconds`, rotating the shoppers' tokens;
3. pay-notify: before timing, starts a WeChat payment (POST /api/v1/orders/<id>/pay, which
   calls the emulator's unifiedorder) for N of those orders and signs one notify per order
   with the development API key; then `wrk` POSTs each notify exactly once to
   /notify/wechat/pay (an answer counts as ok only if it is 2xx and says SUCCESS);
4. ceiling: the app is stopped and bench/ceiling_app.py runs under the same gunicorn
   settings on the same database: per request one transaction of SELECT … FOR UPDATE on a
   hot row, UPDATE of it, INSERT of a row; `wrk` POSTs to it for `--seconds`;
5. checks in the database that orders created = successful create requests, that the stock
   went down by exactly that much, that every notified order has exactly one paid payment
   (with our transaction id) and went through commission attribution, and that the
   ceiling wrote one row per success; then stops what it started and drops the database.

Reading the output: one row per flow with requests answered, errors (non-2xx, non-SUCCESS
notify answers, socket errors), throughput (successful requests per second), and p50 / p99
latency in ms as wrk measured them with `--connections` concurrent keep-alive connections (a
sync gunicorn worker closes the connection after each answer, so wrk reconnects). Then each
flow's throughput as a fraction of the ceiling and the verdict against the target: at least
0.5 of the ceiling, p99 under 100 ms and no errors. A CPU line per phase shows how the
machine's cores were shared (app workers, MariaDB, emulator, wrk, and other processes: on a
shared machine those lower every figure, and the script warns) in % of one core, and the
table's last columns give the CPU the server (gunicorn workers) and MariaDB spent per
successful request: the cost of a request, steadier than req/s when the machine is shared
(it still rises somewhat under contention). Exit
status 0 when every database check passed (the verdicts do not change it).

Gunicorn: sync workers by default, measured better than gthread here: with 2 x gthread(4)
the ceiling fell from ~990 to ~590 req/s and create-order from ~230 to ~160 req/s, with the
CPU less busy. Most likely several transactions queue on the one hot row inside each worker
and the thread that holds the row lock waits for the GIL, so the lock is held longer.

Every phase drains: when the time is up (or, for pay-notify, every notify was sent) no new
request goes out and wrk stops once the in-flight ones are answered, so requests counted by
wrk and rows written by the server match exactly. wrk runs one thread (its Lua script relies
on that); it uses a few % of a core at these rates.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pymysql

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `config`, `payments`, `wxdist` importable
    sys.path.insert(0, str(ROOT))

from bench._harness import (  # noqa: E402
    INITIAL_STOCK,
    TARGET_P99_MS,
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
    cpu_seconds,
    create_ceiling_tables,
    free_port,
    login_shoppers,
    migrate,
    order_body,
    pids_named,
    place_orders,
    post_all,
    print_checks,
    print_table,
    print_warnings,
    process_tree,
    require_wrk,
    run_wrk,
    seed_catalogue,
    start_service,
    verdict,
    wait_http,
    warn_if_busy,
    write_records,
)
from config import DEV_WECHAT_PAY_API_KEY, load_settings  # noqa: E402
from payments.emulator.wechat import sign_notify  # noqa: E402

CHINA_TZ = timezone(timedelta(hours=8))
WECHAT_SUCCESS = "<return_code><![CDATA[SUCCESS]]></return_code>"

# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class Options:
    seconds: int
    connections: int
    workers: int
    worker_class: str
    threads: int
    users: int
    notify_orders: int
    warmup: int
    mysql_url: str
    redis_url: str
    drain_worker: str
    drain_workers: int
    distributors: int
    keep_db: bool

    @property
    def gunicorn(self) -> Gunicorn:
        return Gunicorn(self.workers, self.worker_class, self.threads)


def parse_args(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        description="Benchmark create-order and pay-notify against a bare-Flask ceiling."
    )
    parser.add_argument("--seconds", type=int, default=15, help="length of each timed phase")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--worker-class", choices=("sync", "gthread"), default="sync", help="gunicorn worker"
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--users", type=int, default=32, help="shoppers logged in")
    parser.add_argument(
        "--notify-orders",
        type=int,
        default=0,
        help="orders paid in the pay-notify phase (default: the orders of the create phase, "
        "at most 4000)",
    )
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per flow")
    parser.add_argument(
        "--mysql-url",
        default="mysql+pymysql://root@127.0.0.1:3306",
        help="server URL without database (user without password)",
    )
    parser.add_argument(
        "--redis-url",
        default="",
        help="queue jobs on RQ there instead of running them inline (an empty database, e.g. "
        "redis://127.0.0.1:6379/15; its rq:* and wxdist:* keys are deleted at the end); the "
        "queue is drained by a burst worker after the timed pay-notify phase",
    )
    parser.add_argument(
        "--drain-worker",
        choices=tuple(DRAIN_WORKERS),
        default="simple",
        help="with --redis-url, the RQ worker class that drains the queue: simple (one "
        "process, RQ's SimpleWorker) or app (jobs.worker.AppWorker, the deployed forking "
        "worker)",
    )
    parser.add_argument(
        "--drain-workers",
        type=int,
        default=2,
        help="with --redis-url, how many burst RQ workers drain the queue at once (a drain "
        "with a backlog enqueues a helper drain for the second)",
    )
    parser.add_argument(
        "--distributors",
        type=int,
        default=4,
        help="two-level chains the shoppers are referred through (a distributor under a "
        "distributor; shoppers spread over them), so every paid order earns commission at "
        "both levels; 0: shoppers referred by nobody (no commission written)",
    )
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    ns = parser.parse_args(argv)
    if ns.seconds < 1 or ns.connections < 1 or ns.workers < 1 or ns.users < 1:
        parser.error("--seconds, --connections, --workers and --users must be positive")
    if ns.drain_workers < 1 or ns.distributors < 0:
        parser.error("--drain-workers must be positive, --distributors not negative")
    return Options(
        seconds=ns.seconds,
        connections=ns.connections,
        workers=ns.workers,
        worker_class=ns.worker_class,
        threads=ns.threads,
        users=ns.users,
        notify_orders=ns.notify_orders,
        warmup=ns.warmup,
        mysql_url=ns.mysql_url.rstrip("/"),
        redis_url=ns.redis_url,
        drain_worker=ns.drain_worker,
        drain_workers=ns.drain_workers,
        distributors=ns.distributors,
        keep_db=ns.keep_db,
    )


REDIS_KEY_PATTERNS = ("rq:*", "wxdist:*")  # what RQ and the token cache write


def check_redis_unused(redis_url: str) -> None:
    """Refuse a Redis database that holds anything: the run deletes its keys afterwards."""
    import redis

    keys = redis.Redis.from_url(redis_url).dbsize()
    if keys:
        raise RuntimeError(f"{redis_url} holds {keys} keys: give the bench an empty database")


def clean_redis(redis_url: str) -> None:
    """Delete the keys the run wrote (RQ jobs, queues, results; the access-token cache)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    for pattern in REDIS_KEY_PATTERNS:
        for key in client.scan_iter(pattern, count=500):
            client.delete(key)


# One process for every job (SimpleWorker), or the deployed forking worker, which builds
# the app once in the parent and forks a child per job (jobs/worker.py).
DRAIN_WORKERS = {"simple": "rq.worker.SimpleWorker", "app": "jobs.worker.AppWorker"}


def drain_queue(
    env: dict[str, str], db: Database, order_ids: list[int], opts: Options, mysqld: list[int]
) -> PhaseResult:
    """Attribute the queued orders (untimed by wrk) with `--drain-workers` RQ workers, and
    return the phase as a row of the table.

    The drain job the notifies queued is taken off the queue while the workers start, so
    their start-up (building the app, which a deployed worker did long before a sale) is
    not counted; once all of them wait for work, it is queued again. The time counted runs
    from the moment the drain job started (RQ's `started_at`) to the moment every
    notified order has `attributed_at` (polled every 50 ms); workers are not in burst mode,
    since the second must wait for the helper drain the first enqueues, and are stopped
    then. CPU per order: the workers (their forked jobs included) and MariaDB."""
    from redis import Redis
    from rq import Queue

    conn = Redis.from_url(env["REDIS_URL"])
    queue = Queue("default", connection=conn)
    (drain_job_id,) = queue.job_ids  # the one the notifies queued
    queue.remove(drain_job_id)
    deadlocks_before = int(db.rows("SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'")[0][1])
    cmd = [
        str(VENV_BIN / "rq"),
        "worker",
        "--url",
        env["REDIS_URL"],
        "--worker-class",
        DRAIN_WORKERS[opts.drain_worker],
    ]
    with ExitStack() as stack:
        logs = [stack.enter_context(tempfile.TemporaryFile()) for _ in range(opts.drain_workers)]
        workers = [
            subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            for log in logs
        ]
        try:
            result = _drain(conn, db, order_ids, opts, mysqld, workers, drain_job_id)
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.send_signal(signal.SIGTERM)  # warm shutdown: the current job ends
            for worker in workers:
                with suppress(subprocess.TimeoutExpired):
                    worker.wait(timeout=60)
        text = ""
        for log in logs:
            log.seek(0)
            text += log.read().decode(errors="replace")
    if result.first_error:
        print(text[-5000:])
        raise RuntimeError(result.first_error)
    deadlocks = int(db.rows("SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'")[0][1]) - deadlocks_before
    placeholders = ",".join(["%s"] * len(order_ids))
    first, last = db.rows(
        f"SELECT MIN(attributed_at), MAX(attributed_at) FROM orders WHERE id IN ({placeholders})",
        order_ids,
    )[0]
    span_s = max((last - first).total_seconds(), 1e-3)
    print(
        f"attribution (untimed by wrk): {result.ok} orders by {opts.drain_workers} RQ "
        f"{DRAIN_WORKERS[opts.drain_worker].rpartition('.')[2]}s in {result.duration_s:.2f} s "
        f"from the drain job's start ({result.throughput:.0f} orders/s; "
        f"{result.ok / span_s:.0f}/s from the first attributed_at to the last); InnoDB deadlocks "
        f"{deadlocks}, batches that fell back to one order at a time "
        f"{text.count('attributing them one by one')}; {result.cpu}"
    )
    return result


def _drain(  # the timed part of drain_queue
    conn: Any,
    db: Database,
    order_ids: list[int],
    opts: Options,
    mysqld: list[int],
    workers: list[subprocess.Popen[bytes]],
    drain_job_id: str,
) -> PhaseResult:
    from rq import Queue, Worker
    from rq.job import Job

    result = PhaseResult(name="attribution", requests=len(order_ids))
    waited = time.monotonic()
    while sum(w.get_state() == "idle" for w in Worker.all(connection=conn)) < len(workers):
        if time.monotonic() - waited > 300 or any(w.poll() is not None for w in workers):
            result.first_error = "the drain workers did not start"
            return result
        time.sleep(0.1)
    before = {w.pid: cpu_seconds(w.pid, children=True) for w in workers}
    meter = CpuMeter({"mariadb": mysqld})
    Queue("default", connection=conn).enqueue_job(Job.fetch(drain_job_id, connection=conn))
    placeholders = ",".join(["%s"] * len(order_ids))
    count_sql = (
        f"SELECT COUNT(*) FROM orders WHERE attributed_at IS NOT NULL AND id IN ({placeholders})"
    )
    deadline = time.monotonic() + 600
    while True:
        result.ok = int(db.scalar(count_sql, order_ids))
        if result.ok >= len(order_ids):
            break
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            result.first_error = f"drain: {result.ok} of {len(order_ids)} orders attributed"
            return result
        time.sleep(0.05)
    finished = time.time()
    # The jobs' CPU is counted in a worker once it has reaped the job's work-horse: wait
    # for every drain job (helpers too) to end before reading it.
    queue = Queue("default", connection=conn)
    while queue.count or queue.started_job_registry.count:
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    worker_cpu = sum(cpu_seconds(pid, children=True) - before[pid] for pid in before)
    _, others_pct, used = meter.report()
    wall = max(time.monotonic() - meter.started, 1e-9)  # as the meter counted it
    jobs_run = queue.finished_job_registry.count + queue.failed_job_registry.count
    started_at = Job.fetch(drain_job_id, connection=conn).started_at
    if started_at.tzinfo is None:
        started_at = started_at.replace(tzinfo=UTC)
    result.duration_s = finished - started_at.timestamp()
    result.server_cpu_s = worker_cpu
    result.db_cpu_s = used.get("mariadb", 0.0)
    share = 100 * worker_cpu / wall  # the workers' CPU, which the meter counted as others'
    result.others_pct = max(others_pct - share, 0.0)
    result.cpu = (
        f"{jobs_run} drain jobs; CPU in % of one core: workers {share:.0f}%, mariadb "
        f"{100 * result.db_cpu_s / wall:.0f}%, other processes {result.others_pct:.0f}%"
    )
    return result


def seed_distributors(db: Database, chains: int) -> list[str]:
    """`chains` approved distributors, each referred by another approved distributor (two
    levels, as `referrals.bind` would leave them); returns the scenes of the lower ones."""
    if not chains:
        return []
    from wxdist.core.extensions import db as sa
    from wxdist.distribution.referrals import distributor_scene
    from wxdist.models import Distributor, DistributorStatus, Referral, User
    from wxdist.models.types import utcnow

    now = utcnow()
    scenes = []
    with app_context(db):
        for i in range(chains):
            top, lower = User(openid=f"bench-top-{i}"), User(openid=f"bench-lower-{i}")
            sa.session.add_all([top, lower])
            sa.session.flush()
            for user in (top, lower):
                sa.session.add(
                    Distributor(
                        user_id=user.id,
                        status=DistributorStatus.APPROVED,
                        real_name="压测",
                        phone="13800138000",
                        reviewed_at=now,
                        approved_at=now,
                    )
                )
            sa.session.add(
                Referral(
                    user_id=lower.id, parent_id=top.id, path=f"/{top.id}/", depth=1, bound_at=now
                )
            )
            top_distributor = sa.session.get(Distributor, top.id)
            top_distributor.direct_invites = 1
            scenes.append(distributor_scene(lower.id))
        sa.session.commit()
    return scenes


# --------------------------------------------------------------------------- pay-notify


@dataclass(frozen=True)
class PayTarget:
    order_id: int
    user_id: int
    openid: str
    payable_fen: int


@dataclass
class PaySetup:
    notifies: list[bytes] = field(default_factory=list)
    transaction_ids: dict[str, str] = field(default_factory=dict)  # out_trade_no -> ours
    order_ids: list[int] = field(default_factory=list)
    failures: int = 0
    seconds: float = 0.0


def start_payments(pool: Pool, shoppers: list[Shopper], targets: list[PayTarget]) -> PaySetup:
    """POST /orders/<id>/pay (wechat) for each target and sign its notify."""
    by_user = {s.user_id: s for s in shoppers}
    settings = load_settings({})
    now = datetime.now(CHINA_TZ)
    time_end = now.strftime("%Y%m%d%H%M%S")
    tx_prefix = "4200" + now.strftime("%Y%m%d") + f"{secrets.randbelow(10**6):06d}"
    setup = PaySetup()
    started = time.monotonic()

    def one(index_target: tuple[int, PayTarget]) -> tuple[PayTarget, str | None, str]:
        index, target = index_target
        response = pool.post(
            f"/api/v1/orders/{target.order_id}/pay",
            b'{"channel":"wechat"}',
            "application/json",
            by_user[target.user_id].auth,
        )
        if response.status_code != 200:
            return target, None, f"{response.status_code} {response.text[:200]}"
        return target, response.json()["out_trade_no"], f"{tx_prefix}{index:010d}"

    for target, out_trade_no, extra in pool.executor.map(one, enumerate(targets)):
        if out_trade_no is None:
            setup.failures += 1
            if setup.failures == 1:
                print(f"  pay failed for order {target.order_id}: {extra}")
            continue
        transaction_id = extra
        assert len(transaction_id) == 28
        fields = {
            "return_code": "SUCCESS",
            "return_msg": "OK",
            "appid": settings["WECHAT_APPID"],
            "mch_id": settings["WECHAT_MCH_ID"],
            "nonce_str": secrets.token_hex(16),
            "result_code": "SUCCESS",
            "openid": target.openid,
            "is_subscribe": "N",
            "trade_type": "JSAPI",
            "bank_type": "OTHERS",
            "total_fee": target.payable_fen,
            "cash_fee": target.payable_fen,
            "fee_type": "CNY",
            "transaction_id": transaction_id,
            "out_trade_no": out_trade_no,
            "time_end": time_end,
        }
        setup.notifies.append(sign_notify(fields, DEV_WECHAT_PAY_API_KEY))
        setup.transaction_ids[out_trade_no] = transaction_id
        setup.order_ids.append(target.order_id)
    setup.seconds = time.monotonic() - started
    return setup


class Bench:
    """One run: set up, the three timed phases, the database checks, and the teardown."""

    # Set by setup_app() and pay_notify().
    env: dict[str, str]
    emulator_url: str
    base_url: str
    sku_id: int
    emulator: Service
    app: Service
    shoppers: list[Shopper]
    pool: Pool
    cpu_groups: dict[str, list[int]]
    pay: PaySetup
    ceiling_app: Ceiling

    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.db = Database(opts.mysql_url, f"wxdist_bench_{secrets.token_hex(4)}")
        self.workdir = Path(tempfile.mkdtemp(prefix="wxdist-bench-"))
        self.services: list[Service] = []
        self.mysqld = pids_named("mariadbd", "mysqld")
        self.started = time.monotonic()
        # Writes the server made outside the timed wrk runs (warm-up, setup), for the checks.
        self.orders_outside_wrk = 0
        self.notified_outside_wrk = 0
        self.redis_in_use = False
        self.attribution: PhaseResult | None = None  # with --redis-url: the drain

    def start(self, name: str, cmd: list[str], env: dict[str, str], health: str) -> Service:
        service = start_service(name, cmd, env, self.workdir)
        self.services.append(service)
        wait_http(service, health)
        return service

    def close(self) -> None:
        for service in reversed(self.services):
            service.stop()
        if self.redis_in_use:
            with suppress(Exception):
                clean_redis(self.opts.redis_url)
        if self.opts.keep_db:
            print(f"kept database {self.db.name}")
        else:
            with suppress(pymysql.MySQLError):
                self.db.drop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # ------------------------------------------------------------------ (a) create-order
    def setup_app(self) -> None:
        opts = self.opts
        self.db.create()
        app_port, emulator_port = free_port(), free_port()
        self.emulator_url = f"http://127.0.0.1:{emulator_port}"
        self.env = app_env(self.db, app_port, self.emulator_url, opts.redis_url)
        if opts.redis_url:
            check_redis_unused(opts.redis_url)
            self.redis_in_use = True
        migrate(self.env)
        self.sku_id = seed_catalogue(self.db)
        self.scenes = seed_distributors(self.db, opts.distributors)
        create_ceiling_tables(self.db)
        self.ceiling_app = Ceiling(
            opts.gunicorn, self.env, opts.connections, self.workdir, self.mysqld
        )
        self.emulator = self.start(
            "emulator",
            [str(VENV_BIN / "flask"), "emulator", "--port", str(emulator_port)],
            self.env,
            f"{self.emulator_url}/_emulator/health",
        )
        self.base_url = f"http://127.0.0.1:{app_port}"
        self.app = self.start(
            "app",
            opts.gunicorn.cmd(app_port, "wsgi:app"),
            self.env,
            f"{self.base_url}/healthz",
        )
        self.shoppers = login_shoppers(self.base_url, opts.users, self.scenes)
        self.pool = Pool(self.base_url, opts.connections)
        self.cpu_groups = {
            "app": process_tree(self.app.proc.pid),
            "mariadb": self.mysqld,
            "emulator": process_tree(self.emulator.proc.pid),
        }
        print(
            f"setup: migrated, seeded SKU {self.sku_id}, {len(self.shoppers)} shoppers logged "
            f"in, referred through {len(self.scenes)} two-level distributor chains "
            f"({time.monotonic() - self.started:.1f} s)"
        )

    def create_order(self) -> PhaseResult:
        self.orders_outside_wrk += place_orders(
            self.pool, self.shoppers, self.sku_id, self.opts.warmup
        )
        body = order_body(self.sku_id)
        records = self.workdir / "create.tsv"
        write_records(
            records, [("/api/v1/orders", "application/json", s.auth, body) for s in self.shoppers]
        )
        result = run_wrk(
            "create-order",
            self.base_url,
            records,
            self.opts.connections,
            self.workdir,
            seconds=self.opts.seconds,
            cpu_groups=self.cpu_groups,
        )
        print(f"create-order: {result.ok} ok in {result.duration_s:.1f} s; {result.cpu}")
        return result

    # ------------------------------------------------------------------ (b) pay-notify
    def pay_notify(self, orders_created: int) -> PhaseResult:
        """Start payments (untimed), sign one notify each, then time the notifies."""
        opts = self.opts
        wanted = (opts.notify_orders or min(orders_created, 4000)) + opts.warmup
        pending = int(
            self.db.scalar("SELECT COUNT(*) FROM orders WHERE status = 'pending_payment'")
        )
        if pending < wanted:
            self.orders_outside_wrk += place_orders(
                self.pool, self.shoppers, self.sku_id, wanted - pending
            )
        targets = [
            PayTarget(int(oid), int(uid), str(openid), int(fen))
            for oid, uid, openid, fen in self.db.rows(
                "SELECT o.id, o.user_id, u.openid, o.payable_fen FROM orders o"
                " JOIN users u ON u.id = o.user_id WHERE o.status = 'pending_payment'"
                " ORDER BY o.id LIMIT %s",
                (wanted,),
            )
        ]
        self.pay = start_payments(self.pool, self.shoppers, targets)
        print(
            f"pay setup (untimed): {len(self.pay.notifies)} WeChat payments started through "
            f"the API (unifiedorder at the emulator) in {self.pay.seconds:.1f} s "
            f"({len(targets) / max(self.pay.seconds, 1e-9):.0f}/s), {self.pay.failures} failed"
        )
        warm, timed = self.pay.notifies[: opts.warmup], self.pay.notifies[opts.warmup :]
        self.notified_outside_wrk += post_all(
            self.pool, "/notify/wechat/pay", warm, "text/xml", WECHAT_SUCCESS
        )
        records = self.workdir / "notify.tsv"
        write_records(records, [("/notify/wechat/pay", "text/xml", "", body) for body in timed])
        result = run_wrk(
            "pay-notify",
            self.base_url,
            records,
            opts.connections,
            self.workdir,
            seconds=None,
            needle=WECHAT_SUCCESS,
            cpu_groups=self.cpu_groups,
        )
        print(f"pay-notify: {result.ok} ok in {result.duration_s:.1f} s; {result.cpu}")
        if opts.redis_url:
            self.attribution = drain_queue(self.env, self.db, self.pay.order_ids, opts, self.mysqld)
        self.pool.close()
        self.app.stop()
        self.emulator.stop()
        return result

    # ------------------------------------------------------------------ (c) ceiling
    def ceiling(self) -> PhaseResult:
        return self.ceiling_app.run(self.opts.seconds, self.opts.warmup, self.services)

    # ------------------------------------------------------------------ correctness
    def verify(self, create: PhaseResult, notify: PhaseResult, ceiling: PhaseResult) -> list[Check]:
        db = self.db
        checks = []
        expected = self.orders_outside_wrk + create.ok
        orders = int(db.scalar("SELECT COUNT(*) FROM orders"))
        checks.append(
            Check(
                "orders created = successful create requests",
                orders == expected,
                f"{orders} rows, {expected} 201 answers ({create.ok} timed + "
                f"{self.orders_outside_wrk} warm-up/setup)",
            )
        )
        stock = int(db.scalar("SELECT stock FROM skus WHERE id = %s", (self.sku_id,)))
        items = int(db.scalar("SELECT COALESCE(SUM(quantity), 0) FROM order_items"))
        checks.append(
            Check(
                "stock decreased by exactly that much",
                INITIAL_STOCK - stock == expected == items,
                f"stock {INITIAL_STOCK} -> {stock} (-{INITIAL_STOCK - stock}), "
                f"{items} items ordered",
            )
        )
        paid = db.rows("SELECT out_trade_no, transaction_id FROM payments WHERE status = 'paid'")
        not_one = db.rows(
            "SELECT order_id FROM payments WHERE status = 'paid'"
            " GROUP BY order_id HAVING COUNT(*) <> 1"
        )
        paid_orders = int(db.scalar("SELECT COUNT(*) FROM orders WHERE status = 'paid'"))
        ours = all(self.pay.transaction_ids.get(otn) == tx for otn, tx in paid)
        notified = self.notified_outside_wrk + notify.ok
        sent = len(self.pay.notifies)
        checks.append(
            Check(
                "exactly one paid payment per notified order",
                len(paid) == paid_orders == notified == sent and not not_one and ours,
                f"{len(paid)} paid payments, {paid_orders} paid orders, {notified} SUCCESS "
                f"answers to {sent} notifies, {len(not_one)} orders with more than one, "
                f"transaction ids all ours: {ours}",
            )
        )
        if db.has_column("orders", "attributed_at"):  # since the distribution programme
            unattributed = int(
                db.scalar(
                    "SELECT COUNT(*) FROM orders WHERE status = 'paid' AND attributed_at IS NULL"
                )
            )
            checks.append(
                Check(
                    "every paid order went through commission attribution",
                    unattributed == 0,
                    f"{unattributed} paid orders without attributed_at",
                )
            )
        checks.append(self.ceiling_app.check(db, ceiling))
        return checks


def report(
    results: list[PhaseResult], checks: list[Check], attribution: PhaseResult | None
) -> None:
    create, notify, ceiling = results
    print()
    print_table([*results, attribution] if attribution else results)
    print()
    for flow in (create, notify):
        ratio, text = verdict(flow, ceiling)
        print(f"{flow.name:<13} {ratio:.2f} x ceiling  -> {text}")
    if attribution:
        keeps_up = attribution.throughput / notify.throughput if notify.throughput else 0.0
        print(
            f"{'attribution':<13} {keeps_up:.2f} x pay-notify -> "
            + ("PASS" if keeps_up >= 1 else "FAIL")
            + " (target: commission attributed per second >= pay notifies accepted per second)"
        )
    print(f"target: each flow >= {TARGET_RATIO} x ceiling throughput, p99 < {TARGET_P99_MS:.0f} ms")
    print_warnings(results)
    print()
    print_checks(checks)


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    require_wrk()
    bench = Bench(opts)
    print(
        f"wxdist order-flow bench: db {bench.db.name}, {opts.gunicorn.describe()}, "
        f"{opts.connections} connections, {opts.seconds} s per timed phase, "
        f"{os.cpu_count()} cores, jobs "
        + (f"queued on {opts.redis_url}" if opts.redis_url else "inline")
    )
    warn_if_busy()
    try:
        bench.setup_app()
        create = bench.create_order()
        notify = bench.pay_notify(bench.orders_outside_wrk + create.ok)
        ceiling = bench.ceiling()
        checks = bench.verify(create, notify, ceiling)
        report([create, notify, ceiling], checks, bench.attribution)
    finally:
        bench.close()
    print(f"\nwhole run {time.monotonic() - bench.started:.0f} s")
    return 0 if all(check.passed for check in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
