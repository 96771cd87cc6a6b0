"""Schemas of the shopping cart: lines in, the priced cart out, checkout."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints, field_serializer

from miniprogram_api.schemas.base import (
    Id,
    JsonInt,
    Out,
    PositiveFen,
    Strict,
    Text,
    bounded_json_int,
    shanghai_iso,
)
from miniprogram_api.schemas.marketing import RegionChoiceIn
from miniprogram_api.schemas.orders import ShipToIn
from wxdist.shop.cart import MAX_LINES, MAX_QUANTITY

Quantity = bounded_json_int(1, MAX_QUANTITY)


class CartLineIn(Strict):
    sku_id: Id
    quantity: JsonInt = Field(
        ge=1,
        le=MAX_QUANTITY,
        description="added to the SKU's line if the cart has one; past the SKU's stock the "
        "answer is a 409 `out_of_stock` naming `quantity` with `error.data.available`",
    )


class CartLinePatch(Strict):
    quantity: Quantity | None = Field(None, description="raising it past the stock is a 409")
    selected: bool | None = None


class CartSelectIn(Strict):
    selected: bool = Field(description="select (true) or unselect (false) every line")


class CartPreviewIn(RegionChoiceIn):
    coupon_id: Id | None = Field(None, description="price with this coupon of the shopper's")


class CartCheckoutIn(ShipToIn):
    remark: Annotated[Text, StringConstraints(max_length=255)] = ""
    coupon_id: Id | None = Field(None, description="use this coupon of the shopper's")
    expected_payable_fen: PositiveFen | None = Field(
        None,
        description="the payable the shopper was shown (from /cart/checkout/preview): if the "
        "order would pay anything else, nothing is placed and the answer is a 409 "
        "`price_changed` with the new payable in `error.data.payable_fen`",
    )


class CartLineOut(Out):
    id: int
    sku_id: int
    product_id: int
    title: str
    sku_name: str
    image_url: str
    quantity: int
    selected: bool
    price_fen: int = Field(description="the SKU's list price now (the cart stores no price)")
    promo_price_fen: int | None = Field(
        description="the unit price under the limited-time discount in force, if any"
    )
    discount_id: int | None = Field(description="that limited-time discount")
    promo_ends_at: datetime | None
    reduction_ids: list[int] = Field(description="full reductions in force that cover the line")
    stock: int
    on_sale: bool = Field(description="false when the product or SKU went off sale")
    in_stock: bool = Field(description="false when the SKU has none left")
    short: bool = Field(description="true when the stock is below the quantity")

    @field_serializer("promo_ends_at")
    def _time(self, value: datetime | None) -> str | None:
        return shanghai_iso(value)


class CartTotalsOut(Out):
    lines: int = Field(description="selected lines that can be bought (priced here)")
    quantity: int
    goods_fen: int
    discount_fen: int
    reduction_fen: int
    payable_fen: int = Field(description="before any coupon")
    promotions: dict[str, list[int]] = Field(
        description="ids of the limited-time discounts and full reductions applied"
    )
    suggested_coupon_id: int | None = Field(description="the held coupon that takes most off")
    suggested_coupon_fen: int = Field(description="what that coupon would take off")


class CartOut(Out):
    lines: list[CartLineOut] = Field(description="newest first; flagged lines are kept")
    totals: CartTotalsOut = Field(description="over the selected lines on sale and in stock")
    max_lines: int = MAX_LINES
