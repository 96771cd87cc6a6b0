"""Schemas of flash sales (秒杀): activities, their items, placing a flash-sale order."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_serializer

from miniprogram_api.schemas.base import Id, JsonInt, Out, PositiveFen, Text, shanghai_iso
from miniprogram_api.schemas.marketing import CouponCheckOut, RegionChoiceIn
from miniprogram_api.schemas.orders import ShipToIn


class _Times(Out):
    @field_serializer("*", when_used="json")
    def _times(self, value: object) -> object:
        return shanghai_iso(value) if isinstance(value, datetime) else value


class FlashSlotOut(_Times):
    starts_at: datetime
    ends_at: datetime


class FlashActivityOut(_Times):
    id: int
    name: str
    state: Literal["live", "upcoming"]
    slots: list[FlashSlotOut]
    countdown_seconds: int = Field(
        description="seconds to the open slot's end (live) or to the next slot's start"
    )
    per_user_limit: int
    per_order_limit: int
    coupons_allowed: bool


class FlashActivityList(Out):
    items: list[FlashActivityOut]


class FlashItemOut(Out):
    flash_sku_id: int
    sku_id: int
    product_id: int
    title: str
    sku_name: str
    image_url: str
    price_fen: int = Field(description="the activity's unit price")
    list_price_fen: int
    stock: int = Field(description="the activity stock set for the item")
    stock_left: int = Field(description="what is left of the activity stock")


class FlashDetailOut(Out):
    activity: FlashActivityOut
    items: list[FlashItemOut]
    bought: int = Field(description="units of this activity the shopper holds in live orders")


class FlashOrderIn(ShipToIn):
    flash_sku_id: Id
    quantity: JsonInt = Field(ge=1, le=999)
    remark: Annotated[Text, StringConstraints(max_length=255)] = ""
    coupon_id: Id | None = Field(
        None, description="use this coupon of the shopper's (only if the activity allows)"
    )
    expected_payable_fen: PositiveFen | None = Field(
        None,
        description="the payable the shopper was shown: anything else is a 409 "
        "`price_changed` with the new payable in `error.data.payable_fen`",
    )


class FlashPreviewIn(RegionChoiceIn):
    flash_sku_id: Id
    quantity: JsonInt = Field(ge=1, le=999)
    coupon_id: Id | None = Field(None, description="price with this coupon of the shopper's")


class FlashPreviewOut(Out):
    goods_fen: int = Field(description="at list price")
    activity_fen: int = Field(description="what the activity price takes off the list price")
    coupon_fen: int
    shipping_fen: int
    payable_fen: int = Field(description="what POST /flash-sales/orders would charge now")
    coupon_id: int | None
    coupons: list[CouponCheckOut] = Field(
        description="every coupon the shopper holds (none usable unless the activity allows)"
    )
    suggested_coupon_id: int | None
