"""What every step of a withdrawal shares: the compare-and-set on the status, the ledger
moves of one round (hold, return) and enqueueing a payout.

A status change is a conditional UPDATE (`move`/`end`): two reviewers or two workers
cannot both act. Each round of a withdrawal moves the money once (`round_key`).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import update

from wxdist.accounts import ledger
from wxdist.core.errors import Conflict
from wxdist.core.extensions import db
from wxdist.core.tasks import enqueue
from wxdist.models import LedgerBucket
from wxdist.models.withdrawal import Withdrawal
from wxdist.money import rails

CHUNK = 1000  # ids per UPDATE … WHERE id IN (…)


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


def round_key(withdrawal: Held, name: str) -> str:
    """Ledger key of one movement of a withdrawal: `w{id}:{name}` for the first round,
    `w{id}:retry{n}:{name}` after the n-th retry, so each round moves the money once."""
    if withdrawal.retries:
        return f"w{withdrawal.id}:retry{withdrawal.retries}:{name}"
    return f"w{withdrawal.id}:{name}"


def return_money(withdrawal: Held, kind: str) -> None:
    ledger.move(
        withdrawal.user_id,
        LedgerBucket.WITHDRAWING,
        LedgerBucket.AVAILABLE,
        withdrawal.amount_fen,
        kind=kind,
        key=round_key(withdrawal, "return"),
        account_exists=True,  # the hold wrote to it
    )


def move(withdrawal_id: int, sources: tuple[str, ...], target: str, **values: Any) -> bool:
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


def end(
    withdrawal_id: int, sources: tuple[str, ...], target: str, **values: Any
) -> Withdrawal | None:
    """Compare-and-set the status; returns the row if this call moved it."""
    if not move(withdrawal_id, sources, target, **values):
        return None
    return db.session.get(Withdrawal, withdrawal_id, populate_existing=True)


def hold(user_id: int, amount_fen: int, kind: str, key: str, refusal: tuple[str, str]) -> None:
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


def payout_no(now: datetime) -> str:
    return f"WD{now:%Y%m%d}{secrets.token_hex(8).upper()}"
