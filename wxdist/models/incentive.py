"""Incentive campaigns (激励机制): commission rate boosts and tiered sales bonuses.

- A boost campaign raises the rate of commission on orders paid inside its window (an
  override or extra basis points); the extra it pays over the normal rate is reserved
  against `budget_fen` by a conditional UPDATE of `spent_fen`, so the budget is never
  exceeded. Commission records name the campaign (`commissions.campaign_id`).
- A bonus campaign pays each distributor the highest tier their net sales in the window
  reached, once (`incentive_bonuses` is unique on campaign and distributor), as a ledger
  entry of kind "bonus" after the refund window closed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wxdist.core.extensions import db
from wxdist.models.types import BigId, Fen, UTCDateTime, utcnow


class CampaignKind:
    BOOST = "boost"
    BONUS = "bonus"

    ALL = (BOOST, BONUS)


class CampaignStatus:
    DRAFT = "draft"  # being prepared: applies to nothing
    ACTIVE = "active"  # applies inside its window
    ENDED = "ended"  # stopped by staff (`stopped_at`) or wound up

    ALL = (DRAFT, ACTIVE, ENDED)


class IncentiveCampaign(db.Model):
    """One campaign, boost or bonus. Times are UTC; the window is [starts_at, ends_at)."""

    __tablename__ = "incentive_campaigns"
    __table_args__ = (Index("ix_incentive_campaigns_kind_status", "kind", "status", "starts_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))  # boost | bonus
    status: Mapped[str] = mapped_column(String(8), default=CampaignStatus.DRAFT)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Boosts: scope all | products | categories | levels, and the chosen ids.
    scope: Mapped[str] = mapped_column(String(16), default="all")
    scope_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    rate_mode: Mapped[str] = mapped_column(String(8), default="extra")  # override | extra
    rate_bp: Mapped[int] = mapped_column(Integer, default=0)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    budget_fen: Mapped[int] = mapped_column(Fen, default=0)
    spent_fen: Mapped[int] = mapped_column(Fen, default=0)  # extra reserved so far
    # Bonuses: how the window was chosen (week | month | custom), and when it was paid.
    period: Mapped[str] = mapped_column(String(8), default="custom")
    bonuses_paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    tiers: Mapped[list[BonusTier]] = relationship(
        back_populates="campaign",
        cascade="all, delete-orphan",
        order_by="BonusTier.threshold_fen",
    )

    @property
    def effective_end(self) -> datetime:
        """The end of the window, or when staff stopped it if that came first."""
        if self.stopped_at is not None and self.stopped_at < self.ends_at:
            return self.stopped_at
        return self.ends_at

    def shown_status(self, now: datetime) -> str:
        """The status a person reads: an active campaign past its end reads "ended"."""
        if self.status == CampaignStatus.ACTIVE and now >= self.effective_end:
            return CampaignStatus.ENDED
        return self.status

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "kind": self.kind}


class BonusTier(db.Model):
    """Net sales of at least `threshold_fen` in the window earn `bonus_fen` (the highest
    tier reached pays; tiers do not add up)."""

    __tablename__ = "incentive_bonus_tiers"
    __table_args__ = (UniqueConstraint("campaign_id", "threshold_fen"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("incentive_campaigns.id"))
    threshold_fen: Mapped[int] = mapped_column(Fen)
    bonus_fen: Mapped[int] = mapped_column(Fen)

    campaign: Mapped[IncentiveCampaign] = relationship(back_populates="tiers")


class IncentiveBonus(db.Model):
    """The bonus one distributor was paid for one campaign's period: once, by its unique
    key; its ledger entry is `b<id>:pay` (kind "bonus", bucket available)."""

    __tablename__ = "incentive_bonuses"
    __table_args__ = (UniqueConstraint("campaign_id", "distributor_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("incentive_campaigns.id"))
    distributor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    sales_fen: Mapped[int] = mapped_column(Fen)  # net sales when paid
    threshold_fen: Mapped[int] = mapped_column(Fen)  # the tier reached
    bonus_fen: Mapped[int] = mapped_column(Fen)
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
