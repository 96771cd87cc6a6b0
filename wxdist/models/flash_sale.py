"""Flash sales (秒杀, issue 17): activities, their time slots, their SKUs with an activity
price and an activity stock of their own, one quota counter per (activity, user), and a
link row per flash-sale order.

`flash_skus.stock_left` and `flash_quotas.bought` move only by conditional UPDATEs in the
order's transaction (`wxdist.marketing.flash_sales.service`), and back when an unpaid
order ends; `flash_orders` says which orders took them (reconcile compares the two).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wxdist.core.extensions import db
from wxdist.models.types import BigId, Fen, UTCDateTime, utcnow


class CommissionMode:
    NONE = "none"  # the order's items carry a 0 commission base: nobody is credited
    NORMAL = "normal"  # commission on the paid amount, as any order

    ALL = (NONE, NORMAL)


class FlashActivity(db.Model):
    __tablename__ = "flash_activities"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    per_user_limit: Mapped[int] = mapped_column(Integer, default=1)  # units per activity
    per_order_limit: Mapped[int] = mapped_column(Integer, default=1)  # units per order
    commission_mode: Mapped[str] = mapped_column(String(8), default=CommissionMode.NONE)
    coupons_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FlashSlot(db.Model):
    """A time window of an activity: orders are accepted in [starts_at, ends_at)."""

    __tablename__ = "flash_slots"
    __table_args__ = (Index("ix_flash_slots_activity", "activity_id", "starts_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("flash_activities.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FlashSku(db.Model):
    """A SKU in an activity: its activity price and stock (`stock` set by staff,
    `stock_left` what orders have not taken)."""

    __tablename__ = "flash_skus"
    __table_args__ = (UniqueConstraint("activity_id", "sku_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("flash_activities.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    price_fen: Mapped[int] = mapped_column(Fen)
    stock: Mapped[int] = mapped_column(Integer)
    stock_left: Mapped[int] = mapped_column(Integer)


class FlashQuota(db.Model):
    """How many units of an activity a user holds in live orders (the per-user limit)."""

    __tablename__ = "flash_quotas"

    activity_id: Mapped[int] = mapped_column(
        ForeignKey("flash_activities.id"), primary_key=True, autoincrement=False
    )
    user_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    bought: Mapped[int] = mapped_column(Integer, default=0)


class FlashOrder(db.Model):
    """A flash-sale order: which activity SKU it took how many units of."""

    __tablename__ = "flash_orders"
    __table_args__ = (
        Index("ix_flash_orders_sku", "flash_sku_id", "order_id"),
        Index("ix_flash_orders_user", "activity_id", "user_id"),
    )

    order_id: Mapped[int] = mapped_column(
        ForeignKey("orders.id"), primary_key=True, autoincrement=False
    )
    activity_id: Mapped[int] = mapped_column(ForeignKey("flash_activities.id"))
    flash_sku_id: Mapped[int] = mapped_column(ForeignKey("flash_skus.id"))
    user_id: Mapped[int] = mapped_column(BigId)
    quantity: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
