"""Model → response schema conversions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from miniprogram_api import schemas
from wxdist.accounts import regions
from wxdist.catalog.search import Card
from wxdist.marketing.promotions import PromoPrice
from wxdist.models import Address, Order, Product
from wxdist.shop import cart as shop_cart
from wxdist.shop import quotes
from wxdist.shop.pricing import COUPON, DISCOUNT, REDUCTION


def product_summary(product: Product | Card, promos: Mapping[int, PromoPrice]) -> dict[str, Any]:
    """A product card: list prices, and the lowest limited-time price now with its end."""
    active = [sku for sku in product.skus if sku.is_active]
    prices = [sku.price_fen for sku in active] or [0]
    now_prices = [promos[s.id].price_fen if s.id in promos else s.price_fen for s in active]
    promoted = [promos[s.id] for s in active if s.id in promos]
    lowest_now = min(now_prices, default=0)
    return {
        "id": product.id,
        "category_id": product.category_id,
        "title": product.title,
        "subtitle": product.subtitle,
        "image_url": product.images[0].url if product.images else "",
        "min_price_fen": min(prices),
        "max_price_fen": max(prices),
        "promo_min_price_fen": lowest_now if promoted and lowest_now < min(prices) else None,
        "promo_ends_at": min((p.ends_at for p in promoted), default=None),
        "in_stock": any(sku.stock > 0 for sku in active),
        "sales_count": product.sales_count,
    }


def product_detail(product: Product, promos: Mapping[int, PromoPrice]) -> dict[str, Any]:
    data = product_summary(product, promos)
    data.update(
        description=product.description,
        images=[image.url for image in product.images],
        skus=[
            {
                "id": sku.id,
                "name": sku.name,
                "price_fen": sku.price_fen,
                "promo_price_fen": promos[sku.id].price_fen if sku.id in promos else None,
                "promo_ends_at": promos[sku.id].ends_at if sku.id in promos else None,
                "stock": sku.stock,
            }
            for sku in product.skus
            if sku.is_active
        ],
    )
    return schemas.ProductOut.model_validate(data).model_dump(mode="json")


def order(order: Order) -> dict[str, Any]:
    out = schemas.OrderOut.model_validate(
        {
            **{
                name: getattr(order, name)
                for name in schemas.OrderOut.model_fields
                if hasattr(order, name)
            },
            "address": {
                "name": order.receiver_name,
                "phone": order.receiver_phone,
                "region": order.receiver_region,
                "region_code": order.receiver_region_code,
                "detail": order.receiver_detail,
            },
        }
    )
    return out.model_dump(mode="json")


def book_address(address: Address) -> dict[str, Any]:
    """An address of the shopper's book as BookAddressOut (names read from its code)."""
    region = regions.region(address.region_code)
    out = schemas.BookAddressOut(
        id=address.id,
        name=address.name,
        phone=address.phone,
        region_code=address.region_code,
        region=region.text if region else "",
        province_code=address.region_code[:2] + "0000",
        city_code=region.city.code if region and region.city else None,
        district_code=region.district.code if region and region.district else None,
        detail=address.detail,
        is_default=address.is_default,
    )
    return out.model_dump(mode="json")


def placed_order(row: Mapping[str, Any]) -> dict[str, Any]:
    """An order as `orders.create_order` wrote it (its columns and `items`), as OrderOut."""
    out = schemas.OrderOut.model_validate(
        {
            **row,
            "address": {
                "name": row["receiver_name"],
                "phone": row["receiver_phone"],
                "region": row["receiver_region"],
                "region_code": row["receiver_region_code"],
                "detail": row["receiver_detail"],
            },
        }
    )
    return out.model_dump(mode="json")


def coupon_checks(found: quotes.Preview) -> list[dict[str, Any]]:
    """Every coupon the shopper holds, checked against the previewed order (CouponCheckOut)."""
    return [
        {
            "coupon_id": check.coupon.id,
            "template_id": check.coupon.template_id,
            "name": check.coupon.name,
            "usable": check.usable,
            "reason": check.reason or None,
            "reason_text": found.reason_text(check),
            "discount_fen": check.discount_fen,
            "valid_until": check.coupon.window.ends_at,
        }
        for check in found.coupons
    ]


def preview(found: quotes.Preview) -> dict[str, Any]:
    """An order's price preview as PreviewOut."""
    priced = found.priced
    out = schemas.PreviewOut.model_validate(
        {
            "goods_fen": priced.goods_fen,
            "discount_fen": priced.off(DISCOUNT),
            "reduction_fen": priced.off(REDUCTION),
            "coupon_fen": priced.off(COUPON),
            "shipping_fen": priced.shipping_fen,
            "payable_fen": priced.payable_fen,
            "coupon_id": priced.coupon_id,
            "promotions": priced.promotion_ids,
            "items": [
                {
                    "sku_id": line.line.sku_id,
                    "product_id": line.line.product_id,
                    "quantity": line.line.quantity,
                    "price_fen": line.line.unit_fen,
                    "amount_fen": line.list_fen,
                    "discount_fen": line.off(DISCOUNT),
                    "reduction_fen": line.off(REDUCTION),
                    "coupon_fen": line.off(COUPON),
                    "paid_fen": line.paid_fen,
                }
                for line in priced.lines
            ],
            "coupons": coupon_checks(found),
            "suggested_coupon_id": found.suggested.coupon.id if found.suggested else None,
        }
    )
    return out.model_dump(mode="json")


def cart(found: shop_cart.CartView) -> dict[str, Any]:
    """The cart as CartOut: every line with today's price and flags, totals of the selected."""
    lines = []
    for item in found.items:
        promo = found.promotions.get(item.id)
        lines.append(
            {
                "id": item.id,
                "sku_id": item.sku_id,
                "product_id": item.product_id,
                "title": item.title,
                "sku_name": item.sku_name,
                "image_url": item.image_url,
                "quantity": item.quantity,
                "selected": item.selected,
                "price_fen": item.price_fen,
                "promo_price_fen": promo.unit_fen if promo else None,
                "discount_id": promo.discount.id if promo else None,
                "promo_ends_at": promo.discount.window.ends_at if promo else None,
                "reduction_ids": found.reductions.get(item.id, []),
                "stock": item.stock,
                "on_sale": item.on_sale,
                "in_stock": item.in_stock,
                "short": item.short,
            }
        )
    totals = found.totals
    priced = totals.priced if totals else None
    suggested = totals.suggested if totals else None
    out = schemas.CartOut.model_validate(
        {
            "lines": lines,
            "totals": {
                "lines": len(priced.lines) if priced else 0,
                "quantity": sum(line.line.quantity for line in priced.lines) if priced else 0,
                "goods_fen": priced.goods_fen if priced else 0,
                "discount_fen": priced.off(DISCOUNT) if priced else 0,
                "reduction_fen": priced.off(REDUCTION) if priced else 0,
                "payable_fen": priced.payable_fen if priced else 0,
                "promotions": priced.promotion_ids if priced else {DISCOUNT: [], REDUCTION: []},
                "suggested_coupon_id": suggested.coupon.id if suggested else None,
                "suggested_coupon_fen": suggested.discount_fen if suggested else 0,
            },
        }
    )
    return out.model_dump(mode="json")
