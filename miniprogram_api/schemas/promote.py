"""Schemas of what a distributor promotes: products with their earning per unit, and the
promotion materials (素材) staff publish."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from miniprogram_api.schemas.base import Out, Paged, PageQuery, QueryId


class PromoteQuery(PageQuery):
    sort: Literal["earning_desc", "earning_asc", "sales_desc", "sales_asc", "newest"] = Field(
        "earning_desc",
        description="by my earning per unit (the highest SKU's when descending, the lowest's "
        "when ascending), by units sold in paid orders, or the shop's own order",
    )


class ShareEndpointsOut(BaseModel):
    code_url: str = Field(description="GET (bearer): my mini-program code for the product, PNG")
    poster_url: str = Field(description="GET (bearer): my poster of the product, JPEG")
    link_url: str = Field(description="GET (bearer): my H5 share link of the product, JSON")
    link_qr_url: str = Field(description="GET (bearer): a QR code of that link, PNG")


class PromoteProductOut(Out):
    id: int
    title: str
    subtitle: str
    category_id: int | None
    image_url: str
    price_min_fen: int = Field(description="list price per unit, lowest SKU")
    price_max_fen: int
    promo_price_min_fen: int = Field(description="per unit after the promotions in force")
    promo_price_max_fen: int
    earning_min_fen: int = Field(
        description="what I would earn per unit bought through me now (0 under a "
        "no-commission promotion); equal to earning_max_fen when every SKU earns the same"
    )
    earning_max_fen: int
    rate_bp: int = Field(description="my commission rate on this product, basis points")
    sales: int = Field(description="units sold in paid orders")
    share: ShareEndpointsOut


class PromotePage(Paged):
    sort: str
    items: list[PromoteProductOut]


class MaterialQuery(PageQuery):
    product_id: QueryId | None = Field(None, description="only this product's materials")


class MaterialOut(Out):
    id: int
    title: str
    text: str = Field(description="the words to copy")
    picture_urls: list[str] = Field(description="the pictures to download, in order")
    product_id: int | None
    campaign: str
    used: int = Field(description="how many times distributors copied or downloaded it")


class MaterialPage(Paged):
    items: list[MaterialOut]


class MaterialUsedOut(BaseModel):
    id: int
    used: int


class RecommendationOut(Out):
    id: int = Field(description="the product")
    title: str
    image_url: str
    price_min_fen: int = Field(description="list price per unit, lowest SKU")
    price_max_fen: int
    promo_price_min_fen: int = Field(description="per unit after the promotions in force")
    promo_price_max_fen: int
    earning_min_fen: int = Field(
        description="what I would earn per unit bought through me now, as "
        "/distributor/products shows it"
    )
    earning_max_fen: int
    rate_bp: int = Field(description="my commission rate on this product, basis points")
    sales: int = Field(description="units sold in paid orders")
    rank: int = Field(description="1 is the best match")
    reason: Literal["audience", "category", "co_purchase", "popular"] = Field(
        description="why: my customers buy it, buy its kind, buy what it is often bought "
        "with, or it sells well"
    )
    reason_text: str = Field(description="the reason in my language")
    reason_product_id: int | None = Field(description="the product it is often bought with")
    share: ShareEndpointsOut


class RecommendationPage(Paged):
    refreshed_at: datetime | None = Field(description="when the list was computed (UTC)")
    items: list[RecommendationOut]
