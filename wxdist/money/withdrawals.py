"""Withdrawals: a distributor asks, staff review, a payout job pays (see `wxdist.money.payouts`).

Every path ends with the money either paid exactly once or back in the distributor's
available balance, and the ledger says which:
- request: available → withdrawing (one conditional update: the balance never goes below 0);
- reject, cancel, definite payout failure: withdrawing → available;
- paid: withdrawing → out.
Status changes are compare-and-set updates, so two reviewers or two workers cannot both act.

The steps live in `withdrawal_request`, `withdrawal_review` and `withdrawal_outcome`,
over what they share in `withdrawal_state`; this module names them all in one place.
"""

from __future__ import annotations

from wxdist.money.rails import AccountIn as AccountIn  # the API builds it from here
from wxdist.money.withdrawal_outcome import mark_bank_failed, mark_bank_paid, mark_failed, mark_paid
from wxdist.money.withdrawal_request import (
    cancel_own,
    fee_for,
    get_own,
    list_own,
    request_withdrawal,
)
from wxdist.money.withdrawal_review import (
    approve,
    approve_batch,
    approve_many,
    reject,
    retry_failed,
)
from wxdist.money.withdrawal_state import CHUNK, Held, enqueue_payout

__all__ = [
    "CHUNK",
    "AccountIn",
    "Held",
    "approve",
    "approve_batch",
    "approve_many",
    "cancel_own",
    "enqueue_payout",
    "fee_for",
    "get_own",
    "list_own",
    "mark_bank_failed",
    "mark_bank_paid",
    "mark_failed",
    "mark_paid",
    "reject",
    "request_withdrawal",
    "retry_failed",
]
