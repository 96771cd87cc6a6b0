"""A payout worker killed mid-batch: every withdrawal is still paid, and paid exactly once.

1,000 approved WeChat v2 withdrawals (the gateway answers synchronously) are paid by a real
`rq worker payouts` process. Once some but not all are paid, the emulator is made to hold
the answers of the next few transfers (it pays, then waits longer than the worker will
live), so the batch in progress has payouts the gateway made and the app never heard of;
then the worker and its work-horse are SIGKILLed, as an OOM kill or a lost machine would.

What production does next is replayed: time passes (leases, 120 s, and the 60 s grace of
approved rows are moved into the past instead of waited for), the periodic
`payouts.resume_stuck()` re-enqueues what nobody is paying, and a fresh worker (burst mode)
runs the queue: the remaining original batches and the re-enqueued ones, which overlap, so
two jobs reach some rows. Repeated until every withdrawal is paid. The crashed worker is
RQ's default (forking) worker, as deployed; the recovery worker is `--worker-class
rq.worker.SimpleWorker`, only for speed: a forking worker builds the app again in every
job's work-horse (~1.5 s of imports and create_app per batch of 50), which alone would take
this test past its time budget (see bench/payouts.py).

Checks: all paid; the emulator paid 1,000 numbers once each for their net amount, and was
asked to transfer exactly 1,000 times (what was paid before the crash was asked about, not
sent again); books reconcile; nothing left in withdrawing. Finally the killed job itself:
RQ retries it once its heartbeat lapses (Retry, not the failed registry), and the retry
pays nothing twice.

Needs MariaDB/MySQL (DATABASE_URL) and Redis (REDIS_URL): the crash needs a worker process
and a database shared between processes.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy import func, insert, select, update

from payments.emulator import EmulatorServer
from tests.workers import kill_worker, start_worker, worker_env
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
from wxdist.money import payouts, withdrawals
from wxdist.reporting.reconcile import check_all

pytestmark = pytest.mark.skipif(
    not (os.environ.get("DATABASE_URL", "").startswith("mysql") and os.environ.get("REDIS_URL")),
    reason="needs DATABASE_URL=mysql+pymysql://… and REDIS_URL: the crash is of a separate "
    "RQ worker process sharing the database",
)

ROOT = Path(__file__).resolve().parent.parent
RQ = Path(sys.executable).parent / "rq"
N = 1000
TRANSFERS = "/mmpaymkttransfers/promotion/transfers"
HELD = 8  # transfers whose answers the emulator holds at the crash (threads per batch)
MAX_ROUNDS = 5


# ---------------------------------------------------------------------------- setup


def seed_approved_withdrawals(app: Flask, n: int) -> list[int]:
    """n approved distributors, each with an available balance, and one withdrawal each made
    by `request_withdrawal` (not yet approved); returns the withdrawal ids.

    Setup by SQL: users, distributors, and accounts whose available balance is exactly the
    one ledger entry ("commission") written beside it, so the books reconcile. The
    withdrawals themselves go through the service, four at a time (distinct accounts)."""
    with app.app_context():
        update_settings(
            wechat_payout_api="v2",
            withdraw_methods="wechat",
            withdraw_daily_max_fen=10**9,
            withdraw_fee_bp=100,  # 1 %, at least 0.10 元: net differs from amount
            withdraw_min_fee_fen=10,
        )
        db.session.execute(insert(User), [{"openid": f"o-crash-{i:05d}"} for i in range(n)])
        user_ids = list(
            db.session.scalars(
                select(User.id).where(User.openid.like("o-crash-%")).order_by(User.id)
            )
        )
        now = utcnow()
        credit = {uid: 5000 + i for i, uid in enumerate(user_ids)}
        db.session.execute(
            insert(Distributor),
            [
                {
                    "user_id": uid,
                    "status": DistributorStatus.APPROVED,
                    "real_name": "王五",
                    "reviewed_at": now,
                    "approved_at": now,
                }
                for uid in user_ids
            ],
        )
        db.session.execute(
            insert(DistributorAccount),
            [
                {
                    "user_id": uid,
                    "available_fen": fen,
                    "lifetime_earned_fen": fen,
                    "updated_at": now,
                }
                for uid, fen in credit.items()
            ],
        )
        db.session.execute(
            insert(LedgerEntry),
            [
                {
                    "key": f"crash-seed:{uid}",
                    "user_id": uid,
                    "bucket": LedgerBucket.AVAILABLE,
                    "amount_fen": fen,
                    "kind": "commission",
                    "note": "test setup",
                }
                for uid, fen in credit.items()
            ],
        )
        db.session.commit()
        db.session.remove()

    def request(i: int, uid: int) -> int:
        account = withdrawals.AccountIn(real_name="王五" if i % 2 else "")
        with app.app_context():
            try:
                return withdrawals.request_withdrawal(uid, 1000 + i, "wechat", account).id
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(request, range(n), user_ids))


# ---------------------------------------------------------------------------- processes


# ---------------------------------------------------------------------------- observation


def status_counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(
            select(Withdrawal.status, func.count()).group_by(Withdrawal.status)
        ).all()
        db.session.remove()
    return {status: count for status, count in rows}


def wechat_stats(emulator: EmulatorServer) -> dict:
    return requests.get(f"{emulator.url}/_emulator/wechat/stats", timeout=10).json()


def log_tail(log: Path, lines: int = 40) -> str:
    with suppress(OSError):
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    return ""


def time_passes(app: Flask) -> int:
    """Instead of waiting: leases (LEASE, 120 s) and the 60 s grace resume_stuck gives an
    approved row move 10 minutes into the past, for every row still open."""
    past = timedelta(minutes=10)
    with app.app_context():
        moved = db.session.execute(
            update(Withdrawal)
            .where(Withdrawal.status.in_((WithdrawalStatus.APPROVED, WithdrawalStatus.PAYING)))
            .values(lease_until=utcnow() - past, reviewed_at=utcnow() - past),
            execution_options={"synchronize_session": False},
        ).rowcount
        db.session.commit()
        db.session.remove()
    assert past > payouts.LEASE
    return moved


# ---------------------------------------------------------------------------- the test


def test_a_worker_killed_mid_batch_leaves_every_withdrawal_paid_exactly_once(
    app: Flask, emulator: EmulatorServer, workers: list, tmp_path: Path
) -> None:
    started = time.monotonic()
    ids = seed_approved_withdrawals(app, N)
    with app.app_context():
        assert withdrawals.approve_many(ids) == N  # 20 jobs of 50 on "payouts"
        net = {w.payout_no: w.net_fen for w in db.session.scalars(select(Withdrawal))}
        db.session.remove()
    setup_s = time.monotonic() - started

    env = worker_env(app, emulator)
    log = tmp_path / "worker.log"
    first = start_worker(env, log)
    workers.append(first)

    # Let it pay some, then make the gateway pay the next HELD transfers but hold their
    # answers, so the batch in progress is stuck with paid-but-unknown payouts.
    deadline = time.monotonic() + 40
    while status_counts(app).get("paid", 0) < 100:
        assert first.poll() is None, f"the worker exited:\n{log_tail(log)}"
        assert time.monotonic() < deadline, f"no progress:\n{log_tail(log)}"
        time.sleep(0.05)
    transfers_before = wechat_stats(emulator)["transfers"]
    requests.post(
        f"{emulator.url}/_emulator/faults",
        json={"key": TRANSFERS, "mode": "timeout", "times": HELD, "seconds": 8},
        timeout=5,
    ).raise_for_status()
    armed_at = time.monotonic()
    while True:  # all HELD taken, or fewer if the batch had fewer left to send
        held = wechat_stats(emulator)["transfers"] - transfers_before
        if held >= HELD or (held and time.monotonic() - armed_at > 3):
            break
        assert time.monotonic() < deadline, f"the held transfers never came:\n{log_tail(log)}"
        time.sleep(0.02)
    time.sleep(0.3)  # the emulator pays, then holds the answer
    assert kill_worker(first) == 1, "expected the worker to be running a job (one work-horse)"
    requests.delete(f"{emulator.url}/_emulator/faults", timeout=5).raise_for_status()

    at_crash = status_counts(app)
    assert 0 < at_crash.get("paid", 0) < N, at_crash
    assert at_crash.get("paying", 0) >= 1, at_crash  # leases held by the dead horse
    with app.app_context():
        paying = set(
            db.session.scalars(
                select(Withdrawal.payout_no).where(Withdrawal.status == WithdrawalStatus.PAYING)
            )
        )
        db.session.remove()
    paid_unknown = paying & set(wechat_stats(emulator)["transfers_paid"])
    assert paid_unknown, "no payout was paid at the gateway but unknown to the app at the crash"

    # What production does after the crash, until everything is paid.
    rounds = []
    for _ in range(MAX_ROUNDS):
        if status_counts(app).get("paid", 0) == N:
            break
        stale = time_passes(app)
        with app.app_context():
            resumed = payouts.resume_stuck()
            db.session.remove()
        worker = start_worker(env, log, "--burst", "--worker-class", "rq.worker.SimpleWorker")
        workers.append(worker)
        assert worker.wait(timeout=60) == 0, log_tail(log)
        rounds.append((stale, resumed, status_counts(app)))
    final = status_counts(app)
    assert final == {"paid": N}, (at_crash, rounds, log_tail(log))

    # Paid exactly once each, for the net amount, and nothing re-sent blind.
    stats = wechat_stats(emulator)
    paid_counts = stats["transfers_paid"]
    assert len(paid_counts) == N
    assert set(paid_counts.values()) == {1}
    assert set(paid_counts) == set(net)
    state = emulator.app.extensions["emulator_wechat"]
    with state.lock:
        gateway_amounts = {no: t.amount for no, t in state.transfers.items()}
    assert gateway_amounts == net
    assert sum(gateway_amounts.values()) == sum(net.values())
    assert stats["transfers"] == N, (
        f"{stats['transfers']} transfer calls for {N} payouts: something was sent again "
        "instead of being asked about"
    )
    assert stats["gettransferinfo"] >= len(paid_unknown)
    with app.app_context():
        assert check_all() == []
        assert db.session.scalar(select(func.sum(DistributorAccount.withdrawing_fen))) == 0
        assert db.session.scalar(select(func.min(DistributorAccount.available_fen))) >= 0
        db.session.remove()

    # The killed job: RQ's StartedJobRegistry still holds it (the dead horse stopped its
    # heartbeat, whose TTL is job_monitoring_interval 30 s + 60 s). When that lapses, a
    # worker's maintenance finds it abandoned (AbandonedJobError) and, since it has retries
    # left, schedules it per its Retry (first interval 10 s) instead of failing it. Replayed
    # here with the cleanup's clock moved on, and the retry run at once: it pays nothing.
    from rq import Queue, SimpleWorker
    from rq.job import Job, JobStatus

    from wxdist.core.redis_conn import redis_client
    from wxdist.core.tasks import spec

    declared = spec("jobs.payouts.pay_withdrawals")
    connection = redis_client(app.config["REDIS_URL"])
    queue = Queue(declared.queue, connection=connection)
    abandoned = queue.started_job_registry.get_job_ids(cleanup=False)
    assert len(abandoned) == 1, abandoned
    queue.started_job_registry.cleanup(timestamp=time.time() + 3600)
    job = Job.fetch(abandoned[0], connection=connection)
    assert job.get_status() == JobStatus.SCHEDULED
    assert job.retries_left == len(declared.retries) - 1
    assert queue.failed_job_registry.count == 0
    assert job.id in queue.scheduled_job_registry.get_job_ids()
    queue.scheduled_job_registry.remove(job)
    queue.enqueue_job(job)
    with app.app_context():
        SimpleWorker([queue], connection=connection).work(burst=True)
        db.session.remove()
    assert job.return_value() == {"skipped": 50}
    assert wechat_stats(emulator)["transfers_paid"] == paid_counts
    took = time.monotonic() - started
    print(f"setup {setup_s:.1f} s, crash at {at_crash}, rounds {rounds}, total {took:.1f} s")
    assert took < 90, f"setup {setup_s:.1f} s, rounds {rounds}"
