"""Schemas of incentive campaigns as a distributor sees them: the campaigns in force with
my progress, and a campaign's leaderboard (names masked)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_serializer

from miniprogram_api.schemas.base import Out, shanghai_iso


class TierOut(BaseModel):
    threshold_fen: int = Field(description="net sales in the period that reach this tier")
    bonus_fen: int = Field(description="what the tier pays (the highest reached pays alone)")


class ProgressOut(BaseModel):
    measure_fen: int = Field(
        description="bonus: my net sales so far (paid less refunded, orders I referred "
        "directly); boost: the commission I earned at the campaign's rate"
    )
    reached_threshold_fen: int | None
    reached_bonus_fen: int | None = Field(description="the bonus of the tier reached so far")
    next_threshold_fen: int | None
    next_bonus_fen: int | None
    to_next_fen: int | None = Field(description="sales still needed for the next tier")


class CampaignOut(Out):
    id: int
    name: str
    kind: str = Field(description="boost (a higher commission rate) or bonus (sales tiers)")
    starts_at: datetime
    ends_at: datetime
    scope: str = Field(description="boost: all, products, categories or levels")
    scope_ids: list[int]
    rate_mode: str = Field(description="boost: override (the rate) or extra (on top)")
    rate_bp: int = Field(description="boost: the rate or the extra, in basis points")
    period: str = Field(description="bonus: week, month or custom")
    tiers: list[TierOut]
    progress: ProgressOut

    @field_serializer("starts_at", "ends_at")
    def _times(self, value: datetime | None) -> str | None:
        return shanghai_iso(value)


class CampaignList(Out):
    items: list[CampaignOut]


class LeaderRowOut(BaseModel):
    rank: int = Field(description="1 is the best; equal measures share a rank")
    name: str = Field(description="masked (张*丰), except my own row's")
    measure_fen: int
    is_me: bool


class LeaderboardOut(Out):
    campaign_id: int
    kind: str
    total: int = Field(description="how many distributors are ranked")
    items: list[LeaderRowOut] = Field(description="the top 50")
    me: LeaderRowOut | None = Field(description="my own row, wherever I stand; null if unranked")
