"""Requests and answers of the open API. Requests are strict (unknown fields refused);
money is integer fen, times UTC ISO 8601 (`…Z`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from wxdist.catalog.admin import MAX_STOCK

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
RequestId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Query(BaseModel):
    """Query strings carry text: integers are read from it (not strict)."""

    model_config = ConfigDict(extra="forbid")


class OrdersQuery(Query):
    cursor: str | None = Field(None, max_length=200, description="`next_cursor` of the last page")
    limit: int = Field(50, ge=1, le=100)


class ProductsQuery(Query):
    after_id: int = Field(0, ge=0, description="the last product id of the previous page")
    limit: int = Field(50, ge=1, le=100)


class StockLineIn(Strict):
    sku_code: Code
    set: int | None = Field(None, ge=0, le=MAX_STOCK, description="the stock, absolutely")
    delta: int | None = Field(
        None, ge=-MAX_STOCK, le=MAX_STOCK, description="a change (not 0); refused below 0"
    )


class StockBatchIn(Strict):
    request_id: RequestId = Field(description="applied once: the same id again changes nothing")
    items: list[StockLineIn] = Field(min_length=1, max_length=100)


class StockLineOut(BaseModel):
    sku_code: str
    stock: int


class StockBatchOut(BaseModel):
    request_id: str
    items: list[StockLineOut]


class ShipmentLineIn(Strict):
    order_item_id: int = Field(ge=1)
    quantity: int = Field(ge=1)


class ShipmentIn(Strict):
    request_id: RequestId
    order_no: Code
    kind: str = Field("express", description="express | virtual | pickup")
    delivery_id: str | None = Field(None, max_length=64, description="WeChat's carrier code")
    tracking_no: str | None = Field(None, max_length=64)
    items: list[ShipmentLineIn] | None = Field(
        None, description="the lines and quantities in this package; none: all not shipped"
    )


class ShipmentLineOut(BaseModel):
    order_item_id: int
    quantity: int


class ShipmentOut(BaseModel):
    id: int
    seq: int
    kind: str
    delivery_id: str | None
    tracking_no: str | None
    items: list[ShipmentLineOut]


class ShipmentCreated(BaseModel):
    request_id: str
    order_no: str
    order_status: str
    shipment: ShipmentOut


class OrderLineOut(BaseModel):
    id: int
    product_id: int
    sku_id: int
    title: str
    sku_name: str
    price_fen: int
    quantity: int
    amount_fen: int
    paid_fen: int
    refunded_fen: int


class OrderOut(BaseModel):
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
    receiver_name: str
    receiver_phone: str
    receiver_region: str
    receiver_region_code: str | None
    receiver_detail: str
    remark: str
    carrier: str | None
    tracking_no: str | None
    created_at: str
    paid_at: str | None
    shipped_at: str | None
    completed_at: str | None
    ended_at: str | None
    updated_at: str
    buyer_openid: str
    items: list[OrderLineOut]


class OrdersPage(BaseModel):
    orders: list[OrderOut]
    next_cursor: str = Field(description="send it back as `cursor`; the same when none are new")
    has_more: bool


class SkuOut(BaseModel):
    id: int
    code: str | None
    name: str
    price_fen: int
    stock: int
    is_active: bool
    weight_g: int
    stock_alert: str = Field(description="ok | low | out")


class ProductOut(BaseModel):
    id: int
    title: str
    on_shelf: bool
    category_id: int | None
    min_price_fen: int
    max_price_fen: int
    updated_at: str
    skus: list[SkuOut]


class ProductsPage(BaseModel):
    products: list[ProductOut]
    has_more: bool


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: dict[str, str]


class ErrorOut(BaseModel):
    error: ErrorDetail
