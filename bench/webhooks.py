"""Webhook delivery benchmark (issue 18): throughput of a backlog and latency at a steady
rate, through the app's own outbox and drain job on real RQ workers (never part of the
test suite).

Run from the repository root (MariaDB at 127.0.0.1:3306 as root, Redis at 127.0.0.1:6379):

    .venv/bin/python -u bench/webhooks.py [--events 10000] [--rate 100] [--seconds 20]
                                          [--workers 2] [--redis-url redis://127.0.0.1:6379/13]

On a fresh MariaDB database (dropped at the end) with one endpoint taking every event, a
receiver of its own process (bench/webhook_receiver.py: answers 200 at once, logs each
arrival) and `--workers` RQ workers as the README deploys them (`rq worker -w
jobs.worker.AppWorker default payouts`):

1. backlog: `--events` events written by `outbox.record` (100 per transaction) while no
   worker runs, then the workers start; deliveries per second from the first arrival to
   the last (target >= 300/s), and every event delivered exactly once (a thread runs the
   periodic sweep every 15 s, as `rq cron` does, so a failed attempt is retried);
2. steady: the workers running, one event per transaction at `--rate` a second for
   `--seconds`; per event, the time from just before its commit to its arrival at the
   receiver: p50 / p95 / p99 (target p99 < 2 s).

Prints the figures and a verdict; exits 0 only when both targets hold.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._harness import (  # noqa: E402
    VENV_BIN,
    Database,
    app_context,
    app_env,
    free_port,
    migrate,
    start_service,
    warn_if_busy,
)

TARGET_RATE, TARGET_P99_S = 300.0, 2.0
PER_TRANSACTION = 100
SWEEP_SECONDS = 15  # wxdist/core/schedule.py


def arrivals(path: Path) -> list[tuple[float, str, int]]:
    rows = []
    for line in path.read_text().splitlines():
        at, message_id, seq = line.split()
        rows.append((float(at), message_id, int(seq)))
    return rows


def wait_arrivals(path: Path, count: int, timeout: float) -> list[tuple[float, str, int]]:
    """The arrivals once `count` distinct events have arrived (or at `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        found = arrivals(path) if path.exists() else []
        if len({seq for _a, _m, seq in found}) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def wait_workers(url: str, count: int, timeout: float = 60.0) -> None:
    import redis
    from rq import Worker

    deadline = time.monotonic() + timeout
    while len(Worker.all(connection=redis.Redis.from_url(url))) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{count} RQ workers did not register in {timeout:.0f} s")
        time.sleep(0.2)


def _sweep(app: Any, stop: threading.Event) -> None:
    """`jobs.webhooks.sweep_webhooks` on its schedule (every 15 s), as `rq cron` runs it:
    a delivery that failed once (a reset connection under load) comes due again."""
    from wxdist.core.extensions import db as sa
    from wxdist.integrations import delivery

    while not stop.wait(SWEEP_SECONDS):
        with app.app_context():
            delivery.sweep()
            sa.session.remove()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--mysql-url", default="mysql+pymysql://root@127.0.0.1:3306")
    opts = parser.parse_args(argv)

    import redis

    redis.Redis.from_url(opts.redis_url).flushdb()
    db = Database(opts.mysql_url, f"wxdist_bench_hooks_{secrets.token_hex(4)}")
    workdir = Path(tempfile.mkdtemp(prefix="wxdist-webhooks-"))
    services = []
    print(f"wxdist webhook bench: db {db.name}, {opts.events:,} events, {opts.workers} workers,"
          f" {opts.rate:.0f}/s for {opts.seconds:.0f} s, {os.cpu_count()} cores")  # fmt: skip
    try:
        db.create()
        env = app_env(db, free_port(), "http://127.0.0.1:9", opts.redis_url)
        migrate(env)
        os.environ["REDIS_URL"] = opts.redis_url  # the app in this process enqueues on it
        port = free_port()
        log = workdir / "arrivals.txt"
        receiver = start_service(
            "receiver",
            [str(VENV_BIN / "python"), "bench/webhook_receiver.py", str(port), str(log)],
            env,
            workdir,
        )
        services.append(receiver)
        time.sleep(1.0)
        with app_context(db) as app:
            from wxdist.core.extensions import db as sa
            from wxdist.integrations import endpoints, outbox

            stop = threading.Event()
            sweeper = threading.Thread(target=_sweep, args=(app, stop), daemon=True)
            sweeper.start()  # what `rq cron` does in production: retries come due

            endpoints.create(f"http://127.0.0.1:{port}/hooks", ["*"], "bench")
            # 1. backlog
            started = time.monotonic()
            for first in range(0, opts.events, PER_TRANSACTION):
                for seq in range(first, min(first + PER_TRANSACTION, opts.events)):
                    outbox.record("order.paid", {"seq": seq, "order_no": f"WX{seq:010d}"})
                sa.session.commit()
            print(f"  backlog written: {time.monotonic() - started:.1f} s")
            warn_if_busy()
            for index in range(opts.workers):
                services.append(start_service(
                    f"worker{index + 1}",
                    [str(VENV_BIN / "rq"), "worker", "default", "payouts", "--url",
                     opts.redis_url, "-w", "jobs.worker.AppWorker",
                     "--name", f"hooks-{index + 1}-{secrets.token_hex(3)}"],
                    env, workdir,
                ))  # fmt: skip
            wait_workers(opts.redis_url, opts.workers)
            got = wait_arrivals(log, opts.events, timeout=600)
            first: dict[str, float] = {}
            for at, message_id, _seq in sorted(got):
                first.setdefault(message_id, at)
            times = sorted(first.values())
            span = times[-1] - times[0] if len(times) > 1 else 0.0
            rate = (len(times) - 1) / span if span else 0.0
            backlog_ok = rate >= TARGET_RATE and len(first) == opts.events
            print(f"backlog: {len(first):,} of {opts.events:,} events delivered "
                  f"({len(got) - len(first)} sent twice under one webhook-id), "
                  f"{rate:.0f} deliveries/s (target >= {TARGET_RATE:.0f}) "
                  f"{'PASS' if backlog_ok else 'FAIL'}")  # fmt: skip

            # 2. steady rate
            committed: dict[int, float] = {}
            base = opts.events
            interval = 1.0 / opts.rate
            total = int(opts.rate * opts.seconds)
            tick = time.monotonic()
            for n in range(total):
                seq = base + n
                outbox.record("order.paid", {"seq": seq, "order_no": f"WX{seq:010d}"})
                committed[seq] = time.time()
                sa.session.commit()
                tick += interval
                pause = tick - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
            achieved = total / (time.monotonic() - tick + total * interval)
            got = wait_arrivals(log, opts.events + total, timeout=120)
            stop.set()
        first_arrival = {}
        for at, _m, seq in got:
            if seq >= base and seq not in first_arrival:
                first_arrival[seq] = at
        latencies = sorted(first_arrival[s] - committed[s] for s in committed if s in first_arrival)
        missing = total - len(latencies)
        p = statistics.quantiles(latencies, n=100) if len(latencies) >= 100 else [float("inf")] * 99
        steady_ok = not missing and p[98] < TARGET_P99_S
        print(f"steady: {total:,} events at {achieved:.0f}/s, {missing} undelivered; commit to "
              f"delivery p50 {p[49] * 1000:.0f} ms, p95 {p[94] * 1000:.0f} ms, "
              f"p99 {p[98] * 1000:.0f} ms (target < {TARGET_P99_S * 1000:.0f} ms) "
              f"{'PASS' if steady_ok else 'FAIL'}")  # fmt: skip
        passed = backlog_ok and steady_ok
        print(f"verdict: {'PASS' if passed else 'FAIL'}")
        return 0 if passed else 1
    finally:
        for service in reversed(services):
            service.stop()
        db.drop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
