"""Schemas of the catalogue: categories, products and their SKUs, product pages."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_serializer

from miniprogram_api.schemas.base import Out, Paged, PageQuery, QueryId, shanghai_iso


class ProductQuery(PageQuery):
    category_id: QueryId | None = None


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

    @field_serializer("promo_ends_at")
    def _promo_ends(self, value: datetime | None) -> str | None:
        return shanghai_iso(value)


class ProductOut(ProductSummaryOut):
    description: str
    images: list[str]
    skus: list[SkuOut]


class ProductPage(Paged):
    items: list[ProductSummaryOut]
