"""Distribution's part of account deletion and export (`core.events`).

On deletion the distributor's profile is emptied (real name, phone, application reason and
the staff's review note), an approved or pending distributor is disabled (their scene on
posters still in circulation binds nobody to a deleted account), and their team is
detached: the direct members are left without a referrer (`referrals.detach_team`; not
re-parented to the deleted person's referrer, who never brought them), so under the
`no_referrer` binding scope the next distributor's share may bind them. Commissions and
their ledger rows stay untouched: balances are zero (deletion waits for that) and the books
keep every movement.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from wxdist.accounts.export import iso
from wxdist.core.extensions import db
from wxdist.distribution.referrals import detach_team
from wxdist.models import Commission, Distributor, DistributorStatus, Referral, ReferralBinding


def anonymise(user_id: int) -> None:
    row = db.session.scalar(
        select(Distributor).where(Distributor.user_id == user_id).with_for_update()
    )
    if row is not None:
        row.real_name = row.phone = row.reason = row.review_note = ""
        if row.status in (DistributorStatus.APPROVED, DistributorStatus.PENDING):
            row.status = DistributorStatus.DISABLED
    detach_team(user_id)


def export(user_id: int) -> dict[str, Any]:
    row = db.session.get(Distributor, user_id)
    referral = db.session.get(Referral, user_id)
    commissions = db.session.scalars(
        select(Commission).where(Commission.beneficiary_id == user_id).order_by(Commission.id)
    ).all()
    team = db.session.scalar(
        select(func.count()).select_from(Referral).where(Referral.parent_id == user_id)
    )
    ever_bound = db.session.scalar(
        select(func.count(func.distinct(ReferralBinding.user_id))).where(
            ReferralBinding.referrer_id == user_id
        )
    )
    return {
        "distributor": None
        if row is None
        else {
            "status": row.status,
            "real_name": row.real_name,
            "phone": row.phone,
            "reason": row.reason,
            "level_id": row.level_id,
            "applied_at": iso(row.applied_at),
            "approved_at": iso(row.approved_at),
        },
        "referrals": {
            "referrer_id": referral.parent_id if referral is not None else None,
            "bound_at": iso(referral.bound_at) if referral is not None else None,
            "direct_team": team or 0,
            "ever_referred": ever_bound or 0,
        },
        "commissions": [
            {
                "id": c.id,
                "order_id": c.order_id,
                "level": c.level,
                "base_fen": c.base_fen,
                "rate_bp": c.rate_bp,
                "amount_fen": c.amount_fen,
                "clawed_fen": c.clawed_fen,
                "status": c.status,
                "created_at": iso(c.created_at),
                "settled_at": iso(c.settled_at),
            }
            for c in commissions
        ],
    }
