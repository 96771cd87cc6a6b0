"""Distributors: the list, the facts shown beside a page of it, and one distributor's page.

Lists read only the rows on the page and answer their extra columns (balances, referrer,
team size) with one indexed query each over those ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, func, select

from wxdist.core.extensions import db
from wxdist.models import (
    Commission,
    Distributor,
    DistributorAccount,
    DistributorLevel,
    DistributorStatus,
    Referral,
    User,
    Withdrawal,
)
from wxdist.panel.queries.paging import Page, fetch_page


def distributor(user_id: int) -> Distributor | None:
    return db.session.get(Distributor, user_id)


def referral(user_id: int) -> Referral | None:
    return db.session.get(Referral, user_id)


def distributor_page(page: int, status: str, q: str) -> Page:
    """Distributors newest application first; `q` is a user id (up to 10 digits), a phone
    prefix (more digits) or a real-name prefix."""
    statement = select(Distributor).order_by(
        Distributor.applied_at.desc(), Distributor.user_id.desc()
    )
    if status:
        statement = statement.where(Distributor.status == status)  # ix_distributors_status_applied
    if q:
        if q.isascii() and q.isdigit() and len(q) <= 10:
            statement = statement.where(Distributor.user_id == int(q))
        elif q.isascii() and q.isdigit():
            statement = statement.where(Distributor.phone.startswith(q, autoescape=True))
        else:
            statement = statement.where(Distributor.real_name.startswith(q, autoescape=True))
    return fetch_page(statement, page)


def pending_count() -> int:
    """How many applications wait for review."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Distributor)
            .where(Distributor.status == DistributorStatus.PENDING)
        )
        or 0
    )


def names_of(user_ids: set[int]) -> dict[int, str]:
    """A display name per user: the distributor's real name, else the WeChat nickname."""
    ids = {i for i in user_ids if i}
    if not ids:
        return {}
    names = {
        user_id: nickname
        for user_id, nickname in db.session.execute(
            select(User.id, User.nickname).where(User.id.in_(ids))
        )
    }
    for user_id, real_name in db.session.execute(
        select(Distributor.user_id, Distributor.real_name).where(Distributor.user_id.in_(ids))
    ):
        if real_name:
            names[user_id] = real_name
    return names


def page_facts(ids: list[int]) -> dict[str, dict[int, Any]]:
    """Per listed user id: `accounts` (balances), `parents` (referrer id), `team` (direct
    team size) and `names` (of the referrers)."""
    if not ids:
        return {"accounts": {}, "parents": {}, "team": {}, "names": {}}
    accounts = {
        account.user_id: account
        for account in db.session.scalars(
            select(DistributorAccount).where(DistributorAccount.user_id.in_(ids))
        )
    }
    parents = dict(
        db.session.execute(
            select(Referral.user_id, Referral.parent_id).where(Referral.user_id.in_(ids))
        ).all()
    )
    # Direct team sizes of this page only: one grouped count over ix_referrals_parent_team.
    team = dict(
        db.session.execute(
            select(Referral.parent_id, func.count())
            .where(Referral.parent_id.in_(ids))
            .group_by(Referral.parent_id)
        ).all()
    )
    return {
        "accounts": accounts,
        "parents": parents,
        "team": team,
        "names": names_of({p for p in parents.values() if p}),
    }


@dataclass(frozen=True)
class DistributorFacts:
    """What one distributor's page shows besides the distributor row."""

    user: User | None
    account: DistributorAccount | None
    level: DistributorLevel | None
    referral: Referral | None
    team: Sequence[Row[Any]]
    team_size: int
    commission: Sequence[Commission]
    withdrawals: Sequence[Withdrawal]


def distributor_facts(row: Distributor, rows: int) -> DistributorFacts:
    """The user, balances, level, referral, the newest `rows` team members (user id,
    bound, expires), commission records and withdrawals of one distributor."""
    user_id = row.user_id
    user = db.session.get(User, user_id)
    account = db.session.get(DistributorAccount, user_id)
    level = db.session.get(DistributorLevel, row.level_id) if row.level_id else None
    bound = db.session.get(Referral, user_id)
    team = db.session.execute(
        select(Referral.user_id, Referral.bound_at, Referral.expires_at)
        .where(Referral.parent_id == user_id)
        .order_by(Referral.bound_at.desc(), Referral.user_id.desc())
        .limit(rows)
    ).all()
    team_size = db.session.scalar(
        select(func.count()).select_from(Referral).where(Referral.parent_id == user_id)
    )
    commission = db.session.scalars(
        select(Commission)
        .where(Commission.beneficiary_id == user_id)
        .order_by(Commission.created_at.desc(), Commission.id.desc())
        .limit(rows)
    ).all()
    withdrawals = db.session.scalars(
        select(Withdrawal)
        .where(Withdrawal.user_id == user_id)
        .order_by(Withdrawal.created_at.desc(), Withdrawal.id.desc())
        .limit(rows)
    ).all()
    return DistributorFacts(
        user, account, level, bound, team, team_size or 0, commission, withdrawals
    )
