"""The leader reward (optional per activity): one ledger entry (kind `group_reward`, key
unique per group) to the leader of a succeeded group once every paid order of the group
is completed, only when the leader is then an approved distributor with an account;
otherwise none. Each group is decided once (`group_buys.reward_done`), paid or not.
"""

from __future__ import annotations

import logging

from sqlalchemy import and_, exists, select, update

from wxdist.accounts import ledger
from wxdist.core.extensions import db
from wxdist.models import (
    Distributor,
    DistributorAccount,
    DistributorStatus,
    GroupActivity,
    GroupBuy,
    GroupMember,
    GroupStatus,
    LedgerBucket,
    MemberStatus,
    Order,
    OrderStatus,
)

log = logging.getLogger(__name__)

KIND = "group_reward"


def _due(limit: int) -> list[tuple[int, int, int]]:
    """(group id, leader, reward) of succeeded groups not decided whose paid orders are
    all completed."""
    unfinished = exists().where(
        GroupMember.group_id == GroupBuy.id,
        GroupMember.status == MemberStatus.PAID,
        Order.id == GroupMember.order_id,
        Order.status != OrderStatus.COMPLETED,
    )
    rows = db.session.execute(
        select(GroupBuy.id, GroupBuy.leader_id, GroupActivity.leader_reward_fen)
        .join(GroupActivity, GroupActivity.id == GroupBuy.activity_id)
        .where(
            and_(GroupBuy.status == GroupStatus.SUCCEEDED, GroupBuy.reward_done.is_(False)),
            ~unfinished,
        )
        .order_by(GroupBuy.id)
        .limit(limit)
    ).all()
    db.session.rollback()
    return [(g, leader, reward) for g, leader, reward in rows]


def _eligible(user_id: int) -> bool:
    return (
        db.session.scalar(
            select(Distributor.user_id)
            .join(DistributorAccount, DistributorAccount.user_id == Distributor.user_id)
            .where(Distributor.user_id == user_id, Distributor.status == DistributorStatus.APPROVED)
        )
        is not None
    )


def pay_leader_rewards(limit: int = 200) -> dict[str, int]:
    """Decide each due group once: pay the reward or record that none is due; commits per
    group. Returns counts `paid` and `none`."""
    counts = {"paid": 0, "none": 0}
    for group_id, leader_id, reward in _due(limit):
        decided = db.session.execute(
            update(GroupBuy)
            .where(GroupBuy.id == group_id, GroupBuy.reward_done.is_(False))
            .values(reward_done=True)
        )
        if decided.rowcount != 1:
            db.session.rollback()
            continue
        if reward > 0 and _eligible(leader_id):
            try:
                ledger.post(
                    leader_id,
                    LedgerBucket.AVAILABLE,
                    reward,
                    kind=KIND,
                    key=f"g{group_id}:reward",
                    note=f"group {group_id}",
                    lifetime_delta=reward,
                    account_exists=True,
                )
            except ledger.AlreadyPosted:
                db.session.rollback()
                log.info("group %s: leader reward posted before", group_id)
                continue
            counts["paid"] += 1
        else:
            counts["none"] += 1
        db.session.commit()
    return counts
