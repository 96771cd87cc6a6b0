"""Payout benchmark: 10,000 approved WeChat v2 withdrawals paid by RQ workers, enqueue to paid.

Run (from the repository root; needs MariaDB at 127.0.0.1:3306 as root without password and
Redis at 127.0.0.1:6379):

    .venv/bin/python bench/payouts.py [--withdrawals 10000] [--distributors 2000]
                                      [--workers 2] [--scenario app/50 ...]
                                      [--probe 200] [--py-spy PATH] [--keep-db]
                                      [--redis-url redis://127.0.0.1:6379/14]

Never part of the test suite.

A scenario is WORKER-CLASS/BATCH[:COUNT]. `app` is the worker as the README deploys it:
`rq worker -w jobs.worker.AppWorker --with-scheduler default payouts` (RQ's forking worker
with the app built once in the parent, so each job's work-horse inherits it); `fork` is
RQ's default worker (`rq.worker.Worker`: the work-horse builds the app again, imports and
create_app, ~1.5 s of CPU per job); `simple` is `rq.worker.SimpleWorker` (jobs run in the
worker process). BATCH is the `batch` given to `withdrawals.approve_many` (the app's default
is 50 per job); COUNT overrides `--withdrawals`. Every scenario pays through the app's own
job, `jobs.payouts.pay_withdrawals`. Give `--scenario` several times to compare; the
default runs `app/50`.

Each scenario, on a fresh MariaDB database `wxdist_payb_<random>` dropped at the end:

1. migrates (`flask_migrate.upgrade()`), sets the distribution settings (WeChat payouts by
   the v2 API, which answers synchronously; a 1 % fee of at least 0.10 元 so that net and
   amount differ) and writes, by bulk SQL, `--distributors` approved distributors and
   `--withdrawals` withdrawals spread over them (pending review, wechat, v2, account sealed
   with the app's key, payout numbers as the app makes them) with exactly the ledger entries
   and balances `request_withdrawal` would leave (a commission credit, then each hold
   available → withdrawing); `wxdist.reporting.reconcile.check_all()` must then find nothing;
2. starts the gateway emulator as its own process (`flask emulator`) and `--workers` RQ
   workers (`app`: `rq worker --with-scheduler default payouts --worker-class
   jobs.worker.AppWorker`; the others: `rq worker payouts --worker-class …`) on
   `--redis-url`, and waits until they are registered, then runs one empty payout job per
   worker (a SimpleWorker builds its app at its first job; untimed);
3. timed: `withdrawals.approve_many(ids, batch=BATCH)` (one UPDATE per 1,000 ids, then the
   jobs are enqueued), then polls the database until every
   withdrawal is paid. The rate is counted from the first job's enqueue time (RQ's
   `enqueued_at`) to the last `paid_at`; approve_many's own time is printed apart;
4. checks: every withdrawal `paid`; the emulator's `transfers_paid` has one key per
   withdrawal and no count above 1 (duplicates), it was asked to transfer exactly once per
   withdrawal, `check_all()` is empty and no withdrawing balance is left;
5. breakdown: from RQ's finished jobs, job duration (mean, p50, max), how busy each worker
   was; the CPU used by the workers (with their horses), the emulator, MariaDB, Redis, this
   script (polling) and other processes from the enqueue to the end (% of one core, and ms
   per payout: the steadier figure on a shared machine); with `--probe N`, N more
   withdrawals paid one by one in this process by `payouts.pay_one` with each part timed:
   the lease (`take_leases`: the UPDATE and the read-back), the gateway call (`send`: the
   emulator's HTTP round trip) and `mark_paid`, with the round trips to MariaDB each made (timed at
   the driver); with `--py-spy PATH` (a py-spy binary: `pip install py-spy` in any venv)
   the first worker is sampled (`--gil`: where its CPU goes) through the timed phase and
   the inclusive share of the functions that matter is printed.

Exit status 0 when every check passed (the target, 150 payouts/s, is reported, not
enforced). The machine is shared: the CPU line says how much went to other processes, which
lowers every figure.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pymysql
import requests

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
if str(ROOT) not in sys.path:  # run as a script: make `config`, `jobs`, `wxdist` importable
    sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402

from bench._harness import (  # noqa: E402
    Database,
    Service,
    cpu_seconds,
    free_port,
    machine_cpu,
    pids_named,
    process_tree,
    start_service,
    wait_http,
)
from config import load_settings  # noqa: E402

TARGET_PER_S = 150.0
WORKER_CLASSES = {
    "app": "jobs.worker.AppWorker",
    "fork": "rq.worker.Worker",
    "simple": "rq.worker.SimpleWorker",
}
# Queues and flags of a worker as the README deploys it (`app`); the others listen on QUEUE.
QUEUE = "payouts"
APP_WORKER_ARGS = ("--with-scheduler", "default", QUEUE)
REDIS_KEY_PATTERNS = ("rq:*", "wxdist:*")  # what RQ and the token cache write
# Settings the processes must take from their defaults (dev keys, emulator).
SCRUBBED_ENV = (
    "DATABASE_URL",
    "REDIS_URL",
    "WXDIST_ENV",
    "GATEWAY",
    "SECRET_KEY",
    "DATA_ENCRYPTION_KEY",
    "PUBLIC_BASE_URL",
    "EMULATOR_URL",
    "PORT",
)
SCRUBBED_PREFIXES = ("WECHAT_", "ALIPAY_", "EMULATOR_")
# Functions whose inclusive share of the py-spy samples is printed (substring of a frame).
SPY_FRAMES = (
    ("create_app (per job)", "create_app (wxdist/__init__.py"),
    ("pay_batch", "pay_batch (wxdist/money/payouts.py"),
    ("pay_one", "pay_one (wxdist/money/payouts.py"),
    ("  take_leases", "take_leases (wxdist/money/payouts.py"),
    ("  send (gateway)", "send (wxdist/money/payouts.py"),
    ("  mark_paid", "mark_paid (wxdist/money/withdrawals.py"),
    ("SQL execute (driver)", "execute (pymysql/cursors.py"),
    ("COMMIT", "commit (pymysql/connections.py"),
    ("HTTP to the emulator", "send (requests/adapters.py"),
)


# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class Scenario:
    worker_class: str  # app | fork | simple
    batch: int
    count: int = 0  # withdrawals; 0: --withdrawals

    @property
    def name(self) -> str:
        return f"{self.worker_class}/{self.batch}" + (f":{self.count}" if self.count else "")


# The app as the README deploys it: AppWorker, batch 50 (approve_many's default).
DEFAULT_SCENARIOS = (Scenario("app", 50),)


@dataclass(frozen=True)
class Options:
    withdrawals: int
    distributors: int
    workers: int
    scenarios: tuple[Scenario, ...]
    probe: int
    py_spy: str
    mysql_url: str
    redis_url: str
    keep_db: bool
    timeout: float


def parse_scenario(raw: str) -> Scenario:
    kind, _, rest = raw.partition("/")
    batch, _, count = rest.partition(":")
    if (
        kind not in WORKER_CLASSES
        or not batch.isdigit()
        or int(batch) < 1
        or (count and (not count.isdigit() or int(count) < 1))
    ):
        raise argparse.ArgumentTypeError(
            f"{raw!r}: want app/BATCH, fork/BATCH or simple/BATCH, then [:COUNT]"
        )
    return Scenario(kind, int(batch), int(count or 0))


def parse_args(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description="Benchmark WeChat v2 payouts on RQ workers.")
    parser.add_argument("--withdrawals", type=int, default=10_000)
    parser.add_argument("--distributors", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=2, help="RQ worker processes")
    parser.add_argument(
        "--scenario",
        type=parse_scenario,
        action="append",
        help="WORKER-CLASS/BATCH[:COUNT], e.g. app/50 (repeatable; COUNT overrides "
        "--withdrawals; default: app/50)",
    )
    parser.add_argument("--probe", type=int, default=200, help="payouts timed part by part")
    parser.add_argument("--py-spy", default="", help="path of a py-spy binary: sample worker 1")
    parser.add_argument("--mysql-url", default="mysql+pymysql://root@127.0.0.1:3306")
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/14",
        help="a Redis database nobody else uses now: its rq:* and wxdist:* keys are deleted "
        "before and after",
    )
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for paid")
    parser.add_argument("--keep-db", action="store_true")
    ns = parser.parse_args(argv)
    if ns.withdrawals < 1 or ns.distributors < 1 or ns.workers < 1:
        parser.error("--withdrawals, --distributors and --workers must be positive")
    return Options(
        withdrawals=ns.withdrawals,
        distributors=min(ns.distributors, ns.withdrawals),
        workers=ns.workers,
        scenarios=tuple(ns.scenario or DEFAULT_SCENARIOS),
        probe=ns.probe,
        py_spy=ns.py_spy,
        mysql_url=ns.mysql_url.rstrip("/"),
        redis_url=ns.redis_url,
        keep_db=ns.keep_db,
        timeout=ns.timeout,
    )


# --------------------------------------------------------------------------- processes


def base_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in SCRUBBED_ENV and not k.startswith(SCRUBBED_PREFIXES)
    }
    env.update(PYTHONPATH=str(ROOT), FLASK_APP="wsgi.py", PYTHONUNBUFFERED="1")
    return env


# --------------------------------------------------------------------------- CPU accounting


class CpuMeter:
    """CPU seconds of process groups over a phase. A group is (root pids, with children):
    worker roots count their reaped work-horses too, plus the horses alive at the end."""

    def __init__(self, groups: dict[str, list[int]], with_children: set[str]) -> None:
        self.groups = groups
        self.with_children = with_children
        self.started = time.monotonic()
        self.before = {name: self._group(name) for name in groups}
        self.busy_before = machine_cpu()[0]

    def _group(self, name: str) -> float:
        children = name in self.with_children
        total = 0.0
        for root in self.groups[name]:
            total += cpu_seconds(root, children=children)
            if children:  # live descendants (a horse at work) are not reaped yet
                total += sum(cpu_seconds(pid) for pid in process_tree(root)[1:])
        return total

    def report(self) -> tuple[float, dict[str, float], float]:
        """(wall seconds, CPU seconds per group, CPU seconds of everything else)."""
        wall = max(time.monotonic() - self.started, 1e-9)
        used = {name: max(self._group(name) - self.before[name], 0.0) for name in self.groups}
        machine = machine_cpu()[0] - self.busy_before
        return wall, used, max(machine - sum(used.values()), 0.0)


# --------------------------------------------------------------------------- database


def make_app(database: Database, redis_url: str, emulator_url: str) -> Flask:
    import logging

    from wxdist import create_app

    settings = load_settings({"DATABASE_URL": database.url, "REDIS_URL": redis_url})
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database.url,
            "SQLALCHEMY_ENGINE_OPTIONS": settings["SQLALCHEMY_ENGINE_OPTIONS"],
            "REDIS_URL": redis_url,
            "INLINE_JOBS": False,
            "EMULATOR_URL": emulator_url,
        }
    )
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    logging.disable(logging.INFO)  # alembic's fileConfig turned INFO logging on
    return app


@dataclass
class Seeded:
    ids: list[int]  # to approve (timed)
    probe_ids: list[int]  # approved without a job, paid in-process by the probe
    net_by_number: dict[str, int]  # of `ids`


def seed(app: Flask, withdrawals: int, distributors: int, probe: int) -> Seeded:
    """Distributors, balances, withdrawals and ledger entries as `request_withdrawal` leaves
    them, by bulk INSERT (ids chosen here: the database is fresh)."""
    from sqlalchemy import insert

    from wxdist.core.extensions import db
    from wxdist.distribution.settings import update_settings
    from wxdist.models import (
        DistributorAccount,
        LedgerBucket,
        LedgerEntry,
        User,
        Withdrawal,
        WithdrawalStatus,
    )
    from wxdist.models.distribution import Distributor, DistributorStatus
    from wxdist.models.types import utcnow
    from wxdist.money.account_vault import seal
    from wxdist.money.withdrawals import fee_for

    total = withdrawals + probe
    with app.app_context():
        settings = update_settings(
            wechat_payout_api="v2",
            withdraw_methods="wechat",
            withdraw_daily_max_fen=10**9,
            withdraw_fee_bp=100,
            withdraw_min_fee_fen=10,
        )
        now = utcnow()
        run = secrets.token_hex(3).upper()
        sealed = {"": seal({"name": ""}), "王五": seal({"name": "王五"})}
        owner = [1 + i % distributors for i in range(total)]
        amount = [1000 + (i * 7919) % 9000 for i in range(total)]
        held: dict[int, int] = defaultdict(int)
        for uid, fen in zip(owner, amount, strict=True):
            held[uid] += fen
        credit = {uid: held[uid] + 500 * (uid % 3) for uid in range(1, distributors + 1)}
        rows_w, rows_l, net_by_number = [], [], {}
        for i in range(total):
            wid, uid, fen = i + 1, owner[i], amount[i]
            fee = fee_for(fen, settings)
            name = "王五" if i % 2 else ""
            number = f"WD{now:%Y%m%d}{wid:010d}{run}"
            if wid <= withdrawals:
                net_by_number[number] = fen - fee
            rows_w.append(
                {
                    "id": wid,
                    "user_id": uid,
                    "amount_fen": fen,
                    "fee_fen": fee,
                    "net_fen": fen - fee,
                    "method": "wechat",
                    "payout_api": "v2",
                    "account_encrypted": sealed[name],
                    "account_masked": "微信零钱",
                    "status": WithdrawalStatus.PENDING_REVIEW,
                    "payout_no": number,
                    "review_note": "",
                    "attempts": 0,
                    "created_at": now,
                }
            )
            for suffix, bucket, signed in (
                ("out", LedgerBucket.AVAILABLE, -fen),
                ("in", LedgerBucket.WITHDRAWING, fen),
            ):
                rows_l.append(
                    {
                        "key": f"w{wid}:hold:{suffix}",
                        "user_id": uid,
                        "bucket": bucket,
                        "amount_fen": signed,
                        "kind": "withdraw",
                        "note": "",
                        "created_at": now,
                    }
                )
        users = range(1, distributors + 1)
        session = db.session
        session.execute(
            insert(User),
            [{"id": uid, "openid": f"o-payb-{run}-{uid:06d}", "nickname": ""} for uid in users],
        )
        session.execute(
            insert(Distributor),
            [
                {
                    "user_id": uid,
                    "status": DistributorStatus.APPROVED,
                    "real_name": "王五",
                    "applied_at": now,
                    "reviewed_at": now,
                    "approved_at": now,
                }
                for uid in users
            ],
        )
        session.execute(
            insert(DistributorAccount),
            [
                {
                    "user_id": uid,
                    "available_fen": credit[uid] - held[uid],
                    "withdrawing_fen": held[uid],
                    "lifetime_earned_fen": credit[uid],
                    "updated_at": now,
                }
                for uid in users
            ],
        )
        credits = [
            {
                "key": f"payb-seed:{uid}",
                "user_id": uid,
                "bucket": LedgerBucket.AVAILABLE,
                "amount_fen": credit[uid],
                "kind": "commission",
                "note": "bench setup",
                "created_at": now,
            }
            for uid in users
        ]
        entries = credits + rows_l
        for chunk in range(0, len(entries), 5000):
            session.execute(insert(LedgerEntry), entries[chunk : chunk + 5000])
        for chunk in range(0, len(rows_w), 5000):
            session.execute(insert(Withdrawal), rows_w[chunk : chunk + 5000])
        probe_ids = list(range(withdrawals + 1, total + 1))
        if probe_ids:
            from sqlalchemy import update

            session.execute(
                update(Withdrawal)
                .where(Withdrawal.id.in_(probe_ids))
                .values(status=WithdrawalStatus.APPROVED, reviewed_at=now)
            )
        session.commit()
        from wxdist.reporting.reconcile import check_all

        problems = check_all()
        session.remove()
    if problems:
        raise RuntimeError(f"the seeded books do not reconcile: {problems[:5]}")
    return Seeded(list(range(1, withdrawals + 1)), probe_ids, net_by_number)


def count_by_status(conn: pymysql.connections.Connection) -> dict[str, int]:  # type: ignore[type-arg]
    with conn.cursor() as cur:
        cur.execute("SELECT status, COUNT(*) FROM withdrawals GROUP BY status")
        return {status: count for status, count in cur.fetchall()}


# --------------------------------------------------------------------------- redis


def redis_in_use(url: str) -> str:
    """Why the Redis database looks in use by someone else (registered workers), or ""."""
    import redis
    from rq import Worker

    now = datetime.now(UTC)
    host = socket.gethostname()

    def alive(worker: Worker) -> bool:
        # A killed worker stays registered until its key expires (worker_ttl, 420 s).
        if worker.hostname == host and worker.pid and not Path(f"/proc/{worker.pid}").exists():
            return False
        beat = worker.last_heartbeat
        return beat is not None and (now - beat).total_seconds() < 90

    live = [w for w in Worker.all(connection=redis.Redis.from_url(url)) if alive(w)]
    return f"{len(live)} live RQ worker(s) registered" if live else ""


def clean_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    for pattern in REDIS_KEY_PATTERNS:
        for key in client.scan_iter(pattern, count=500):
            client.delete(key)


def wait_workers(url: str, count: int, services: list[Service], timeout: float = 60) -> None:
    import redis
    from rq import Queue, Worker

    queue = Queue(QUEUE, connection=redis.Redis.from_url(url))
    deadline = time.monotonic() + timeout
    while Worker.count(queue=queue) < count:
        for service in services:
            if service.proc.poll() is not None:
                raise RuntimeError(f"{service.name} exited:\n{service.log_tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError("the RQ workers did not register")
        time.sleep(0.1)


def warm_up(url: str, workers: int, timeout: float = 60) -> None:
    """One empty payout job per worker, untimed: a SimpleWorker builds its app (imports,
    create_app: ~1.5 s of CPU) at its first job, once; a forking worker does it in every
    job's horse, which is what the timed phase measures."""
    import redis
    from rq import Queue

    queue = Queue(QUEUE, connection=redis.Redis.from_url(url))
    jobs = [queue.enqueue("jobs.payouts.pay_withdrawals", []) for _ in range(workers)]
    deadline = time.monotonic() + timeout
    while not all(job.get_status(refresh=True) == "finished" for job in jobs):
        if time.monotonic() > deadline:
            raise RuntimeError("the warm-up jobs did not finish")
        time.sleep(0.1)
    for job in jobs:
        job.delete()


@dataclass
class JobTimes:
    count: int = 0
    first_enqueued: datetime | None = None
    durations: list[float] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)  # enqueue → start
    busy_by_worker: dict[str, float] = field(default_factory=dict)
    results: Counter[str] = field(default_factory=Counter)
    failed: int = 0


def job_times(url: str) -> JobTimes:
    import redis
    from rq import Queue
    from rq.job import Job

    connection = redis.Redis.from_url(url)
    queue = Queue(QUEUE, connection=connection)
    times = JobTimes(failed=queue.failed_job_registry.count)
    ids = queue.finished_job_registry.get_job_ids()
    busy: dict[str, float] = defaultdict(float)
    for job in Job.fetch_many(ids, connection=connection):
        if job is None or job.started_at is None or job.ended_at is None:
            continue
        times.count += 1
        duration = (job.ended_at - job.started_at).total_seconds()
        times.durations.append(duration)
        if job.enqueued_at is not None:
            times.waits.append((job.started_at - job.enqueued_at).total_seconds())
            if times.first_enqueued is None or job.enqueued_at < times.first_enqueued:
                times.first_enqueued = job.enqueued_at
        busy[job.worker_name or "?"] += duration
        result = job.return_value()
        if isinstance(result, dict):
            times.results.update(result)
    times.busy_by_worker = dict(busy)
    return times


# --------------------------------------------------------------------------- probe


@dataclass
class PartCost:
    calls: int = 0
    seconds: float = 0.0
    statements: int = 0
    sql_seconds: float = 0.0


@contextmanager
def round_trips() -> Iterator[list[float]]:
    """Appends the duration of every round trip to MariaDB made in this process (a
    statement, a COMMIT or ROLLBACK, a pool pre-ping), timed at the driver (pymysql)."""
    from pymysql.connections import Connection

    durations: list[float] = []
    saved = {name: getattr(Connection, name) for name in ("query", "commit", "rollback", "ping")}

    def timed(method):  # type: ignore[no-untyped-def]
        def wrapper(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return method(self, *args, **kwargs)
            finally:
                durations.append(time.perf_counter() - started)

        return wrapper

    for name, method in saved.items():
        setattr(Connection, name, timed(method))
    try:
        yield durations
    finally:
        for name, method in saved.items():
            setattr(Connection, name, method)


def probe(app: Flask, ids: list[int]) -> tuple[dict[str, PartCost], float]:
    """Pay `ids` one by one in this process with pay_one's parts wrapped in timers."""
    from wxdist.core.extensions import db
    from wxdist.money import payouts, withdrawals

    parts: dict[str, PartCost] = defaultdict(PartCost)
    originals = {
        "lease (take_leases)": (payouts, "take_leases"),
        "gateway (send)": (payouts, "send"),
        "mark_paid": (withdrawals, "mark_paid"),
    }
    saved = {name: getattr(module, attr) for name, (module, attr) in originals.items()}

    with round_trips() as statements:

        def timed(name: str, func):  # type: ignore[no-untyped-def]
            def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
                before_n, before_s = len(statements), sum(statements)
                started = time.perf_counter()
                try:
                    return func(*args, **kwargs)
                finally:
                    part = parts[name]
                    part.calls += 1
                    part.seconds += time.perf_counter() - started
                    part.statements += len(statements) - before_n
                    part.sql_seconds += sum(statements) - before_s

            return wrapper

        for name, (module, attr) in originals.items():
            setattr(module, attr, timed(name, saved[name]))
        try:
            started = time.perf_counter()
            whole = timed("pay_one (whole)", payouts.pay_one)
            for withdrawal_id in ids:
                with app.app_context():
                    result = whole(withdrawal_id)
                    db.session.remove()
                if result is not payouts.Result.PAID:
                    raise RuntimeError(f"probe: withdrawal {withdrawal_id} → {result}")
            elapsed = time.perf_counter() - started
        finally:
            for name, (module, attr) in originals.items():
                setattr(module, attr, saved[name])
    return dict(parts), elapsed


# --------------------------------------------------------------------------- py-spy


def spy_summary(raw_path: Path) -> tuple[int, list[tuple[str, float]], list[tuple[str, float]]]:
    """(samples, inclusive share of SPY_FRAMES, top self frames) from py-spy's raw output
    (collapsed stacks: `frame;frame;… count`)."""
    total = 0
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    for line in raw_path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        for label, needle in SPY_FRAMES:
            if any(needle in frame for frame in frames):
                inclusive[label] += count
        leaf[frames[-1]] += count
    shares = [(label, inclusive[label] / max(total, 1)) for label, _ in SPY_FRAMES]
    top = [(frame, count / max(total, 1)) for frame, count in leaf.most_common(12)]
    return total, shares, top


# --------------------------------------------------------------------------- a scenario


@dataclass
class Figures:
    scenario: Scenario
    withdrawals: int
    paid: int = 0
    approve_s: float = 0.0
    enqueue_to_paid_s: float = 0.0
    rate: float = 0.0
    duplicates: int = 0
    transfer_calls: int = 0
    transfers_paid: int = 0
    problems: list[str] = field(default_factory=list)
    jobs: JobTimes | None = None
    cpu_wall: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    cpu_others: float = 0.0
    probe: dict[str, PartCost] = field(default_factory=dict)
    probe_s: float = 0.0
    spy: tuple[int, list[tuple[str, float]], list[tuple[str, float]]] | None = None


def start_worker(
    index: int, opts: Options, scenario: Scenario, env: dict[str, str], workdir: Path
) -> Service:
    """The index-th RQ worker of the scenario's class on its queues."""
    queues = APP_WORKER_ARGS if scenario.worker_class == "app" else (QUEUE,)
    return start_service(
        f"worker{index + 1}-{scenario.worker_class}",
        [
            str(VENV_BIN / "rq"),
            "worker",
            *queues,
            "--url",
            opts.redis_url,
            "--worker-class",
            WORKER_CLASSES[scenario.worker_class],
            "--name",
            f"payb-{index + 1}-{secrets.token_hex(3)}",
        ],
        env,
        workdir,
    )


def start_spy(py_spy: str, pid: int, workdir: Path) -> subprocess.Popen[bytes]:
    """py-spy recording `pid` and its children into workdir/spy.txt (raw, GIL holder only)."""
    spy = subprocess.Popen(
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--rate",
            "100",
            "--gil",  # only the thread holding the GIL: where the CPU goes
            "--format",
            "raw",
            "--output",
            str(workdir / "spy.txt"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "spy.log").open("wb"),
        start_new_session=True,
    )
    time.sleep(1.0)  # py-spy attaches
    return spy


def wait_all_paid(
    database: Database, n: int, workers: list[Service], timeout: float
) -> tuple[int, float]:
    """Poll until withdrawals 1..n are paid: (how many are paid, the epoch time of the last
    payout). Raises RuntimeError after `timeout` seconds or when a worker exits."""
    last_paid = 0
    deadline = time.monotonic() + timeout
    poll = database.connect()  # autocommit: each count sees the latest commits
    while True:
        counts = count_by_status(poll)
        paid = counts.get("paid", 0)
        last_paid = paid
        if paid >= n:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"not all paid after {timeout:.0f} s: {counts}")
        for worker in workers:
            if worker.proc.poll() is not None:
                raise RuntimeError(f"{worker.name} exited:\n{worker.log_tail()}")
        time.sleep(0.2)
    with poll.cursor() as cur:  # the last payout's own time, not the poll's
        cur.execute("SELECT MAX(paid_at) FROM withdrawals WHERE id <= %s", (n,))
        (last_paid_at,) = cur.fetchone()
    done_at = last_paid_at.replace(tzinfo=UTC).timestamp()
    poll.close()
    return last_paid, done_at


def check_transfers(figures: Figures, emulator_url: str, expected: set[str], n: int) -> None:
    """Fill the transfer figures from the emulator's counts and note what is wrong: numbers
    paid that were not expected (or missing), paid twice, or more calls than payouts."""
    stats = requests.get(f"{emulator_url}/_emulator/wechat/stats", timeout=30).json()
    paid_counts: dict[str, int] = stats["transfers_paid"]
    figures.transfers_paid = len(paid_counts)
    figures.duplicates = sum(1 for count in paid_counts.values() if count > 1)
    figures.transfer_calls = stats["transfers"]
    if set(paid_counts) != expected:
        figures.problems.append(
            f"the emulator paid {len(paid_counts)} numbers, {len(expected)} expected"
        )
    if figures.duplicates:
        figures.problems.append(f"{figures.duplicates} numbers paid more than once")
    if figures.transfer_calls != n:
        figures.problems.append(f"{figures.transfer_calls} transfer calls for {n} payouts")


def run_scenario(opts: Options, scenario: Scenario, workdir: Path) -> Figures:
    from wxdist.core.extensions import db
    from wxdist.money import withdrawals

    n = scenario.count or opts.withdrawals
    figures = Figures(scenario, withdrawals=n)
    database = Database(opts.mysql_url, f"wxdist_payb_{secrets.token_hex(4)}")
    services: list[Service] = []
    spy: subprocess.Popen[bytes] | None = None
    database.create()
    try:
        env = base_env()
        port = free_port()
        emulator_url = f"http://127.0.0.1:{port}"
        env.update(DATABASE_URL=database.url, REDIS_URL=opts.redis_url, EMULATOR_URL=emulator_url)
        app = make_app(database, opts.redis_url, emulator_url)
        started = time.monotonic()
        seeded = seed(app, n, min(opts.distributors, n), opts.probe)
        print(
            f"[{scenario.name}] seeded {n} + {opts.probe} withdrawals of "
            f"{min(opts.distributors, n)} distributors in {time.monotonic() - started:.1f} s "
            f"(database {database.name})"
        )
        emulator = start_service(
            "emulator",
            [str(VENV_BIN / "flask"), "emulator", "--port", str(port)],
            env,
            workdir,
        )
        services.append(emulator)
        wait_http(emulator, f"{emulator_url}/_emulator/health")
        for i in range(opts.workers):
            services.append(start_worker(i, opts, scenario, env, workdir))
        workers = services[1:]
        wait_workers(opts.redis_url, opts.workers, workers)
        warm_up(opts.redis_url, opts.workers)
        if opts.py_spy:
            spy = start_spy(opts.py_spy, workers[0].proc.pid, workdir)

        t0 = time.monotonic()
        with app.app_context():
            moved = withdrawals.approve_many(seeded.ids, batch=scenario.batch)
            db.session.remove()
        figures.approve_s = time.monotonic() - t0
        # From here: the jobs are queued (approve_many enqueues them as it ends).
        groups = {
            "workers": [w.proc.pid for w in workers],
            "emulator": process_tree(emulator.proc.pid),
            "mariadb": pids_named("mariadbd", "mysqld"),
            "redis": pids_named("redis-server"),
            "bench": [os.getpid()],
        }
        meter = CpuMeter(groups, with_children={"workers"})
        if moved != n:
            raise RuntimeError(f"approve_many moved {moved} of {n}")
        last_paid, done_at = wait_all_paid(database, n, workers, opts.timeout)
        figures.cpu_wall, figures.cpu, figures.cpu_others = meter.report()
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            with suppress(subprocess.TimeoutExpired):
                spy.wait(timeout=30)
        figures.paid = last_paid
        figures.jobs = job_times(opts.redis_url)
        if figures.jobs.first_enqueued is not None:
            first = figures.jobs.first_enqueued.timestamp()
            figures.enqueue_to_paid_s = done_at - first
            figures.rate = n / max(figures.enqueue_to_paid_s, 1e-9)

        check_transfers(figures, emulator_url, set(seeded.net_by_number), n)
        if figures.jobs.failed:
            figures.problems.append(f"{figures.jobs.failed} failed jobs")
        figures.problems += verify_books(app, n)

        if seeded.probe_ids:
            figures.probe, figures.probe_s = probe(app, seeded.probe_ids)
        if spy is not None and (workdir / "spy.txt").exists():
            figures.spy = spy_summary(workdir / "spy.txt")
        with app.app_context():
            db.engine.dispose()
        return figures
    finally:
        if spy is not None and spy.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(spy.pid, signal.SIGKILL)
        for service in reversed(services):
            service.stop()
        clean_redis(opts.redis_url)
        if not opts.keep_db:
            database.drop()


def verify_books(app: Flask, withdrawals: int) -> list[str]:
    from sqlalchemy import func, select

    from wxdist.core.extensions import db
    from wxdist.models import DistributorAccount, Withdrawal, WithdrawalStatus
    from wxdist.reporting.reconcile import check_all

    problems = []
    with app.app_context():
        paid = db.session.scalar(
            select(func.count()).where(
                Withdrawal.status == WithdrawalStatus.PAID, Withdrawal.id <= withdrawals
            )
        )
        if paid != withdrawals:
            problems.append(f"{paid} of {withdrawals} paid")
        problems += check_all()
        withdrawing = db.session.scalar(
            select(func.coalesce(func.sum(DistributorAccount.withdrawing_fen), 0))
        )
        probe_left = db.session.scalar(
            select(func.coalesce(func.sum(Withdrawal.amount_fen), 0)).where(
                Withdrawal.id > withdrawals
            )
        )
        if withdrawing != probe_left:  # only the probe's withdrawals may still be held
            problems.append(f"withdrawing {withdrawing} left (probe holds {probe_left})")
        db.session.remove()
    return problems


# --------------------------------------------------------------------------- report


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def print_scenario(f: Figures, opts: Options) -> None:
    s = f.scenario
    jobs = f.jobs or JobTimes()
    print()
    print(f"== {s.name}: {opts.workers} x {WORKER_CLASSES[s.worker_class]}, batch {s.batch} ==")
    print(
        f"approve_many({f.withdrawals} ids, batch={s.batch}): {f.approve_s:.1f} s "
        "(untimed: one UPDATE per 1,000 ids, then the jobs are enqueued)"
    )
    verdict = "PASS" if f.rate >= TARGET_PER_S else "MISS"
    print(
        f"enqueue → all paid: {f.enqueue_to_paid_s:.1f} s → {f.rate:.0f} payouts/s "
        f"(target ≥ {TARGET_PER_S:.0f}: {verdict})"
    )
    print(
        f"emulator: {f.transfers_paid} numbers paid, duplicates (count > 1): {f.duplicates}, "
        f"transfer calls: {f.transfer_calls}"
    )
    if jobs.durations:
        busy = ", ".join(
            f"{100 * seconds / max(f.enqueue_to_paid_s, 1e-9):.0f}%"
            for seconds in jobs.busy_by_worker.values()
        )
        print(
            f"jobs: {jobs.count} finished, {jobs.failed} failed, results {dict(jobs.results)}; "
            f"duration mean {statistics.mean(jobs.durations):.2f} s, p50 "
            f"{pct(jobs.durations, 0.5):.2f} s, max {max(jobs.durations):.2f} s "
            f"({statistics.mean(jobs.durations) / s.batch * 1000:.1f} ms per payout per job); "
            f"workers busy {busy} of the time"
        )
    if f.cpu:
        parts = ", ".join(
            f"{name} {100 * sec / f.cpu_wall:.0f}% ({1000 * sec / f.withdrawals:.1f} ms/payout)"
            for name, sec in f.cpu.items()
        )
        cores = os.cpu_count() or 1
        print(
            f"CPU (% of one core, of {100 * cores}%): {parts}, other processes "
            f"{100 * f.cpu_others / f.cpu_wall:.0f}%"
        )
    if f.probe:
        n = f.probe["pay_one (whole)"].calls
        print(
            f"probe: {n} payouts one at a time in this process: "
            f"{1000 * f.probe_s / max(n, 1):.1f} ms each"
        )
        for name, part in f.probe.items():
            print(
                f"  {name:<22} {1000 * part.seconds / part.calls:6.2f} ms, "
                f"{part.statements / part.calls:4.1f} round trips to MariaDB "
                f"({1000 * part.sql_seconds / part.calls:5.2f} ms in them)"
            )
    if f.spy:
        samples, shares, top = f.spy
        print(f"py-spy, worker 1 and its horses ({samples} samples, inclusive):")
        for label, share in shares:
            print(f"  {label:<24} {100 * share:5.1f}%")
        print("  top frames by own samples:")
        for frame, share in top:
            print(f"    {100 * share:5.1f}%  {frame[:110]}")
    for problem in f.problems:
        print(f"PROBLEM: {problem}")


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    busy = redis_in_use(opts.redis_url)
    if busy:
        print(f"{opts.redis_url} is in use ({busy}): give the bench a Redis database of its own")
        return 2
    clean_redis(opts.redis_url)  # leftovers (jobs a test run left) would mix in
    load = os.getloadavg()[0]
    print(
        f"{opts.withdrawals} withdrawals of {opts.distributors} distributors, "
        f"{opts.workers} workers, scenarios {', '.join(s.name for s in opts.scenarios)}; "
        f"load average {load:.1f} on {os.cpu_count()} cores"
    )
    results = []
    with tempfile.TemporaryDirectory(prefix="payb-") as tmp:
        for scenario in opts.scenarios:
            workdir = Path(tmp) / scenario.name.replace("/", "-")
            workdir.mkdir()
            figures = run_scenario(opts, scenario, workdir)
            print_scenario(figures, opts)
            results.append(figures)
    print()
    print("summary:")
    for f in results:
        mark = "ok" if not f.problems else f"{len(f.problems)} PROBLEM(S)"
        print(
            f"  {f.scenario.name:<20} {f.rate:6.0f} payouts/s  duplicates {f.duplicates}  "
            f"checks {mark}"
        )
    return 0 if all(not f.problems for f in results) else 1


if __name__ == "__main__":
    sys.exit(main())
