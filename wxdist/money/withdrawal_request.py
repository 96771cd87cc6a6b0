"""Withdrawal requests: a distributor asks (available → withdrawing), reads its own
withdrawals, cancels one still waiting for review (the money goes back)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from wxdist.accounts import blocking, ledger
from wxdist.core.clock import to_local, utc_start
from wxdist.core.errors import ApiError, Conflict, Forbidden, NotFound
from wxdist.core.extensions import db
from wxdist.core.money import apply_rate
from wxdist.distribution.settings import Settings, get_settings
from wxdist.models import DistributorAccount
from wxdist.models.distribution import Distributor, DistributorStatus
from wxdist.models.types import utcnow
from wxdist.models.withdrawal import Withdrawal, WithdrawalStatus
from wxdist.money import rails
from wxdist.money.account_vault import seal
from wxdist.money.rails import AccountIn
from wxdist.money.withdrawal_state import end, enqueue_payout, hold, payout_no, return_money


def fee_for(amount_fen: int, settings: Settings) -> int:
    if settings.withdraw_fee_bp == 0 and settings.withdraw_min_fee_fen == 0:
        return 0
    return max(apply_rate(amount_fen, settings.withdraw_fee_bp), settings.withdraw_min_fee_fen)


def _start_of_day_utc(now: datetime) -> datetime:
    return utc_start(to_local(now).date())


def request_withdrawal(
    user_id: int, amount_fen: int, method: str, account: AccountIn
) -> Withdrawal:
    """Move `amount_fen` from available to withdrawing and open a withdrawal; commits.

    Raises Forbidden `account_blocked` when staff blocked the user, Forbidden
    `not_distributor` unless the user is an approved distributor, ApiError
    (field named) for a disabled method, an amount outside the limits or missing account
    details, Conflict `insufficient_balance` or `daily_limit`.
    """
    settings = get_settings()
    distributor = db.session.get(Distributor, user_id)
    if distributor is None or distributor.status != DistributorStatus.APPROVED:
        raise Forbidden(_("only an approved distributor can withdraw"), code="not_distributor")
    if method not in settings.methods:
        raise ApiError(
            _("this method is not available"),
            fields={"method": _("one of %(choices)s", choices=", ".join(settings.methods))},
        )
    if not settings.withdraw_min_fen <= amount_fen <= settings.withdraw_max_fen:
        raise ApiError(
            _("amount out of range"),
            fields={
                "amount_fen": _(
                    "between %(low)s and %(high)s",
                    low=settings.withdraw_min_fen,
                    high=settings.withdraw_max_fen,
                )
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
    try:  # in the withdrawal's transaction: a block committed before the request wins
        blocking.refuse_blocked(user_id)
    except ApiError:
        db.session.rollback()
        raise
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
            _("today's withdrawal limit would be exceeded"),
            code="daily_limit",
            fields={"amount_fen": _("at most %(room)s more today", room=room)},
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
        payout_no=payout_no(now),
        created_at=now,
    )
    db.session.add(withdrawal)
    db.session.flush()
    hold(
        user_id,
        amount_fen,
        "withdraw",
        f"w{withdrawal.id}:hold",
        refusal=(_("not enough available balance"), _("more than your available balance")),
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


def get_own(user_id: int, withdrawal_id: int) -> Withdrawal:
    withdrawal = db.session.get(Withdrawal, withdrawal_id)
    if withdrawal is None or withdrawal.user_id != user_id:
        raise NotFound(_("no such withdrawal"), fields={"withdrawal_id": _("not found")})
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


def cancel_own(user_id: int, withdrawal_id: int) -> Withdrawal:
    """The distributor cancels while it waits for review; the money goes back."""
    get_own(user_id, withdrawal_id)
    withdrawal = end(
        withdrawal_id,
        (WithdrawalStatus.PENDING_REVIEW,),
        WithdrawalStatus.CANCELLED,
        ended_at=utcnow(),
    )
    if withdrawal is None:
        raise Conflict(
            _("only a withdrawal waiting for review can be cancelled"), code="invalid_status"
        )
    return_money(withdrawal, "withdraw_cancelled")
    db.session.commit()
    return withdrawal
