"""Commission records, distributor accounts and the ledger behind every balance.

Invariant (checked by `flask reconcile`): for each account, each balance equals the sum of
its ledger entries in that bucket; no balance is negative except `available`, which a
clawback may push below zero as a debt that later earnings repay.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wxdist.core.extensions import db
from wxdist.models.types import BigId, Fen, UTCDateTime, utcnow


class CommissionStatus:
    FROZEN = "frozen"  # earned, waiting for the order to complete and the freeze to pass
    SETTLED = "settled"  # moved to available
    CANCELLED = "cancelled"  # wholly clawed back before settling

    ALL = (FROZEN, SETTLED, CANCELLED)


class Commission(db.Model):
    """What one beneficiary earns from one order item at one depth."""

    __tablename__ = "commissions"
    __table_args__ = (
        UniqueConstraint("order_item_id", "beneficiary_id", "level"),
        Index(
            "ix_commissions_beneficiary_status_created", "beneficiary_id", "status", "created_at"
        ),
        Index("ix_commissions_beneficiary_buyer", "beneficiary_id", "buyer_id"),
        Index("ix_commissions_beneficiary_created", "beneficiary_id", "created_at"),
        Index("ix_commissions_order", "order_id"),
        # The panel's commission list: newest first, all or by status.
        Index("ix_commissions_created", "created_at"),
        Index("ix_commissions_status_created", "status", "created_at"),
        Index("ix_commissions_campaign_beneficiary", "campaign_id", "beneficiary_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    order_item_id: Mapped[int] = mapped_column(ForeignKey("order_items.id"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    level: Mapped[int] = mapped_column(Integer)  # 1 or 2
    base_fen: Mapped[int] = mapped_column(Fen)  # the item's paid amount
    rate_bp: Mapped[int] = mapped_column(Integer)
    rate_source: Mapped[str] = mapped_column(String(8))  # product | level | default | campaign
    # The incentive campaign that set the rate, and the extra it pays over the normal rate
    # (reserved against the campaign's budget; see wxdist.incentives.boosts).
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("incentive_campaigns.id"))
    campaign_extra_fen: Mapped[int] = mapped_column(Fen, default=0)
    amount_fen: Mapped[int] = mapped_column(Fen)  # as first earned
    clawed_fen: Mapped[int] = mapped_column(Fen, default=0)  # taken back by refunds
    status: Mapped[str] = mapped_column(String(16), default=CommissionStatus.FROZEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def net_fen(self) -> int:
        return self.amount_fen - self.clawed_fen


class DistributorAccount(db.Model):
    """Balances in fen, changed only by conditional atomic updates beside a ledger entry."""

    __tablename__ = "distributor_accounts"
    __table_args__ = (  # the panel's ranking by commission earned
        Index("ix_distributor_accounts_lifetime", "lifetime_earned_fen"),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id"), primary_key=True, autoincrement=False
    )
    frozen_fen: Mapped[int] = mapped_column(Fen, default=0)
    available_fen: Mapped[int] = mapped_column(Fen, default=0)  # below 0: a debt
    withdrawing_fen: Mapped[int] = mapped_column(Fen, default=0)
    lifetime_earned_fen: Mapped[int] = mapped_column(Fen, default=0)  # settled, net of clawbacks
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class LedgerBucket:
    FROZEN = "frozen"
    AVAILABLE = "available"
    WITHDRAWING = "withdrawing"

    ALL = (FROZEN, AVAILABLE, WITHDRAWING)


class LedgerEntry(db.Model):
    """One movement of one bucket of one account. `key` makes every movement happen once."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(96), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    bucket: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int] = mapped_column(Fen)  # signed
    kind: Mapped[str] = mapped_column(String(32))
    commission_id: Mapped[int | None] = mapped_column(BigId, index=True)
    order_id: Mapped[int | None] = mapped_column(BigId)
    note: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AttributionFailure(db.Model):
    """A paid order whose commission attribution raised: how often, the last error, and,
    after `attribution_failures.PARK_AFTER` attempts, when it was parked (the drain stops
    retrying it; the periodic sweep still does, and `flask reconcile` lists it)."""

    __tablename__ = "attribution_failures"

    order_id: Mapped[int] = mapped_column(
        ForeignKey("orders.id"), primary_key=True, autoincrement=False
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(255), default="")
    first_failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    parked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
