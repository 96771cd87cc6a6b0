"""Schemas of group buys (拼团): activities, their items and open groups, opening and
joining a group, a group's share page."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from miniprogram_api.schemas.base import Id, Out, PositiveFen, Text
from miniprogram_api.schemas.flash import _Times
from miniprogram_api.schemas.orders import OrderOut, ShipToIn


class GroupActivityOut(_Times):
    id: int
    name: str
    state: Literal["live", "upcoming"]
    starts_at: datetime
    ends_at: datetime
    countdown_seconds: int = Field(description="seconds to the end (live) or to the start")
    group_size: int = Field(description="members a group needs, the leader included")
    time_limit_minutes: int = Field(description="a group's time to fill once its leader paid")
    coupons_allowed: bool


class GroupActivityList(Out):
    items: list[GroupActivityOut]


class GroupItemOut(Out):
    group_sku_id: int
    sku_id: int
    product_id: int
    title: str
    sku_name: str
    image_url: str
    price_fen: int = Field(description="the group price")
    list_price_fen: int
    stock: int = Field(description="the activity stock set for the item")
    stock_left: int


class OpenGroupOut(Out):
    id: int
    group_sku_id: int
    size: int
    seats_left: int
    countdown_seconds: int = Field(description="seconds left to fill the group")
    leader_nickname: str = Field(description="masked")
    leader_avatar_url: str


class GroupActivityDetailOut(Out):
    activity: GroupActivityOut
    items: list[GroupItemOut]
    open_groups: list[OpenGroupOut]


class GroupMemberOut(Out):
    nickname: str = Field(description="masked")
    avatar_url: str
    is_leader: bool
    paid: bool


class GroupOut(Out):
    id: int
    activity: GroupActivityOut
    item: GroupItemOut
    status: Literal["pending", "open", "succeeded", "failed", "dropped"]
    size: int
    seats_left: int
    paid: int = Field(description="members who paid")
    countdown_seconds: int
    members: list[GroupMemberOut]


class _GroupOrderIn(ShipToIn):
    remark: Annotated[Text, StringConstraints(max_length=255)] = ""
    coupon_id: Id | None = Field(
        None, description="use this coupon of the shopper's (only if the activity allows)"
    )
    expected_payable_fen: PositiveFen | None = Field(
        None,
        description="the payable the shopper was shown: anything else is a 409 "
        "`price_changed` with the new payable in `error.data.payable_fen`",
    )


class GroupOpenIn(_GroupOrderIn):
    group_sku_id: Id


class GroupJoinIn(_GroupOrderIn):
    pass


class GroupOrderOut(OrderOut):
    group_id: int


class GroupShareOut(Out):
    scene: str = Field(description="≤ 32 characters: the group, and the sharer if a distributor")
    path: str = Field(description="the mini-program page to open with the scene")
    url: str = Field(description="the H5 share link")
