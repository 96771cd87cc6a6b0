"""How a withdrawal ends once paid out: paid (withdrawing → out) or definitely failed
(the money goes back), from a payout job or, for bank transfers, from staff."""

from __future__ import annotations

from flask_babel import gettext as _

from wxdist.accounts import ledger
from wxdist.core.errors import ApiError, Conflict, NotFound
from wxdist.core.events import withdrawal_finished, withdrawal_finishing
from wxdist.core.extensions import db
from wxdist.models import LedgerBucket
from wxdist.models.types import utcnow
from wxdist.models.withdrawal import Withdrawal, WithdrawalStatus
from wxdist.money import rails
from wxdist.money.withdrawal_state import Held, move, return_money, round_key


def mark_paid(withdrawal: Held, reference: str, sources: tuple[str, ...]) -> bool:
    """The money left: withdrawing → out, once (compare-and-set on the status, then the
    ledger entry, one transaction); commits. Returns False if it was not in `sources`.
    Raises InsufficientBalance (the books are wrong; rolled back by the caller)."""
    now = utcnow()
    if not move(
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
        key=round_key(withdrawal, "paid"),
        account_exists=True,  # the hold wrote to it
    )
    withdrawal_finishing.send(
        __name__, withdrawal_id=withdrawal.id, user_id=withdrawal.user_id, status="paid"
    )
    db.session.commit()
    withdrawal_finished.send(
        __name__, withdrawal_id=withdrawal.id, user_id=withdrawal.user_id, status="paid"
    )
    return True


def mark_failed(withdrawal: Held, reason: str, sources: tuple[str, ...]) -> bool:
    """A definite failure: the money goes back, with the gateway's reason shown; commits.
    Returns False if it was not in `sources`."""
    if not move(
        withdrawal.id,
        sources,
        WithdrawalStatus.FAILED,
        failure_reason=reason[:255],
        ended_at=utcnow(),
        lease_until=None,
        payout_lease_owner=None,
    ):
        return False
    return_money(withdrawal, "withdraw_failed")
    withdrawal_finishing.send(
        __name__, withdrawal_id=withdrawal.id, user_id=withdrawal.user_id, status="failed"
    )
    db.session.commit()
    withdrawal_finished.send(
        __name__, withdrawal_id=withdrawal.id, user_id=withdrawal.user_id, status="failed"
    )
    return True


def mark_bank_paid(withdrawal_id: int, reference: str) -> Withdrawal:
    """Staff paid a bank withdrawal by hand. Raises ApiError (reference), Conflict."""
    if not reference.strip():
        raise ApiError(_("the bank reference is required"), fields={"reference": _("required")})
    withdrawal = db.session.get(Withdrawal, withdrawal_id)
    if withdrawal is None or rails.is_automatic(withdrawal.method):
        raise NotFound(_("no such bank withdrawal"))
    if not mark_paid(withdrawal, reference.strip(), (WithdrawalStatus.APPROVED,)):
        raise Conflict(
            _("only an approved bank withdrawal can be marked paid"), code="invalid_status"
        )
    return db.session.get(Withdrawal, withdrawal_id, populate_existing=True)


def mark_bank_failed(withdrawal_id: int, reason: str) -> Withdrawal:
    if not reason.strip():
        raise ApiError(_("a reason is required"), fields={"reason": _("required")})
    withdrawal = db.session.get(Withdrawal, withdrawal_id)
    if withdrawal is None or rails.is_automatic(withdrawal.method):
        raise NotFound(_("no such bank withdrawal"))
    if not mark_failed(withdrawal, reason.strip(), (WithdrawalStatus.APPROVED,)):
        raise Conflict(
            _("only an approved bank withdrawal can be marked failed"), code="invalid_status"
        )
    return db.session.get(Withdrawal, withdrawal_id, populate_existing=True)
