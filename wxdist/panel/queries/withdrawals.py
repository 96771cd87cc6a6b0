"""Withdrawals: the review queue and list, the CSV rows, one withdrawal's page.

Lists are newest first (created_at, id) and each filter has an index that yields that
order: (status, created_at), (method, created_at), (method, status, created_at),
(user_id, created_at), (created_at); search by id or payout number hits a unique key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, func, or_, select

from wxdist.core.extensions import db
from wxdist.models import LedgerEntry, User, Withdrawal, WithdrawalStatus
from wxdist.models.distribution import Distributor
from wxdist.models.staff import AuditEntry
from wxdist.panel.queries.audit import history
from wxdist.panel.queries.paging import Page, fetch_page


def withdrawal(withdrawal_id: int, fresh: bool = False) -> Withdrawal | None:
    """The withdrawal; `fresh` reloads it from the database over what the session holds."""
    if fresh:
        return db.session.get(Withdrawal, withdrawal_id, populate_existing=True)
    return db.session.get(Withdrawal, withdrawal_id)


def waiting_totals() -> tuple[int, int]:
    """(count, amount in fen) of the withdrawals waiting for review."""
    count, amount = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Withdrawal.amount_fen), 0)).where(
            Withdrawal.status == WithdrawalStatus.PENDING_REVIEW
        )
    ).one()
    return count, int(amount)


def _listing(status: str, method: str, q: str) -> Select[Any]:
    """Withdrawals with the distributor's real name, newest first, filtered; `q` is a
    withdrawal or user id (digits) or a payout number."""
    statement = (
        select(Withdrawal, Distributor.real_name)
        .outerjoin(Distributor, Distributor.user_id == Withdrawal.user_id)
        .order_by(Withdrawal.created_at.desc(), Withdrawal.id.desc())
    )
    if status:
        statement = statement.where(Withdrawal.status == status)
    if method:
        statement = statement.where(Withdrawal.method == method)
    if q.isascii() and q.isdigit() and len(q) <= 18:  # a withdrawal or user id
        number = int(q)
        statement = statement.where(or_(Withdrawal.id == number, Withdrawal.user_id == number))
    elif q:  # a payout number (unique)
        statement = statement.where(Withdrawal.payout_no == q.upper())
    return statement


def withdrawal_page(page: int, status: str, method: str, q: str) -> Page:
    """A page of (Withdrawal, real name) rows, filtered as `_listing` says."""
    return fetch_page(_listing(status, method, q), page, scalars=False)


def withdrawal_rows(status: str, method: str, q: str) -> Iterable[Row[Any]]:
    """Every (Withdrawal, real name) row of the filter, streamed 500 at a time."""
    return db.session.execute(_listing(status, method, q).execution_options(yield_per=500))


def waiting_among(ids: list[int]) -> list[Withdrawal]:
    """Those of `ids` that wait for review."""
    return list(
        db.session.scalars(
            select(Withdrawal).where(
                Withdrawal.id.in_(ids), Withdrawal.status == WithdrawalStatus.PENDING_REVIEW
            )
        )
    )


@dataclass(frozen=True)
class WithdrawalFacts:
    """What one withdrawal's page shows besides the withdrawal."""

    distributor: Distributor | None
    user: User | None
    entries: Sequence[LedgerEntry]
    history: Sequence[AuditEntry]


def withdrawal_facts(row: Withdrawal) -> WithdrawalFacts:
    """The distributor and user, the ledger entries of the withdrawal (keys `w{id}:…`) and
    the newest 50 audit entries about it."""
    entries = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.key.like(f"w{row.id}:%")).order_by(LedgerEntry.id)
    ).all()
    return WithdrawalFacts(
        distributor=db.session.get(Distributor, row.user_id),
        user=db.session.get(User, row.user_id),
        entries=entries,
        history=history("withdrawal", str(row.id), 50),
    )
