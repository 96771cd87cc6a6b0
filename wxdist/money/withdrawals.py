"""Withdrawals: a distributor asks, staff review, a payout job pays (see `wxdist.money.payouts`).

Every path ends with the money either paid exactly once or back in the distributor's
available balance, and the ledger says which:
- request: available → withdrawing (one conditional update: the balance never goes below 0);
- reject, cancel, definite payout failure: withdrawing → available;
- paid: withdrawing → out.
Status changes are compare-and-set updates, so two reviewers or two workers cannot both act.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import func, select, update

from wxdist.accounts import ledger
from wxdist.core.clock import SHANGHAI
from wxdist.core.errors import ApiError, Conflict, Forbidden, NotFound
from wxdist.core.extensions import db
from wxdist.core.money import apply_rate
from wxdist.core.tasks import enqueue
from wxdist.distribution.settings import Settings, get_settings
from wxdist.models import DistributorAccount, LedgerBucket
from wxdist.models.distribution import Distributor, DistributorStatus
from wxdist.models.types import utcnow
from wxdist.models.withdrawal import Withdrawal, WithdrawalStatus
from wxdist.money import rails
from wxdist.money.account_vault import seal
from wxdist.money.rails import AccountIn as AccountIn  # the API builds it from here

CHUNK = 1000  # ids per UPDATE … WHERE id IN (…)


def fee_for(amount_fen: int, settings: Settings) -> int:
    if settings.withdraw_fee_bp == 0 and settings.withdraw_min_fee_fen == 0:
        return 0
    return max(apply_rate(amount_fen, settings.withdraw_fee_bp), settings.withdraw_min_fee_fen)


def _start_of_day_utc(now: datetime) -> datetime:
    local = now.replace(tzinfo=UTC).astimezone(SHANGHAI)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start.astimezone(UTC).replace(tzinfo=None)


def request_withdrawal(
    user_id: int, amount_fen: int, method: str, account: AccountIn
) -> Withdrawal:
    """Move `amount_fen` from available to withdrawing and open a withdrawal; commits.

    Raises Forbidden `not_distributor` unless the user is an approved distributor, ApiError
    (field named) for a disabled method, an amount outside the limits or missing account
    details, Conflict `insufficient_balance` or `daily_limit`.
    """
    settings = get_settings()
    distributor = db.session.get(Distributor, user_id)
    if distributor is None or distributor.status != DistributorStatus.APPROVED:
        raise Forbidden("only an approved distributor can withdraw", code="not_distributor")
    if method not in settings.methods:
        raise ApiError(
            "this method is not available",
            fields={"method": f"one of {', '.join(settings.methods)}"},
        )
    if not settings.withdraw_min_fen <= amount_fen <= settings.withdraw_max_fen:
        raise ApiError(
            "amount out of range",
            fields={
                "amount_fen": f"between {settings.withdraw_min_fen} and {settings.withdraw_max_fen}"
            },
        )
    rail = rails.choose(method, settings)
    details, masked = rail.account_details(account)
    fee = fee_for(amount_fen, settings)
    now = utcnow()

    # Lock the account row: the balance check is a conditional update anyway, but the
    # daily sum must not race another request of the same distributor.
    ledger.ensure_account(user_id)
    db.session.scalar(
        select(DistributorAccount.user_id)
        .where(DistributorAccount.user_id == user_id)
        .with_for_update()
    )
    today = db.session.scalar(
        select(func.coalesce(func.sum(Withdrawal.amount_fen), 0)).where(
            Withdrawal.user_id == user_id,
            Withdrawal.created_at >= _start_of_day_utc(now),
            Withdrawal.status.not_in(
                (WithdrawalStatus.REJECTED, WithdrawalStatus.CANCELLED, WithdrawalStatus.FAILED)
            ),
        )
    )
    if today + amount_fen > settings.withdraw_daily_max_fen:
        room = max(0, settings.withdraw_daily_max_fen - today)
        db.session.rollback()
        raise Conflict(
            "today's withdrawal limit would be exceeded",
            code="daily_limit",
            fields={"amount_fen": f"at most {room} more today"},
        )
    withdrawal = Withdrawal(
        user_id=user_id,
        amount_fen=amount_fen,
        fee_fen=fee,
        net_fen=amount_fen - fee,
        method=method,
        payout_api=rail.api,
        account_encrypted=seal(details),
        account_masked=masked,
        # Made before the insert (a shared placeholder on a unique key deadlocks concurrent
        # requests on MySQL); random, so it stays unique at the gateway even if ids were
        # ever reused (a restored database), where a repeated number means "already paid".
        payout_no=_payout_no(now),
        created_at=now,
    )
    db.session.add(withdrawal)
    db.session.flush()
    _hold(
        user_id,
        amount_fen,
        "withdraw",
        f"w{withdrawal.id}:hold",
        refusal=("not enough available balance", "more than your available balance"),
    )
    auto = (
        settings.withdraw_auto_approve_below_fen > 0
        and amount_fen < settings.withdraw_auto_approve_below_fen
    )
    if auto:
        withdrawal.status = WithdrawalStatus.APPROVED
        withdrawal.reviewed_at = now
        withdrawal.review_note = "auto-approved below the threshold"
    db.session.commit()
    if auto:
        enqueue_payout(withdrawal)
    return withdrawal


def _hold(user_id: int, amount_fen: int, kind: str, key: str, refusal: tuple[str, str]) -> None:
    """Move the amount from available to withdrawing in the caller's transaction. If the
    balance does not cover it, roll back and raise Conflict with `refusal` (message, and
    what to say of the field amount_fen)."""
    try:
        ledger.move(
            user_id,
            LedgerBucket.AVAILABLE,
            LedgerBucket.WITHDRAWING,
            amount_fen,
            kind=kind,
            key=key,
        )
    except ledger.InsufficientBalance:
        db.session.rollback()
        message, field = refusal
        raise Conflict(message, code="insufficient_balance", fields={"amount_fen": field}) from None


def enqueue_payout(withdrawal: Withdrawal) -> None:
    """Bank transfers wait for staff; the others go to a payout job."""
    if rails.is_automatic(withdrawal.method):
        enqueue("jobs.payouts.pay_withdrawals", [withdrawal.id])


def get_own(user_id: int, withdrawal_id: int) -> Withdrawal:
    withdrawal = db.session.get(Withdrawal, withdrawal_id)
    if withdrawal is None or withdrawal.user_id != user_id:
        raise NotFound("no such withdrawal", fields={"withdrawal_id": "not found"})
    return withdrawal


def list_own(user_id: int, page: int, per_page: int) -> tuple[list[Withdrawal], int]:
    query = select(Withdrawal).where(Withdrawal.user_id == user_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(Withdrawal.created_at.desc(), Withdrawal.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(rows), total


class Held(Protocol):
    """What settling a withdrawal needs of it: a Withdrawal, or a payout's snapshot."""

    @property
    def id(self) -> int: ...
    @property
    def user_id(self) -> int: ...
    @property
    def amount_fen(self) -> int: ...
    @property
    def retries(self) -> int: ...


def _round_key(withdrawal: Held, name: str) -> str:
    """Ledger key of one movement of a withdrawal: `w{id}:{name}` for the first round,
    `w{id}:retry{n}:{name}` after the n-th retry, so each round moves the money once."""
    if withdrawal.retries:
        return f"w{withdrawal.id}:retry{withdrawal.retries}:{name}"
    return f"w{withdrawal.id}:{name}"


def _return_money(withdrawal: Held, kind: str) -> None:
    ledger.move(
        withdrawal.user_id,
        LedgerBucket.WITHDRAWING,
        LedgerBucket.AVAILABLE,
        withdrawal.amount_fen,
        kind=kind,
        key=_round_key(withdrawal, "return"),
        account_exists=True,  # the hold wrote to it
    )


def _move(withdrawal_id: int, sources: tuple[str, ...], target: str, **values: Any) -> bool:
    """Compare-and-set the status; True if this call moved it (else rolled back)."""
    moved = db.session.execute(
        update(Withdrawal)
        .where(Withdrawal.id == withdrawal_id, Withdrawal.status.in_(sources))
        .values(status=target, **values)
    )
    if moved.rowcount != 1:
        db.session.rollback()
        return False
    return True


def _end(
    withdrawal_id: int, sources: tuple[str, ...], target: str, **values: Any
) -> Withdrawal | None:
    """Compare-and-set the status; returns the row if this call moved it."""
    if not _move(withdrawal_id, sources, target, **values):
        return None
    return db.session.get(Withdrawal, withdrawal_id, populate_existing=True)


def cancel_own(user_id: int, withdrawal_id: int) -> Withdrawal:
    """The distributor cancels while it waits for review; the money goes back."""
    get_own(user_id, withdrawal_id)
    withdrawal = _end(
        withdrawal_id,
        (WithdrawalStatus.PENDING_REVIEW,),
        WithdrawalStatus.CANCELLED,
        ended_at=utcnow(),
    )
    if withdrawal is None:
        raise Conflict(
            "only a withdrawal waiting for review can be cancelled", code="invalid_status"
        )
    _return_money(withdrawal, "withdraw_cancelled")
    db.session.commit()
    return withdrawal


def approve(withdrawal_id: int, note: str = "") -> Withdrawal:
    """Staff approve: a payout job is enqueued (bank: staff pay by hand). Raises Conflict."""
    withdrawal = _end(
        withdrawal_id,
        (WithdrawalStatus.PENDING_REVIEW,),
        WithdrawalStatus.APPROVED,
        review_note=note[:255],
        reviewed_at=utcnow(),
    )
    if withdrawal is None:
        raise Conflict(
            "only a withdrawal waiting for review can be approved", code="invalid_status"
        )
    db.session.commit()
    enqueue_payout(withdrawal)
    return withdrawal


def approve_many(withdrawal_ids: list[int], note: str = "", batch: int = 50) -> int:
    """Approve those still waiting for review (see `approve_batch`). Returns how many moved."""
    return len(approve_batch(withdrawal_ids, note, batch))


def approve_batch(withdrawal_ids: list[int], note: str = "", batch: int = 50) -> list[int]:
    """Approve those still waiting for review, one UPDATE per CHUNK ids, and enqueue their
    payouts in jobs of `batch` (bank transfers wait for staff); commits. Approval writes no
    ledger entry: the money stays in withdrawing. Returns the ids this call moved (not
    those another reviewer had moved already)."""
    now = utcnow()
    moved: list[int] = []
    automatic: list[int] = []
    for start in range(0, len(withdrawal_ids), CHUNK):
        chunk = withdrawal_ids[start : start + CHUNK]
        db.session.execute(
            update(Withdrawal)
            .where(Withdrawal.id.in_(chunk), Withdrawal.status == WithdrawalStatus.PENDING_REVIEW)
            .values(status=WithdrawalStatus.APPROVED, review_note=note[:255], reviewed_at=now),
            execution_options={"synchronize_session": False},
        )
        # Ours are the rows this transaction just stamped (others' approvals were committed
        # at another instant). A stray id would only enqueue a job that skips it: payouts
        # lease by compare-and-set.
        for withdrawal_id, method in db.session.execute(
            select(Withdrawal.id, Withdrawal.method)
            .where(
                Withdrawal.id.in_(chunk),
                Withdrawal.status == WithdrawalStatus.APPROVED,
                Withdrawal.reviewed_at == now,
            )
            .order_by(Withdrawal.id)
        ):
            moved.append(withdrawal_id)
            if rails.is_automatic(method):
                automatic.append(withdrawal_id)
    db.session.commit()
    for start in range(0, len(automatic), batch):
        enqueue("jobs.payouts.pay_withdrawals", automatic[start : start + batch])
    return moved


def reject(withdrawal_id: int, reason: str) -> Withdrawal:
    """Staff reject with a reason; the money returns to available. Raises ApiError, Conflict."""
    if not reason.strip():
        raise ApiError("a rejection needs a reason", fields={"reason": "tell the distributor why"})
    withdrawal = _end(
        withdrawal_id,
        (WithdrawalStatus.PENDING_REVIEW,),
        WithdrawalStatus.REJECTED,
        review_note=reason[:255],
        failure_reason=reason[:255],
        reviewed_at=utcnow(),
        ended_at=utcnow(),
    )
    if withdrawal is None:
        raise Conflict(
            "only a withdrawal waiting for review can be rejected", code="invalid_status"
        )
    _return_money(withdrawal, "withdraw_rejected")
    db.session.commit()
    return withdrawal


def mark_paid(withdrawal: Held, reference: str, sources: tuple[str, ...]) -> bool:
    """The money left: withdrawing → out, once (compare-and-set on the status, then the
    ledger entry, one transaction); commits. Returns False if it was not in `sources`.
    Raises InsufficientBalance (the books are wrong; rolled back by the caller)."""
    now = utcnow()
    if not _move(
        withdrawal.id,
        sources,
        WithdrawalStatus.PAID,
        gateway_ref=reference[:64] or None,
        paid_at=now,
        ended_at=now,
        lease_until=None,
        payout_lease_owner=None,
    ):
        return False
    ledger.post(
        withdrawal.user_id,
        LedgerBucket.WITHDRAWING,
        -withdrawal.amount_fen,
        kind="withdraw_paid",
        key=_round_key(withdrawal, "paid"),
        account_exists=True,  # the hold wrote to it
    )
    db.session.commit()
    return True


def mark_failed(withdrawal: Held, reason: str, sources: tuple[str, ...]) -> bool:
    """A definite failure: the money goes back, with the gateway's reason shown; commits.
    Returns False if it was not in `sources`."""
    if not _move(
        withdrawal.id,
        sources,
        WithdrawalStatus.FAILED,
        failure_reason=reason[:255],
        ended_at=utcnow(),
        lease_until=None,
        payout_lease_owner=None,
    ):
        return False
    _return_money(withdrawal, "withdraw_failed")
    db.session.commit()
    return True


def _payout_no(now: datetime) -> str:
    return f"WD{now:%Y%m%d}{secrets.token_hex(8).upper()}"


def retry_failed(withdrawal_id: int) -> Withdrawal:
    """Staff send a definitely failed WeChat/Alipay withdrawal again; commits, then
    enqueues its payout.

    The failure had returned the money to available, so it moves back to withdrawing in
    one conditional update (ledger keys `w{id}:retry{n}:hold`, n = the retry count). The
    withdrawal gets a NEW payout number: the old one definitively failed at the gateway,
    which keeps that number as a closed failure (sending it again would be refused or
    answered with the old failure). The status moves `failed` → `approved` by
    compare-and-set, so a double click retries once.

    Raises NotFound (no such withdrawal, or a bank withdrawal: staff pay those by hand),
    Conflict `invalid_status` (not failed, or already retried), `not_distributor` (no
    longer an approved distributor), `insufficient_balance` (the distributor spent the
    returned money meanwhile).
    """
    withdrawal = db.session.get(Withdrawal, withdrawal_id)
    if withdrawal is None or not rails.is_automatic(withdrawal.method):
        raise NotFound("no such WeChat or Alipay withdrawal", fields={"withdrawal_id": "not found"})
    distributor = db.session.get(Distributor, withdrawal.user_id)
    if distributor is None or distributor.status != DistributorStatus.APPROVED:
        raise Conflict("the user is no longer an approved distributor", code="not_distributor")
    now = utcnow()
    moved = _end(
        withdrawal_id,
        (WithdrawalStatus.FAILED,),
        WithdrawalStatus.APPROVED,
        retries=Withdrawal.retries + 1,
        payout_no=_payout_no(now),
        failure_reason=None,
        gateway_ref=None,
        package_info=None,
        attempts=0,
        lease_until=None,
        payout_lease_owner=None,
        ended_at=None,
        reviewed_at=now,
    )
    if moved is None:
        raise Conflict("only a failed withdrawal can be retried", code="invalid_status")
    _hold(
        moved.user_id,
        moved.amount_fen,
        "withdraw_retry",
        _round_key(moved, "hold"),
        refusal=(
            "the distributor no longer has this amount available; it cannot be retried",
            "more than the distributor's available balance",
        ),
    )
    db.session.commit()
    enqueue_payout(moved)
    return moved


def mark_bank_paid(withdrawal_id: int, reference: str) -> Withdrawal:
    """Staff paid a bank withdrawal by hand. Raises ApiError (reference), Conflict."""
    if not reference.strip():
        raise ApiError("the bank reference is required", fields={"reference": "required"})
    withdrawal = db.session.get(Withdrawal, withdrawal_id)
    if withdrawal is None or rails.is_automatic(withdrawal.method):
        raise NotFound("no such bank withdrawal")
    if not mark_paid(withdrawal, reference.strip(), (WithdrawalStatus.APPROVED,)):
        raise Conflict("only an approved bank withdrawal can be marked paid", code="invalid_status")
    return db.session.get(Withdrawal, withdrawal_id, populate_existing=True)


def mark_bank_failed(withdrawal_id: int, reason: str) -> Withdrawal:
    if not reason.strip():
        raise ApiError("a reason is required", fields={"reason": "required"})
    withdrawal = db.session.get(Withdrawal, withdrawal_id)
    if withdrawal is None or rails.is_automatic(withdrawal.method):
        raise NotFound("no such bank withdrawal")
    if not mark_failed(withdrawal, reason.strip(), (WithdrawalStatus.APPROVED,)):
        raise Conflict(
            "only an approved bank withdrawal can be marked failed", code="invalid_status"
        )
    return db.session.get(Withdrawal, withdrawal_id, populate_existing=True)
