"""The ledger: the only code that changes a distributor's balances.

`post` writes one entry (its unique `key` makes the movement happen once) and applies it
to the account with a conditional atomic update in the caller's transaction; the caller
commits. A debit that would take a balance below zero is refused (`InsufficientBalance`)
unless it is a clawback, which may leave `available` negative: a debt. On either error the
caller must roll the whole transaction back (no savepoints: SQLite's driver mishandles
them), which is what an all-or-nothing money operation wants anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import case, insert, select, update
from sqlalchemy.exc import IntegrityError

from wxdist.core.extensions import db
from wxdist.core.sql import insert_ignore
from wxdist.models import DistributorAccount, LedgerBucket, LedgerEntry
from wxdist.models.types import utcnow

BUCKET_COLUMNS = {
    LedgerBucket.FROZEN: DistributorAccount.frozen_fen,
    LedgerBucket.AVAILABLE: DistributorAccount.available_fen,
    LedgerBucket.WITHDRAWING: DistributorAccount.withdrawing_fen,
}


class InsufficientBalance(Exception):
    """The debit would take the balance below zero."""


class AlreadyPosted(Exception):
    """An entry with this key exists: the movement happened before."""


def ensure_account(user_id: int) -> None:
    """Create the account row if missing (idempotent, safe under concurrency)."""
    if db.session.get(DistributorAccount, user_id) is not None:
        return
    insert_ignore(DistributorAccount.__table__, user_id=user_id, updated_at=utcnow())


def ensure_accounts(user_ids: Iterable[int]) -> None:
    """`ensure_account` for many users: one read, an insert only for those missing. (An
    INSERT IGNORE of an existing row would take a shared lock on it, which the UPDATE that
    follows must then upgrade: two transactions doing so deadlock.)"""
    wanted = set(user_ids)
    if not wanted:
        return
    present = set(
        db.session.scalars(
            select(DistributorAccount.user_id).where(DistributorAccount.user_id.in_(wanted))
        )
    )
    for user_id in sorted(wanted - present):
        insert_ignore(DistributorAccount.__table__, user_id=user_id, updated_at=utcnow())


@dataclass(frozen=True)
class Credit:
    """One positive entry for `credit_many`."""

    user_id: int
    amount_fen: int
    key: str
    commission_id: int | None = None
    order_id: int | None = None


def credit_many(bucket: str, credits: Sequence[Credit], *, kind: str) -> None:
    """`post` of many credits to one bucket, in the caller's transaction: one multi-row
    INSERT of the entries (their unique keys make each happen once), then one UPDATE adding
    each account's total, its rowcount checked. Accounts are created if missing and updated
    in user id order, so concurrent callers lock them in one order.

    Raises ValueError for an amount that is not positive, AlreadyPosted when a key exists
    (roll the transaction back), RuntimeError if an account row vanished."""
    if not credits:
        return
    totals: dict[int, int] = {}
    for credit in credits:
        if credit.amount_fen <= 0:
            raise ValueError(f"credit_many takes positive amounts, not {credit.amount_fen}")
        totals[credit.user_id] = totals.get(credit.user_id, 0) + credit.amount_fen
    ensure_accounts(totals)
    now = utcnow()
    try:
        db.session.execute(
            insert(LedgerEntry.__table__),
            [
                {
                    "key": c.key,
                    "user_id": c.user_id,
                    "bucket": bucket,
                    "amount_fen": c.amount_fen,
                    "kind": kind,
                    "commission_id": c.commission_id,
                    "order_id": c.order_id,
                    "note": "",
                    "created_at": now,
                }
                for c in credits
            ],
        )
    except IntegrityError as exc:
        raise AlreadyPosted(str(exc.orig)[:200]) from None
    column = BUCKET_COLUMNS[bucket]
    users = sorted(totals)
    moved = db.session.execute(
        update(DistributorAccount)
        .where(DistributorAccount.user_id.in_(users))
        .values({column.key: column + case(totals, value=DistributorAccount.user_id)})
    ).rowcount
    if moved != len(users):
        raise RuntimeError(f"credit_many: {len(users) - moved} of {len(users)} accounts missing")


def post(
    user_id: int,
    bucket: str,
    amount_fen: int,
    *,
    kind: str,
    key: str,
    commission_id: int | None = None,
    order_id: int | None = None,
    note: str = "",
    may_go_negative: bool = False,
    lifetime_delta: int = 0,
    account_exists: bool = False,
) -> None:
    """Move `amount_fen` (signed) in one bucket. `account_exists`: the caller knows the
    account row is there (it holds this money), so it is not looked up. Raises
    AlreadyPosted, InsufficientBalance (roll the transaction back)."""
    if amount_fen == 0:
        return
    column = BUCKET_COLUMNS[bucket]
    if not account_exists:
        ensure_account(user_id)
    try:  # a Core INSERT: one round trip, no unit of work for an object nobody reads back
        db.session.execute(
            insert(LedgerEntry).values(
                key=key,
                user_id=user_id,
                bucket=bucket,
                amount_fen=amount_fen,
                kind=kind,
                commission_id=commission_id,
                order_id=order_id,
                note=note[:255],
            )
        )
    except IntegrityError:
        raise AlreadyPosted(key) from None
    values = {column.key: column + amount_fen}
    if lifetime_delta:
        values["lifetime_earned_fen"] = DistributorAccount.lifetime_earned_fen + lifetime_delta
    statement = update(DistributorAccount).where(DistributorAccount.user_id == user_id)
    if amount_fen < 0 and not may_go_negative:
        statement = statement.where(column >= -amount_fen)
    if db.session.execute(statement.values(**values)).rowcount != 1:
        raise InsufficientBalance(f"user {user_id} {bucket} < {-amount_fen}")


def move(
    user_id: int,
    source: str,
    target: str,
    amount_fen: int,
    *,
    kind: str,
    key: str,
    commission_id: int | None = None,
    order_id: int | None = None,
    lifetime_delta: int = 0,
    account_exists: bool = False,
) -> None:
    """Move between two buckets of one account: two entries, `key`:out and `key`:in."""
    post(
        user_id,
        source,
        -amount_fen,
        kind=kind,
        key=f"{key}:out",
        commission_id=commission_id,
        order_id=order_id,
        account_exists=account_exists,
    )
    post(
        user_id,
        target,
        amount_fen,
        kind=kind,
        key=f"{key}:in",
        commission_id=commission_id,
        order_id=order_id,
        lifetime_delta=lifetime_delta,
        account_exists=True,
    )
