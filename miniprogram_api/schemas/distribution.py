"""Schemas of the distributor centre: application, level and balances, team,
commission, attributed orders."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_serializer

from miniprogram_api.schemas.base import (
    Name,
    Out,
    Paged,
    PageQuery,
    QueryInt,
    Strict,
    Text,
    shanghai_iso,
)


class ApplicationIn(Strict):
    real_name: Name(32)
    phone: Annotated[Text, StringConstraints(pattern=r"^\+?[0-9][0-9 -]{5,18}[0-9]$")]
    reason: Annotated[Text, StringConstraints(max_length=255)] = ""


class TeamQuery(PageQuery):
    depth: QueryInt = Field(1, ge=1, le=2)


class CommissionQuery(PageQuery):
    status: Literal["frozen", "settled", "cancelled"] | None = None


class LevelOut(Out):
    id: int
    name: str
    rank: int


class BalancesOut(Out):
    frozen_fen: int
    available_fen: int  # below 0: a debt that future earnings repay
    withdrawing_fen: int


class DistributorOut(Out):
    status: Literal["none", "pending", "approved", "rejected", "disabled"]
    review_note: str
    level: LevelOut | None
    balances: BalancesOut
    lifetime_earned_fen: int
    today_earned_fen: int
    today_orders: int
    month_earned_fen: int
    month_orders: int
    direct_invites: int
    team_size: int
    scene: str | None  # the scene to put in a share link or mini-program code


class TeamMemberOut(Out):
    user_id: int
    nickname: str
    avatar_url: str
    bound_at: datetime | None
    paid_orders: int
    contribution_fen: int  # commission this member's orders brought me, net of clawbacks

    @field_serializer("bound_at")
    def _bound(self, value: datetime | None) -> str | None:
        return shanghai_iso(value)


class TeamPage(Paged):
    depth: int
    items: list[TeamMemberOut]


class CommissionOut(Out):
    id: int
    order_no: str
    buyer: str  # masked
    level: int
    base_fen: int
    rate_bp: int
    campaign_id: int | None = Field(
        None, description="the incentive campaign that set the rate (a boost), if any"
    )
    amount_fen: int
    clawed_fen: int
    net_fen: int
    status: str
    created_at: datetime
    settled_at: datetime | None

    @field_serializer("created_at", "settled_at")
    def _times(self, value: datetime | None) -> str | None:
        return shanghai_iso(value)


class CommissionPage(Paged):
    items: list[CommissionOut]


class AttributedOrderOut(Out):
    order_no: str
    status: str
    buyer: str  # masked
    level: int
    paid_fen: int
    refunded_fen: int
    commission_fen: int  # mine, net of clawbacks
    paid_at: datetime | None

    @field_serializer("paid_at")
    def _paid(self, value: datetime | None) -> str | None:
        return shanghai_iso(value)


class AttributedOrderPage(Paged):
    items: list[AttributedOrderOut]
