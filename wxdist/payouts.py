"""Paying approved withdrawals through WeChat (v2 enterprise payment or v3 merchant transfer)
or Alipay, with one idempotency number per withdrawal reused on every try.

A try first takes a lease with a compare-and-set (`approved` → `paying`, or `paying` whose
lease ran out), so two workers never pay one withdrawal at once. A try after the first
never sends blind: it asks the gateway by the same number, and only sends again when the
gateway has no record of it. An unknown result (timeout, 5xx) leaves the withdrawal
`paying` until a later try or the resume sweep settles it; only a definite failure returns
the money.
"""

from __future__ import annotations

import enum
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from payments.errors import GatewayRejected, GatewayUnavailable
from wxdist import withdrawals
from wxdist.account_vault import unseal
from wxdist.extensions import db
from wxdist.gateways import gateways
from wxdist.models.types import utcnow
from wxdist.models.withdrawal import Withdrawal, WithdrawalStatus
from wxdist.payment_flow import notify_url

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)
CONFIRM_WINDOW = timedelta(hours=24)  # a v3 bill not confirmed by then is cancelled
LIVE = (WithdrawalStatus.PAYING, WithdrawalStatus.WAITING_CONFIRM)


class Result(enum.Enum):
    PAID = "paid"
    FAILED = "failed"
    WAITING = "waiting_confirm"  # v3: the distributor must confirm
    UNKNOWN = "unknown"  # try again later (same number)
    SKIPPED = "skipped"  # someone else holds it, or it ended


@dataclass(frozen=True)
class GatewayState:
    """What the gateway says about our number: paid, failed, pending, or absent."""

    state: str  # paid | failed | pending | absent | waiting
    reference: str = ""
    reason: str = ""
    package_info: str | None = None


def _take_lease(withdrawal_id: int) -> Withdrawal | None:
    now = utcnow()
    moved = db.session.execute(
        update(Withdrawal)
        .where(
            Withdrawal.id == withdrawal_id,
            Withdrawal.method != "bank",
            or_(
                Withdrawal.status == WithdrawalStatus.APPROVED,
                (Withdrawal.status == WithdrawalStatus.PAYING)
                & or_(Withdrawal.lease_until.is_(None), Withdrawal.lease_until < now),
            ),
        )
        .values(
            status=WithdrawalStatus.PAYING,
            attempts=Withdrawal.attempts + 1,
            lease_until=now + LEASE,
        )
    )
    if moved.rowcount != 1:
        db.session.rollback()
        return None
    db.session.commit()
    return db.session.get(Withdrawal, withdrawal_id, populate_existing=True)


def pay_one(withdrawal_id: int) -> Result:
    """One try at paying one withdrawal; commits. Never raises for a gateway answer."""
    withdrawal = _take_lease(withdrawal_id)
    if withdrawal is None:
        return Result.SKIPPED
    try:
        if withdrawal.attempts > 1:
            known = query(withdrawal)
            if known.state != "absent":
                return _apply(withdrawal, known)
        return _apply(withdrawal, send(withdrawal))
    except GatewayRejected as exc:
        withdrawals.mark_failed(withdrawal.id, f"{exc.code}: {exc.message}", LIVE)
        return Result.FAILED
    except GatewayUnavailable as exc:
        log.warning("payout %s: result unknown (%s); will ask again", withdrawal.payout_no, exc)
        return Result.UNKNOWN


def _apply(withdrawal: Withdrawal, state: GatewayState) -> Result:
    if state.state == "paid":
        withdrawals.mark_paid(withdrawal.id, state.reference, LIVE)
        return Result.PAID
    if state.state == "failed":
        withdrawals.mark_failed(withdrawal.id, state.reason or "the gateway refused", LIVE)
        return Result.FAILED
    if state.state == "waiting":
        values = {"status": WithdrawalStatus.WAITING_CONFIRM, "lease_until": None}
        if state.package_info:
            values["package_info"] = state.package_info
        if state.reference:
            values["gateway_ref"] = state.reference
        db.session.execute(
            update(Withdrawal)
            .where(Withdrawal.id == withdrawal.id, Withdrawal.status.in_(LIVE))
            .values(**values)
        )
        db.session.commit()
        return Result.WAITING
    return Result.UNKNOWN  # pending: the lease runs out and a later try asks again


def send(withdrawal: Withdrawal) -> GatewayState:
    """Send the payout with its number. Raises GatewayRejected / GatewayUnavailable."""
    account = unseal(withdrawal.account_encrypted)
    title = "分销佣金提现"
    if withdrawal.method == "alipay":
        result = gateways().alipay_transfer.transfer(
            out_biz_no=withdrawal.payout_no,
            amount_fen=withdrawal.net_fen,
            payee_login_id=account["login"],
            payee_name=account["name"],
            title=title,
        )
        if result.status == "SUCCESS":
            return GatewayState("paid", result.order_id)
        return GatewayState("pending", result.order_id)
    openid = withdrawals.payee_openid(withdrawal.user_id)
    if withdrawal.payout_api == "v2":
        name = account.get("name") or None
        paid = gateways().wechat_transfer_v2.transfer(
            partner_trade_no=withdrawal.payout_no,
            openid=openid,
            amount_fen=withdrawal.net_fen,
            desc=title,
            check_name="FORCE_CHECK" if name else "NO_CHECK",
            real_name=name,
            client_ip="127.0.0.1",
        )
        return GatewayState("paid", paid.payment_no)
    bill = gateways().wechat_transfer_v3.create_bill(
        out_bill_no=withdrawal.payout_no,
        openid=openid,
        amount_fen=withdrawal.net_fen,
        remark=title,
        user_name=account.get("name") or None,
        notify_url=notify_url("/notify/wechat/transfer"),
    )
    return bill_state(bill)


def bill_state(bill) -> GatewayState:  # type: ignore[no-untyped-def]
    if bill.state == "SUCCESS":
        return GatewayState("paid", bill.transfer_bill_no or "")
    if bill.state == "CANCELLED":
        reason = bill.fail_reason or "bill cancelled: not confirmed by the distributor in time"
        return GatewayState("failed", bill.transfer_bill_no or "", reason)
    if bill.state == "FAIL":
        return GatewayState("failed", bill.transfer_bill_no or "", bill.fail_reason or "FAIL")
    if bill.state == "WAIT_USER_CONFIRM":
        return GatewayState("waiting", bill.transfer_bill_no or "", package_info=bill.package_info)
    if bill.state == "NOT_FOUND":
        return GatewayState("absent")
    return GatewayState("pending", bill.transfer_bill_no or "")


def query(withdrawal: Withdrawal) -> GatewayState:
    """Ask the gateway what became of our number. Raises GatewayUnavailable."""
    if withdrawal.method == "alipay":
        found = gateways().alipay_transfer.query_transfer(withdrawal.payout_no)
        return {
            "SUCCESS": GatewayState("paid", found.order_id or ""),
            "FAIL": GatewayState("failed", found.order_id or "", found.fail_reason or "FAIL"),
            "REFUND": GatewayState("failed", found.order_id or "", found.fail_reason or "REFUND"),
            "NOT_FOUND": GatewayState("absent"),
        }.get(found.status, GatewayState("pending"))
    if withdrawal.payout_api == "v2":
        found = gateways().wechat_transfer_v2.query_transfer(withdrawal.payout_no)
        return {
            "SUCCESS": GatewayState("paid", found.payment_no or ""),
            "FAILED": GatewayState("failed", found.payment_no or "", found.reason or "FAILED"),
            "NOTFOUND": GatewayState("absent"),
        }.get(found.status, GatewayState("pending"))
    state = bill_state(gateways().wechat_transfer_v3.query_bill(withdrawal.payout_no))
    if state.state == "waiting" and not state.package_info:
        # A query carries no package_info; sending the same number again returns the bill
        # with it (the gateway keeps one bill per number).
        return GatewayState("absent")
    return state


def pay_batch(withdrawal_ids: list[int], threads: int = 8) -> dict[str, int]:
    """Pay several withdrawals concurrently (gateway calls are I/O); each in its own app
    context and session. Returns counts per result."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def one(withdrawal_id: int) -> Result:
        with app.app_context():
            try:
                return pay_one(withdrawal_id)
            finally:
                db.session.remove()

    counts: dict[str, int] = {}
    if len(withdrawal_ids) <= 1 or threads <= 1 or db.engine.dialect.name == "sqlite":
        results = [pay_one(withdrawal_id) for withdrawal_id in withdrawal_ids]
    else:
        with ThreadPoolExecutor(max_workers=min(threads, len(withdrawal_ids))) as pool:
            results = list(pool.map(one, withdrawal_ids))
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
                Withdrawal.method != "bank",
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
    from wxdist.tasks import enqueue

    for start in range(0, len(ids), 50):
        enqueue(
            "jobs.payouts.pay_withdrawals",
            ids[start : start + 50],
            queue=withdrawals.PAYOUT_QUEUE,
            retry_intervals=withdrawals.PAYOUT_RETRIES,
        )
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
            state = bill_state(gateways().wechat_transfer_v3.query_bill(withdrawal.payout_no))
            if state.state in ("paid", "failed"):
                _apply(withdrawal, state)
                settled += 1
            elif (withdrawal.reviewed_at or withdrawal.created_at) < now - CONFIRM_WINDOW:
                state = bill_state(gateways().wechat_transfer_v3.cancel_bill(withdrawal.payout_no))
                if state.state in ("paid", "failed"):
                    _apply(withdrawal, state)
                settled += 1  # CANCELING settles by notify or on the next run
        except (GatewayRejected, GatewayUnavailable) as exc:
            db.session.rollback()
            log.warning("unconfirmed bill %s: %s", withdrawal.payout_no, exc)
    return settled
