"""Group buys (拼团, issue 17): activities, their SKUs with a group price and an activity
stock of their own, the groups shoppers open, and one member row per (group, shopper).

`group_buys.taken` (seats held by live member orders) moves only by a conditional UPDATE
in the member's order transaction (`wxdist.marketing.group_buys.service`);
`group_skus.stock_left` likewise. A member row names the order that holds its seat; an
unpaid member order that ends deletes its row and gives the seat and the unit back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wxdist.core.extensions import db
from wxdist.models.types import BigId, Fen, UTCDateTime, utcnow


class GroupStatus:
    PENDING = "pending"  # the leader's order is not paid yet
    OPEN = "open"  # the leader paid: members may join until expires_at
    SUCCEEDED = "succeeded"  # paid members reached the size: the orders are released
    FAILED = "failed"  # not full at its deadline: every paid member refunded
    DROPPED = "dropped"  # the leader's order ended unpaid


class MemberStatus:
    RESERVED = "reserved"  # the order holds a seat, not paid yet
    PAID = "paid"
    REFUNDED = "refunded"  # the group failed: the order's refund was requested


class GroupActivity(db.Model):
    __tablename__ = "group_activities"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    group_size: Mapped[int] = mapped_column(Integer)  # 2..50, the leader included
    time_limit_minutes: Mapped[int] = mapped_column(Integer)  # to fill, from the leader's payment
    commission_mode: Mapped[str] = mapped_column(String(8), default="none")
    coupons_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    leader_reward_fen: Mapped[int] = mapped_column(Fen, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupSku(db.Model):
    """A SKU in a group-buy activity: its group price and activity stock."""

    __tablename__ = "group_skus"
    __table_args__ = (UniqueConstraint("activity_id", "sku_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("group_activities.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    price_fen: Mapped[int] = mapped_column(Fen)
    stock: Mapped[int] = mapped_column(Integer)
    stock_left: Mapped[int] = mapped_column(Integer)


class GroupBuy(db.Model):
    """A group a leader opened: `taken` seats held by live member orders (the leader's
    included), `paid` of them paid."""

    __tablename__ = "group_buys"
    __table_args__ = (
        Index("ix_group_buys_status_expires", "status", "expires_at"),
        Index("ix_group_buys_sku_status", "group_sku_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("group_activities.id"))
    group_sku_id: Mapped[int] = mapped_column(ForeignKey("group_skus.id"))
    leader_id: Mapped[int] = mapped_column(BigId)
    size: Mapped[int] = mapped_column(Integer)
    taken: Mapped[int] = mapped_column(Integer, default=1)
    paid: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12), default=GroupStatus.PENDING)
    time_limit_minutes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The leader reward was paid, or found not due (no reward, leader no distributor).
    reward_done: Mapped[bool] = mapped_column(Boolean, default=False)


class GroupMember(db.Model):
    """A shopper's seat in a group, held by their order."""

    __tablename__ = "group_members"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("group_buys.id"))
    user_id: Mapped[int] = mapped_column(BigId)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    is_leader: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), default=MemberStatus.RESERVED)
    refund_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
