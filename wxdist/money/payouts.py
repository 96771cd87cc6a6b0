"""Paying approved withdrawals through WeChat (v2 enterprise payment or v3 merchant transfer)
or Alipay, with one idempotency number per withdrawal reused on every try.

A job first leases its whole batch with one compare-and-set UPDATE (`approved` → `paying`,
or `paying` whose lease ran out) that writes a token of its own into `payout_lease_owner`,
then reads back the rows carrying its token: two workers never pay one withdrawal at once.
A try after the first never sends blind: it asks the gateway by the same number, and only
sends again when the gateway has no record of it. An unknown result (timeout, 5xx) leaves
the withdrawal `paying` until a later try or the resume sweep settles it; only a definite
failure returns the money. Each payout then costs the gateway call and one transaction
(the status compare-and-set and the ledger entry).
"""

from __future__ import annotations

import enum
import logging
import queue
import secrets
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from payments.errors import GatewayRejected, GatewayUnavailable
from wxdist.core.extensions import db
from wxdist.models import User
from wxdist.models.types import utcnow
from wxdist.models.withdrawal import Withdrawal, WithdrawalStatus
from wxdist.money import rails, withdrawals
from wxdist.money.account_vault import unseal
from wxdist.money.rails import GatewayState

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)
CONFIRM_WINDOW = timedelta(hours=24)  # a v3 bill not confirmed by then is cancelled
LIVE = (WithdrawalStatus.PAYING, WithdrawalStatus.WAITING_CONFIRM)
CHUNK = 1000  # ids per UPDATE … WHERE id IN (…)


class Result(enum.Enum):
    PAID = "paid"
    FAILED = "failed"
    WAITING = "waiting_confirm"  # v3: the distributor must confirm
    UNKNOWN = "unknown"  # try again later (same number)
    SKIPPED = "skipped"  # someone else holds it, or it ended


@dataclass(frozen=True)
class Payout:
    """A withdrawal this job leased, as read once with its lease: all a try needs."""

    id: int
    user_id: int
    amount_fen: int
    net_fen: int
    method: str
    payout_api: str | None
    payout_no: str
    account_encrypted: str
    attempts: int  # this try included
    retries: int  # staff retries after a definite failure (names this round's ledger keys)
    openid: str
    lease_owner: str
    lease_until: datetime


def take_leases(withdrawal_ids: Sequence[int]) -> list[Payout]:
    """Lease, for this call only, every row of `withdrawal_ids` no one is paying: one
    compare-and-set UPDATE per CHUNK ids, then one read of the rows carrying this call's
    token; commits. Rows another job holds, that ended, or are bank transfers are left out.
    Raises only database errors."""
    token = secrets.token_hex(16)
    now = utcnow()
    until = now + LEASE
    leased: list[Payout] = []
    for start in range(0, len(withdrawal_ids), CHUNK):
        chunk = list(withdrawal_ids[start : start + CHUNK])
        db.session.execute(
            update(Withdrawal)
            .where(
                Withdrawal.id.in_(chunk),
                Withdrawal.method.not_in(rails.manual_methods()),
                or_(
                    Withdrawal.status == WithdrawalStatus.APPROVED,
                    (Withdrawal.status == WithdrawalStatus.PAYING)
                    & or_(Withdrawal.lease_until.is_(None), Withdrawal.lease_until < now),
                ),
            )
            .values(
                status=WithdrawalStatus.PAYING,
                attempts=Withdrawal.attempts + 1,
                lease_until=until,
                payout_lease_owner=token,
            ),
            execution_options={"synchronize_session": False},
        )
        rows = db.session.execute(
            select(
                Withdrawal.id,
                Withdrawal.user_id,
                Withdrawal.amount_fen,
                Withdrawal.net_fen,
                Withdrawal.method,
                Withdrawal.payout_api,
                Withdrawal.payout_no,
                Withdrawal.account_encrypted,
                Withdrawal.attempts,
                Withdrawal.retries,
                User.openid,
            )
            .join(User, User.id == Withdrawal.user_id)
            .where(
                Withdrawal.id.in_(chunk),
                Withdrawal.payout_lease_owner == token,
                Withdrawal.status == WithdrawalStatus.PAYING,
            )
            .order_by(Withdrawal.id)
        ).all()
        leased += [Payout(**row._mapping, lease_owner=token, lease_until=until) for row in rows]
    db.session.commit()
    return leased


def _renew_if_short(payout: Payout) -> Payout | None:
    """The lease must outlast a query and a send (each up to the gateway timeout); renew it
    when less is left (a slow batch), by compare-and-set on our token (whoever takes a
    lapsed lease writes theirs). None: another job took it, so this try must not touch the
    gateway."""
    now = utcnow()
    budget = timedelta(seconds=2 * current_app.config["GATEWAY_TIMEOUT_SECONDS"] + 5)
    if now + budget < payout.lease_until:
        return payout
    until = now + LEASE
    moved = db.session.execute(
        update(Withdrawal)
        .where(
            Withdrawal.id == payout.id,
            Withdrawal.status == WithdrawalStatus.PAYING,
            Withdrawal.payout_lease_owner == payout.lease_owner,
        )
        .values(lease_until=until),
        execution_options={"synchronize_session": False},
    ).rowcount
    db.session.commit()
    return replace(payout, lease_until=until) if moved == 1 else None


def pay_one(withdrawal_id: int) -> Result:
    """One try at paying one withdrawal; commits. Never raises for a gateway answer."""
    leased = take_leases([withdrawal_id])
    return pay_leased(leased[0]) if leased else Result.SKIPPED


def pay_leased(payout: Payout) -> Result:
    """One try at a withdrawal this job leased: ask first if it was tried before, send if
    the gateway has no record, settle what the gateway said (one transaction); commits.
    Never raises for a gateway answer; raises database errors."""
    current = _renew_if_short(payout)
    if current is None:
        return Result.SKIPPED
    try:
        if current.attempts > 1:
            known = query(current)
            if known.state != "absent":
                return _apply(current, known)
        return _apply(current, send(current))
    except GatewayRejected as exc:
        withdrawals.mark_failed(current, f"{exc.code}: {exc.message}", LIVE)
        return Result.FAILED
    except GatewayUnavailable as exc:
        log.warning("payout %s: result unknown (%s); will ask again", current.payout_no, exc)
        return Result.UNKNOWN


def _apply(withdrawal: Withdrawal | Payout, state: GatewayState) -> Result:
    """Settle what the gateway said, once (compare-and-set on a live status); commits."""
    if state.state == "paid":
        withdrawals.mark_paid(withdrawal, state.reference, LIVE)
        return Result.PAID
    if state.state == "failed":
        withdrawals.mark_failed(withdrawal, state.reason or "the gateway refused", LIVE)
        return Result.FAILED
    if state.state == "waiting":
        values = {
            "status": WithdrawalStatus.WAITING_CONFIRM,
            "lease_until": None,
            "payout_lease_owner": None,
        }
        if state.package_info:
            values["package_info"] = state.package_info
        if state.reference:
            values["gateway_ref"] = state.reference
        db.session.execute(
            update(Withdrawal)
            .where(Withdrawal.id == withdrawal.id, Withdrawal.status.in_(LIVE))
            .values(**values),
            execution_options={"synchronize_session": False},
        )
        db.session.commit()
        return Result.WAITING
    return Result.UNKNOWN  # pending: the lease runs out and a later try asks again


def send(withdrawal: Payout) -> GatewayState:
    """Send the payout with its number. Raises GatewayRejected / GatewayUnavailable."""
    rail = rails.for_payout(withdrawal.method, withdrawal.payout_api)
    account = unseal(withdrawal.account_encrypted)
    return rail.send(withdrawal.payout_no, withdrawal.net_fen, withdrawal.openid, account)


def query(withdrawal: Withdrawal | Payout) -> GatewayState:
    """Ask the gateway what became of our number. Raises GatewayUnavailable."""
    rail = rails.for_payout(withdrawal.method, withdrawal.payout_api)
    return rail.query(withdrawal.payout_no)


def pay_batch(withdrawal_ids: list[int], threads: int = 8) -> dict[str, int]:
    """Lease the batch at once, then pay the leased rows concurrently (gateway calls are
    I/O): each thread keeps one app context and session for the batch and takes rows until
    none are left. Returns counts per result; rows not leased count as skipped. Raises
    database errors (the job fails; the leases lapse and the resume sweep re-enqueues)."""
    leased = take_leases(withdrawal_ids)
    counts: dict[str, int] = {}
    if len(leased) < len(withdrawal_ids):
        counts[Result.SKIPPED.value] = len(withdrawal_ids) - len(leased)
    if len(leased) <= 1 or threads <= 1 or db.engine.dialect.name == "sqlite":
        results = [pay_leased(payout) for payout in leased]
    else:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        todo: queue.SimpleQueue[Payout] = queue.SimpleQueue()
        for payout in leased:
            todo.put(payout)

        def drain() -> list[Result]:
            done: list[Result] = []
            with app.app_context():
                try:
                    while True:
                        try:
                            payout = todo.get_nowait()
                        except queue.Empty:
                            return done
                        done.append(pay_leased(payout))
                finally:
                    db.session.remove()

        with ThreadPoolExecutor(max_workers=min(threads, len(leased))) as pool:
            futures = [pool.submit(drain) for _ in range(min(threads, len(leased)))]
            results = [result for future in futures for result in future.result()]
    for result in results:
        counts[result.value] = counts.get(result.value, 0) + 1
    return counts


def apply_transfer_notify(out_bill_no: str, state: GatewayState) -> bool:
    """A verified v3 transfer notify: settle the withdrawal, once."""
    withdrawal = db.session.scalar(select(Withdrawal).where(Withdrawal.payout_no == out_bill_no))
    if withdrawal is None:
        return False
    if state.state in ("paid", "failed"):
        _apply(withdrawal, state)
    return True


def resume_stuck(limit: int = 500) -> int:
    """Periodic: hand to the payout queue what no job is working on: approved but never
    picked up (a lost job), and paying with a lapsed lease (a killed worker, an unknown
    result). Returns how many were enqueued."""
    now = utcnow()
    ids = list(
        db.session.scalars(
            select(Withdrawal.id)
            .where(
                Withdrawal.method.not_in(rails.manual_methods()),
                or_(
                    (Withdrawal.status == WithdrawalStatus.APPROVED)
                    & (Withdrawal.reviewed_at < now - timedelta(seconds=60)),
                    (Withdrawal.status == WithdrawalStatus.PAYING) & (Withdrawal.lease_until < now),
                ),
            )
            .order_by(Withdrawal.id)
            .limit(limit)
        )
    )
    from wxdist.core.tasks import enqueue

    for start in range(0, len(ids), 50):
        enqueue("jobs.payouts.pay_withdrawals", ids[start : start + 50])
    return len(ids)


def expire_unconfirmed(limit: int = 200) -> int:
    """Periodic: v3 bills the distributor has not confirmed: settle those that moved, and
    cancel those older than the confirmation window (the money comes back when WeChat
    reports the bill CANCELLED, by notify or by the next run). Returns bills acted on."""
    now = utcnow()
    rows = db.session.scalars(
        select(Withdrawal).where(Withdrawal.status == WithdrawalStatus.WAITING_CONFIRM).limit(limit)
    ).all()
    settled = 0
    for withdrawal in rows:
        try:
            rail = rails.for_payout(withdrawal.method, withdrawal.payout_api)
            expired = (withdrawal.reviewed_at or withdrawal.created_at) < now - CONFIRM_WINDOW
            state = rail.settle(withdrawal.payout_no, expired)
            if state.state in ("paid", "failed"):
                _apply(withdrawal, state)
            if state.state in ("paid", "failed") or expired:
                settled += 1  # a cancel (CANCELING) settles by notify or on the next run
        except (GatewayRejected, GatewayUnavailable) as exc:
            db.session.rollback()
            log.warning("unconfirmed bill %s: %s", withdrawal.payout_no, exc)
    return settled
