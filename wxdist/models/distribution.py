"""The distribution programme: its settings, distributors and their levels."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from wxdist.core.extensions import db
from wxdist.models.types import BigId, Fen, UTCDateTime, utcnow


class DistributionSettings(db.Model):
    """One row (id 1), read and written only through `wxdist.distribution.settings`."""

    __tablename__ = "distribution_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # everyone | spend (after cumulative paid spend) | application
    distributor_mode: Mapped[str] = mapped_column(String(16), default="application")
    distributor_min_spend_fen: Mapped[int] = mapped_column(Fen, default=0)
    # auto | manual (for applications)
    application_review: Mapped[str] = mapped_column(String(8), default="auto")
    depth: Mapped[int] = mapped_column(Integer, default=2)
    level1_rate_bp: Mapped[int] = mapped_column(Integer, default=1000)
    level2_rate_bp: Mapped[int] = mapped_column(Integer, default=500)
    # permanent (first touch) | valid_days (then free) | last_touch (override)
    binding_mode: Mapped[str] = mapped_column(String(16), default="permanent")
    binding_valid_days: Mapped[int] = mapped_column(Integer, default=30)
    # new_users | no_referrer
    binding_scope: Mapped[str] = mapped_column(String(16), default="no_referrer")
    self_purchase_commission: Mapped[bool] = mapped_column(Boolean, default=False)
    freeze_days: Mapped[int] = mapped_column(Integer, default=7)
    auto_complete_days: Mapped[int] = mapped_column(Integer, default=10)
    # Withdrawals and payouts.
    withdraw_min_fen: Mapped[int] = mapped_column(Fen, default=100)
    withdraw_max_fen: Mapped[int] = mapped_column(Fen, default=2_000_000)  # per request
    withdraw_daily_max_fen: Mapped[int] = mapped_column(Fen, default=5_000_000)
    withdraw_fee_bp: Mapped[int] = mapped_column(Integer, default=0)
    withdraw_min_fee_fen: Mapped[int] = mapped_column(Fen, default=0)
    withdraw_methods: Mapped[str] = mapped_column(String(32), default="wechat,alipay,bank")
    withdraw_auto_approve_below_fen: Mapped[int] = mapped_column(Fen, default=0)  # 0: off
    wechat_payout_api: Mapped[str] = mapped_column(String(2), default="v3")  # v2 | v3
    payout_cycle: Mapped[str] = mapped_column(String(8), default="off")  # off | daily | weekly
    payout_weekday: Mapped[int] = mapped_column(Integer, default=1)  # 1 Monday .. 7 Sunday
    payout_cycle_last_run: Mapped[str | None] = mapped_column(String(10))  # Shanghai date
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class DistributorLevel(db.Model):
    """An ordered level (等级) with its own rates and upgrade conditions.

    A condition of 0 is not a condition. `condition_mode` says whether any one or all of
    the set conditions must hold.
    """

    __tablename__ = "distributor_levels"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    rank: Mapped[int] = mapped_column(Integer, unique=True)  # higher is better
    level1_rate_bp: Mapped[int] = mapped_column(Integer)
    level2_rate_bp: Mapped[int] = mapped_column(Integer)
    min_settled_commission_fen: Mapped[int] = mapped_column(Fen, default=0)
    min_team_sales_fen: Mapped[int] = mapped_column(Fen, default=0)
    min_direct_invites: Mapped[int] = mapped_column(Integer, default=0)
    min_own_paid_orders: Mapped[int] = mapped_column(Integer, default=0)
    condition_mode: Mapped[str] = mapped_column(String(3), default="any")  # any | all


class DistributorStatus:
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    DISABLED = "disabled"


class Distributor(db.Model):
    """A user's standing in the programme and the counters its level rules read."""

    __tablename__ = "distributors"
    __table_args__ = (
        Index("ix_distributors_status_applied", "status", "applied_at"),
        # The panel's distributor list: every status newest first, search by phone or name.
        Index("ix_distributors_applied", "applied_at"),
        Index("ix_distributors_phone", "phone"),
        Index("ix_distributors_real_name", "real_name"),
        # The panel's rankings (ORDER BY … DESC LIMIT 20).
        Index("ix_distributors_team_sales", "team_sales_fen"),
        Index("ix_distributors_direct_invites", "direct_invites"),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id"), primary_key=True, autoincrement=False
    )
    status: Mapped[str] = mapped_column(String(16), default=DistributorStatus.PENDING)
    real_name: Mapped[str] = mapped_column(String(32), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    reason: Mapped[str] = mapped_column(String(255), default="")
    review_note: Mapped[str] = mapped_column(String(255), default="")
    level_id: Mapped[int | None] = mapped_column(ForeignKey("distributor_levels.id"))
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Counters for level rules, moved in the same transactions as what they count.
    direct_invites: Mapped[int] = mapped_column(Integer, default=0)
    team_sales_fen: Mapped[int] = mapped_column(Fen, default=0)
