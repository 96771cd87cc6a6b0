"""Schemas of the catalogue: categories, products and their SKUs, product pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_serializer

from miniprogram_api.schemas.base import Out, Paged, PageQuery, QueryFen, QueryId, shanghai_iso


class ProductQuery(PageQuery):
    category_id: QueryId | None = None
    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] = Field(
        "",
        description="words of the title, Chinese without spaces included (`保温` finds "
        "`不锈钢保温杯`); every word must be found",
    )
    min_price_fen: QueryFen | None = Field(
        None, description="the product's lowest list price at least this"
    )
    max_price_fen: QueryFen | None = Field(
        None, description="the product's lowest list price at most this"
    )
    sort: Literal["default", "sales", "price_asc", "price_desc", "newest"] = Field(
        "default",
        description="default: the merchant's order; sales: units sold net of refunds; "
        "price_*: by the lowest list price; newest: by creation. Ties go by product id, "
        "so pages neither repeat nor skip a product.",
    )


class CategoryOut(Out):
    id: int
    name: str


class CategoryList(Out):
    items: list[CategoryOut]


class SkuOut(Out):
    id: int
    name: str
    price_fen: int = Field(description="list price")
    promo_price_fen: int | None = Field(None, description="limited-time price, if any now")
    promo_ends_at: datetime | None = None
    stock: int

    @field_serializer("promo_ends_at")
    def _ends(self, value: datetime | None) -> str | None:
        return shanghai_iso(value)


class ProductSummaryOut(Out):
    id: int
    category_id: int | None
    title: str
    subtitle: str
    image_url: str
    min_price_fen: int
    max_price_fen: int
    promo_min_price_fen: int | None = Field(
        None, description="the lowest price now, when a limited-time discount lowers it"
    )
    promo_ends_at: datetime | None = Field(None, description="when that price ends")
    in_stock: bool
    sales_count: int = Field(description="units sold, net of refunded lines")

    @field_serializer("promo_ends_at")
    def _promo_ends(self, value: datetime | None) -> str | None:
        return shanghai_iso(value)


class ProductOut(ProductSummaryOut):
    description: str
    images: list[str]
    skus: list[SkuOut]


class ProductPage(Paged):
    items: list[ProductSummaryOut]
    total_capped: bool = Field(
        description="true: `total` is a lower bound (counting stopped 1,000 matches past "
        "this page); show it as `1000+`"
    )
