"""Schemas of coupons and of an order's price preview."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, field_serializer

from miniprogram_api.schemas.addresses import RegionCode
from miniprogram_api.schemas.base import Id, Out, QueryId, Strict, shanghai_iso
from miniprogram_api.schemas.orders import OrderLineIn


class CouponQuery(Strict):
    product_id: QueryId | None = None


class MyCouponQuery(Strict):
    status: Literal["unused", "locked", "used", "expired", "returned"] | None = None


class ClaimIn(Strict):
    claim_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")] | None = Field(
        None,
        description="the client's id for this claim request: a retry with the same key "
        "returns the same coupon instead of claiming another",
    )
    scene: Annotated[str, StringConstraints(max_length=32)] | None = Field(
        None,
        description="the scene of a distributor's share code carrying this coupon: the "
        "shopper is bound to that distributor under the binding rules",
    )


class _Times(Out):
    @field_serializer("*", when_used="json")
    def _times(self, value: object) -> object:
        return shanghai_iso(value) if isinstance(value, datetime) else value


class CouponTemplateOut(_Times):
    id: int
    name: str
    off_fen: int | None = Field(description="a fixed amount off, or")
    pay_rate_bp: int | None = Field(
        description="what is paid, in basis points of the price (8500 = 8.5折)"
    )
    cap_fen: int | None = Field(description="at most this much off (with pay_rate_bp)")
    threshold_fen: int = Field(description="minimum spend on the items it covers")
    claim_ends_at: datetime
    valid_from: datetime | None
    valid_until: datetime | None
    valid_days: int | None = Field(description="valid for this many days after claiming")
    remaining: int
    stackable: bool = Field(description="combines with limited-time discounts and reductions")


class CouponTemplateList(Out):
    items: list[CouponTemplateOut]


class CouponOut(_Times):
    id: int
    template_id: int
    name: str
    status: str = Field(description="unused | locked | used | expired | returned")
    off_fen: int | None
    pay_rate_bp: int | None
    cap_fen: int | None
    threshold_fen: int
    valid_from: datetime
    valid_until: datetime
    order_id: int | None


class CouponList(Out):
    items: list[CouponOut]


class RegionChoiceIn(Strict):
    """Where a preview ships: `address_id` or `region_code`, not both."""

    model_config = ConfigDict(
        json_schema_extra={"not": {"required": ["address_id", "region_code"]}}
    )

    address_id: Id = Field(
        None,  # type: ignore[assignment]
        description="ship to this address of the shopper's (or give `region_code`; neither: "
        "each template's default fee)",
    )
    region_code: RegionCode = Field(None, description="ship to this district")  # type: ignore[assignment]


class PreviewIn(RegionChoiceIn):
    items: list[OrderLineIn] = Field(min_length=1, max_length=50)
    coupon_id: Id | None = Field(None, description="price with this coupon of the shopper's")


class PricedItemOut(Out):
    sku_id: int
    product_id: int
    quantity: int
    price_fen: int
    amount_fen: int = Field(description="at list price")
    discount_fen: int = Field(description="the limited-time discount's share")
    reduction_fen: int = Field(description="the full reductions' share")
    coupon_fen: int = Field(description="the coupon's share")
    paid_fen: int


class CouponCheckOut(_Times):
    coupon_id: int
    template_id: int
    name: str
    usable: bool
    reason: str | None = Field(
        description="why not: not_started | expired | no_eligible_items | not_stackable | "
        "below_threshold | nothing_to_take"
    )
    reason_text: str = Field(description="the reason in the reader's language")
    discount_fen: int
    valid_until: datetime


class PreviewOut(Out):
    goods_fen: int
    discount_fen: int
    reduction_fen: int
    coupon_fen: int
    shipping_fen: int
    payable_fen: int
    coupon_id: int | None
    promotions: dict[str, list[int]] = Field(
        description="ids of the limited-time discounts and full reductions applied"
    )
    items: list[PricedItemOut]
    coupons: list[CouponCheckOut] = Field(description="every coupon the shopper holds")
    suggested_coupon_id: int | None = Field(description="the coupon that takes most off")
