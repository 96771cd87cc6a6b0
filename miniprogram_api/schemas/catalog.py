"""Schemas of the catalogue: categories, products and their SKUs, product pages."""

from __future__ import annotations

from miniprogram_api.schemas.base import Out, Paged, PageQuery, QueryId


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
    price_fen: int
    stock: int


class ProductSummaryOut(Out):
    id: int
    category_id: int | None
    title: str
    subtitle: str
    image_url: str
    min_price_fen: int
    max_price_fen: int
    in_stock: bool


class ProductOut(ProductSummaryOut):
    description: str
    images: list[str]
    skus: list[SkuOut]


class ProductPage(Paged):
    items: list[ProductSummaryOut]
