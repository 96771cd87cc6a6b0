"""Money's part of account deletion and export (`core.events`).

A withdrawal not finished (in review, approved, paying, waiting for the distributor's
confirmation) blocks a deletion. Afterwards every withdrawal keeps its amounts, numbers
and outcome for the books, but forgets the payout account: the vault's sealed details and
the masked form are emptied. The export gives the withdrawals with the account masked.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import exists, select, update

from wxdist.accounts.export import iso
from wxdist.core.events import DeletionBlocker
from wxdist.core.extensions import db
from wxdist.models import Withdrawal, WithdrawalStatus

OPEN_STATUSES = (
    WithdrawalStatus.PENDING_REVIEW,
    WithdrawalStatus.APPROVED,
    WithdrawalStatus.PAYING,
    WithdrawalStatus.WAITING_CONFIRM,
)


def blockers(user_id: int) -> list[DeletionBlocker]:
    mine = Withdrawal.user_id == user_id
    if db.session.scalar(select(exists().where(mine, Withdrawal.status.in_(OPEN_STATUSES)))):
        return [DeletionBlocker("withdrawal_open", _("a withdrawal is not finished yet"))]
    return []


def anonymise(user_id: int) -> None:
    db.session.execute(
        update(Withdrawal)
        .where(Withdrawal.user_id == user_id)
        .values(account_encrypted="", account_masked="")
    )


def export(user_id: int) -> dict[str, Any]:
    rows = db.session.scalars(
        select(Withdrawal).where(Withdrawal.user_id == user_id).order_by(Withdrawal.id)
    ).all()
    return {
        "withdrawals": [
            {
                "id": w.id,
                "amount_fen": w.amount_fen,
                "fee_fen": w.fee_fen,
                "net_fen": w.net_fen,
                "method": w.method,
                "account": w.account_masked,
                "status": w.status,
                "created_at": iso(w.created_at),
                "paid_at": iso(w.paid_at),
            }
            for w in rows
        ]
    }
