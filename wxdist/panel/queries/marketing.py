"""Marketing as the panel reads it: coupon templates and their coupons, limited-time
discounts with their product and SKU, full reductions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Row, func, select

from wxdist.core.extensions import db
from wxdist.models import (
    Category,
    Coupon,
    CouponTemplate,
    FullReductionRecord,
    Product,
    Sku,
    TimedDiscountRecord,
)
from wxdist.panel.queries.paging import Page, fetch_page

LIST_LIMIT = 100  # promotions shown per list, newest first


def template_page(page: int) -> Page:
    """Coupon templates, newest first."""
    return fetch_page(select(CouponTemplate).order_by(CouponTemplate.id.desc()), page)


def template(template_id: int) -> CouponTemplate | None:
    return db.session.get(CouponTemplate, template_id)


def coupon_counts(template_id: int) -> dict[str, int]:
    """How many coupons of the template stand in each status (as stored)."""
    rows = db.session.execute(
        select(Coupon.status, func.count())
        .where(Coupon.template_id == template_id)
        .group_by(Coupon.status)
    ).all()
    return {status: count for status, count in rows}


def timed_discounts() -> Sequence[Row[Any]]:
    """(TimedDiscountRecord, product title, SKU name, list price) rows, newest first."""
    return db.session.execute(
        select(TimedDiscountRecord, Product.title, Sku.name, Sku.price_fen)
        .join(Sku, Sku.id == TimedDiscountRecord.sku_id)
        .join(Product, Product.id == TimedDiscountRecord.product_id)
        .order_by(TimedDiscountRecord.id.desc())
        .limit(LIST_LIMIT)
    ).all()


def full_reductions() -> Sequence[FullReductionRecord]:
    return db.session.scalars(
        select(FullReductionRecord).order_by(FullReductionRecord.id.desc()).limit(LIST_LIMIT)
    ).all()


def timed_discount(record_id: int) -> TimedDiscountRecord | None:
    return db.session.get(TimedDiscountRecord, record_id)


def full_reduction(record_id: int) -> FullReductionRecord | None:
    return db.session.get(FullReductionRecord, record_id)


def missing_products(ids: Iterable[int]) -> list[int]:
    """The ids among `ids` that name no product."""
    wanted = set(ids)
    if not wanted:
        return []
    found = set(db.session.scalars(select(Product.id).where(Product.id.in_(wanted))))
    return sorted(wanted - found)


def missing_categories(ids: Iterable[int]) -> list[int]:
    """The ids among `ids` that name no category."""
    wanted = set(ids)
    if not wanted:
        return []
    found = set(db.session.scalars(select(Category.id).where(Category.id.in_(wanted))))
    return sorted(wanted - found)


def issued_count(template_id: int) -> int:
    """The template's issued count as the database holds it now (not the session's copy)."""
    return (
        db.session.scalar(
            select(CouponTemplate.issued_count).where(CouponTemplate.id == template_id)
        )
        or 0
    )
