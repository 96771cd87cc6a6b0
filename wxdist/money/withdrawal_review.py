"""Staff review of withdrawals: approve (one or a batch; payouts enqueued), reject (the
money goes back), retry a definite payout failure under a new payout number."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select, update

from wxdist.core.errors import ApiError, Conflict, NotFound
from wxdist.core.extensions import db
from wxdist.core.tasks import enqueue
from wxdist.models.distribution import Distributor, DistributorStatus
from wxdist.models.types import utcnow
from wxdist.models.withdrawal import Withdrawal, WithdrawalStatus
from wxdist.money import rails
from wxdist.money.withdrawal_state import (
    CHUNK,
    end,
    enqueue_payout,
    hold,
    payout_no,
    return_money,
    round_key,
)


def approve(withdrawal_id: int, note: str = "") -> Withdrawal:
    """Staff approve: a payout job is enqueued (bank: staff pay by hand). Raises Conflict."""
    withdrawal = end(
        withdrawal_id,
        (WithdrawalStatus.PENDING_REVIEW,),
        WithdrawalStatus.APPROVED,
        review_note=note[:255],
        reviewed_at=utcnow(),
    )
    if withdrawal is None:
        raise Conflict(
            _("only a withdrawal waiting for review can be approved"), code="invalid_status"
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
        raise ApiError(
            _("a rejection needs a reason"), fields={"reason": _("tell the distributor why")}
        )
    withdrawal = end(
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
            _("only a withdrawal waiting for review can be rejected"), code="invalid_status"
        )
    return_money(withdrawal, "withdraw_rejected")
    db.session.commit()
    return withdrawal


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
        raise NotFound(
            _("no such WeChat or Alipay withdrawal"), fields={"withdrawal_id": _("not found")}
        )
    distributor = db.session.get(Distributor, withdrawal.user_id)
    if distributor is None or distributor.status != DistributorStatus.APPROVED:
        raise Conflict(_("the user is no longer an approved distributor"), code="not_distributor")
    now = utcnow()
    moved = end(
        withdrawal_id,
        (WithdrawalStatus.FAILED,),
        WithdrawalStatus.APPROVED,
        retries=Withdrawal.retries + 1,
        payout_no=payout_no(now),
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
        raise Conflict(_("only a failed withdrawal can be retried"), code="invalid_status")
    hold(
        moved.user_id,
        moved.amount_fen,
        "withdraw_retry",
        round_key(moved, "hold"),
        refusal=(
            _("the distributor no longer has this amount available; it cannot be retried"),
            _("more than the distributor's available balance"),
        ),
    )
    db.session.commit()
    enqueue_payout(moved)
    return moved
