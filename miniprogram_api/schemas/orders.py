"""Schemas of orders and paying them: lines, address, order, payment parameters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, field_serializer

from miniprogram_api.schemas.addresses import Phone, RegionCode
from miniprogram_api.schemas.base import (
    Id,
    JsonInt,
    Name,
    Out,
    Paged,
    PageQuery,
    PositiveFen,
    Required,
    Strict,
    Text,
    shanghai_iso,
)
from wxdist.shop.orders import MAX_QUANTITY


class OrderQuery(PageQuery):
    status: (
        Literal[
            "pending_payment",
            "paid",
            "shipped",
            "completed",
            "cancelled",
            "closed",
            "refunding",
            "refunded",
        ]
        | None
    ) = None


class OrderLineIn(Strict):
    sku_id: Id
    quantity: JsonInt = Field(ge=1, le=MAX_QUANTITY)


class AddressIn(Strict):
    name: Name(64)
    phone: Phone
    region: Required(128) = Field(
        description="the region as text; with `region_code` the code's names replace it"
    )
    detail: Required(255)
    region_code: RegionCode = Field(
        None,  # type: ignore[assignment]
        description="the district's GB/T 2260 code: shipping rules match it. Without it the "
        "order pays each template's default fee, and a product that does not deliver "
        "everywhere refuses it (409 `region_required`)",
    )


class ShipToIn(Strict):
    """Where an order ships: exactly one of `address` and `address_id`."""

    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": ["address"]}, {"required": ["address_id"]}]}
    )

    address: AddressIn = Field(
        None,  # type: ignore[assignment]
        description="an address given here; or `address_id` (exactly one of the two)",
    )
    address_id: Id = Field(
        None,  # type: ignore[assignment]
        description="one of the shopper's addresses (/me/addresses): the order keeps a copy",
    )


class OrderIn(ShipToIn):
    items: list[OrderLineIn] = Field(
        min_length=1,
        max_length=50,
        description=f"lines of one sku_id count together: more than {MAX_QUANTITY} of one SKU "
        "in all is a 409 `too_many`; a SKU not on sale is a 409 `not_for_sale`",
    )
    remark: Annotated[Text, StringConstraints(max_length=255)] = ""
    coupon_id: Id | None = Field(None, description="use this coupon of the shopper's")
    expected_payable_fen: PositiveFen | None = Field(
        None,
        description="the payable the shopper was shown (from /orders/preview): if the order "
        "would pay anything else, nothing is placed and the answer is a 409 `price_changed` "
        "with the new payable in `error.data.payable_fen`",
    )


class PayIn(Strict):
    channel: Literal["wechat", "alipay"]


class OrderItemOut(Out):
    id: int
    product_id: int
    sku_id: int
    title: str
    sku_name: str
    image_url: str
    price_fen: int
    quantity: int
    amount_fen: int
    paid_fen: int = Field(description="amount_fen less every discount's share")
    refunded_fen: int


class AddressOut(Out):
    name: str
    phone: str
    region: str
    region_code: str | None
    detail: str


class OrderOut(Out):
    id: int
    order_no: str
    status: str
    goods_fen: int
    shipping_fen: int
    discount_fen: int
    payable_fen: int
    paid_fen: int
    refunded_fen: int
    pay_channel: str | None
    coupon_id: int | None
    address: AddressOut
    remark: str
    carrier: str | None
    tracking_no: str | None
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    completed_at: datetime | None
    items: list[OrderItemOut]

    @field_serializer("created_at", "expires_at", "paid_at", "shipped_at", "completed_at")
    def _times(self, value: datetime | None) -> str | None:
        return shanghai_iso(value)


class OrderPage(Paged):
    items: list[OrderOut]


class WechatPayParams(Out):
    appId: str
    timeStamp: str
    nonceStr: str
    package: str
    signType: str
    paySign: str


class PayOut(Out):
    channel: Literal["wechat", "alipay"]
    out_trade_no: str
    wechat: WechatPayParams | None = None
    alipay_url: str | None = None


class TrackingEventOut(Out):
    time: datetime
    state: str  # collected, in_transit, delivering, signed, problem, returned, refused
    text: str

    @field_serializer("time")
    def _time(self, value: datetime) -> str | None:
        return shanghai_iso(value)


class ShipmentItemOut(Out):
    order_item_id: int
    quantity: int


class ShipmentOut(Out):
    id: int
    seq: int
    kind: str  # express, virtual, pickup
    delivery_id: str | None
    carrier_name: str | None
    tracking_no: str | None
    items: list[ShipmentItemOut]
    shipped_at: datetime
    delivered_at: datetime | None
    events: list[TrackingEventOut]  # newest first

    @field_serializer("shipped_at", "delivered_at")
    def _times(self, value: datetime | None) -> str | None:
        return shanghai_iso(value)


class TrackingOut(Out):
    order_id: int
    status: str
    shipments: list[ShipmentOut]
