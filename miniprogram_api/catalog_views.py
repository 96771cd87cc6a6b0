"""Categories and products, as shoppers see them."""

from __future__ import annotations

from flask import Blueprint

from miniprogram_api import schemas, serialize
from miniprogram_api.openapi import api_doc
from miniprogram_api.request import query
from wxdist.catalog import browse as catalog
from wxdist.catalog.search import ProductSearch, Sort, search_products
from wxdist.marketing.promotions import promo_prices

bp = Blueprint("api_catalog", __name__)


@bp.get("/categories")
@api_doc(response=schemas.CategoryList, tag="catalogue")
def categories():  # type: ignore[no-untyped-def]
    """Active categories in display order."""
    return {
        "items": [
            schemas.CategoryOut.model_validate(c).model_dump() for c in catalog.list_categories()
        ]
    }


@bp.get("/products")
@api_doc(query=schemas.ProductQuery, response=schemas.ProductPage, tag="catalogue")
def products():  # type: ignore[no-untyped-def]
    """On-shelf products, paginated: searched by title words, filtered by category and
    price range, sorted by the merchant's order, sales, price or newest."""
    params = query(schemas.ProductQuery)
    search = ProductSearch(
        q=params.q,
        category_id=params.category_id,
        min_price_fen=params.min_price_fen,
        max_price_fen=params.max_price_fen,
        sort=Sort(params.sort),
    )
    found = search_products(search, params.page, params.per_page)
    items = found.items
    promos = promo_prices(sku for product in items for sku in product.skus)
    return {
        "page": params.page,
        "per_page": params.per_page,
        "total": found.total,
        "total_capped": found.total_capped,
        "items": [
            schemas.ProductSummaryOut.model_validate(
                serialize.product_summary(p, promos)
            ).model_dump(mode="json")
            for p in items
        ],
    }


@bp.get("/products/<int:product_id>")
@api_doc(response=schemas.ProductOut, errors=(404,), tag="catalogue")
def product(product_id: int):  # type: ignore[no-untyped-def]
    """One on-shelf product with its images and SKUs."""
    found = catalog.get_on_shelf_product(product_id)
    return serialize.product_detail(found, promo_prices(found.skus))
