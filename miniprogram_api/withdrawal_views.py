"""A distributor's withdrawals: request, list, read (with the v3 confirmation package),
cancel while in review."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

from miniprogram_api import schemas
from miniprogram_api.openapi import api_doc
from miniprogram_api.request import body, current_user, login_required, query
from wxdist.distribution import centre as distributor_centre
from wxdist.models.withdrawal import Withdrawal, WithdrawalStatus
from wxdist.money import withdrawals

bp = Blueprint("api_withdrawals", __name__)


def _out(withdrawal: Withdrawal) -> dict[str, Any]:
    confirm = None
    if withdrawal.status == WithdrawalStatus.WAITING_CONFIRM and withdrawal.package_info:
        confirm = {
            "mch_id": current_app.config["WECHAT_MCH_ID"],
            "app_id": current_app.config["WECHAT_APPID"],
            "package": withdrawal.package_info,
        }
    return schemas.WithdrawalOut(
        id=withdrawal.id,
        amount_fen=withdrawal.amount_fen,
        fee_fen=withdrawal.fee_fen,
        net_fen=withdrawal.net_fen,
        method=withdrawal.method,
        account=withdrawal.account_masked,
        status=withdrawal.status,
        failure_reason=withdrawal.failure_reason,
        review_note=withdrawal.review_note,
        created_at=withdrawal.created_at,
        paid_at=withdrawal.paid_at,
        confirm=confirm,
    ).model_dump(mode="json")


@bp.post("/distributor/withdrawals")
@api_doc(
    body=schemas.WithdrawalIn,
    response=schemas.WithdrawalOut,
    status=201,
    errors=(400, 403, 409),
    tag="withdrawals",
)
@login_required
def create():  # type: ignore[no-untyped-def]
    """Withdraw from my available balance (it moves to withdrawing until paid or returned)."""
    data = body(schemas.WithdrawalIn).root
    withdrawal = withdrawals.request_withdrawal(
        current_user().id,
        data.amount_fen,
        data.method,
        withdrawals.AccountIn(**data.account.model_dump()),
    )
    return _out(withdrawal), 201


@bp.get("/distributor/withdrawals")
@api_doc(query=schemas.PageQuery, response=schemas.WithdrawalPage, errors=(403,), tag="withdrawals")
@login_required
def list_mine():  # type: ignore[no-untyped-def]
    """My withdrawals, newest first."""
    params = query(schemas.PageQuery)
    user_id = distributor_centre.require_distributor(current_user().id).user_id
    items, total = withdrawals.list_own(user_id, params.page, params.per_page)
    return {
        "page": params.page,
        "per_page": params.per_page,
        "total": total,
        "items": [_out(w) for w in items],
    }


@bp.get("/distributor/withdrawals/<int:withdrawal_id>")
@api_doc(response=schemas.WithdrawalOut, errors=(403, 404), tag="withdrawals")
@login_required
def get(withdrawal_id: int):  # type: ignore[no-untyped-def]
    """One of my withdrawals; while a WeChat bill waits for me, `confirm` carries what
    wx.requestMerchantTransfer needs."""
    user_id = distributor_centre.require_distributor(current_user().id).user_id
    return _out(withdrawals.get_own(user_id, withdrawal_id))


@bp.post("/distributor/withdrawals/<int:withdrawal_id>/cancel")
@api_doc(response=schemas.WithdrawalOut, errors=(403, 404, 409), tag="withdrawals")
@login_required
def cancel(withdrawal_id: int):  # type: ignore[no-untyped-def]
    """Cancel a withdrawal still waiting for review; the money returns to available."""
    user_id = distributor_centre.require_distributor(current_user().id).user_id
    return _out(withdrawals.cancel_own(user_id, withdrawal_id))
