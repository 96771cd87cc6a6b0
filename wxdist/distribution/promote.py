"""Products to promote: on-shelf products with what one distributor would earn per unit.

The earning of a SKU is what attribution would credit this distributor, as the buyer's
direct referrer, for an order of one unit without a coupon, bought now: the unit priced by
the shop's pipeline with the promotions in force (`shop.pricing.promoted_lines`, so a
limited-time discount lowers the base and a "no commission" promotion makes it 0), times
the rate `commissions.rate_for` resolves (the product's own, else the distributor's
level's, else the programme's), rounded by `core.money.apply_rate`. Nothing here is a
second formula.

Sales are the units of paid orders (order items of orders with `paid_at`), one grouped
query; products carry no sales count of their own yet.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import Select, exists, func, select

from wxdist.catalog.face import first_image_column
from wxdist.core.extensions import db
from wxdist.core.money import BP_WHOLE, apply_rate
from wxdist.distribution.commissions import Beneficiary, as_direct_referrer, rate_for
from wxdist.distribution.settings import Settings, get_settings
from wxdist.models import Order, OrderItem, Product, Sku
from wxdist.models.types import utcnow
from wxdist.shop import offers
from wxdist.shop.pricing import Line, Offers, TimedDiscount, promoted_lines

_RANKING = "wxdist_promote_ranking"
SORTS = ("earning_desc", "earning_asc", "sales_desc", "sales_asc", "newest")
_CHUNK = 500  # SKUs priced per offers query (bounds the IN list)


@dataclass(frozen=True)
class Earning:
    """One product's figures for one distributor, over its active SKUs."""

    product_id: int
    rate_bp: int
    rate_source: str  # product | level | default | none
    price_min_fen: int  # list price
    price_max_fen: int
    promo_price_min_fen: int  # after the promotions in force
    promo_price_max_fen: int
    earning_min_fen: int
    earning_max_fen: int


@dataclass(frozen=True)
class PromoteItem:
    earning: Earning
    title: str
    subtitle: str
    category_id: int | None
    image_url: str
    sales: int


@dataclass(frozen=True)
class PromotePage:
    items: list[PromoteItem]
    total: int


def _on_sale() -> Any:
    """On shelf, with at least one SKU on sale."""
    return Product.on_shelf.is_(True) & exists().where(
        Sku.product_id == Product.id, Sku.is_active.is_(True)
    )


def _sales_subquery() -> Any:
    return (
        select(OrderItem.product_id, func.sum(OrderItem.quantity).label("units"))
        .join(Order, Order.id == OrderItem.order_id)
        .where(Order.paid_at.is_not(None))
        .group_by(OrderItem.product_id)
        .subquery("paid_units")
    )


def _sku_rows(product_ids: Iterable[int] | None) -> list[Any]:
    """Active SKUs of on-shelf products (of `product_ids`, or all), with what pricing and
    the rate need."""
    query: Select[Any] = (
        select(
            Sku.id,
            Sku.product_id,
            Sku.price_fen,
            Product.category_id,
            Product.commission_l1_bp,
            Product.commission_l2_bp,
        )
        .join(Product, Product.id == Sku.product_id)
        .where(Product.on_shelf.is_(True), Sku.is_active.is_(True))
    )
    if product_ids is not None:
        query = query.where(Sku.product_id.in_(list(product_ids)))
    return list(db.session.execute(query.order_by(Sku.id)))


def _offers(lines: Sequence[Line], now: datetime) -> Offers:
    source = offers.source()
    discounts: list[Any] = []
    reductions: tuple[Any, ...] = ()
    for start in range(0, len(lines), _CHUNK):
        found = source.offers_for(lines[start : start + _CHUNK], now)
        discounts.extend(found.discounts)
        reductions = found.reductions
    return Offers(tuple(discounts), reductions)


def earnings(
    rows: Sequence[Any], beneficiary: Beneficiary | None, settings: Settings, now: datetime
) -> dict[int, Earning]:
    """Per product of `rows` (from `_sku_rows`): list and promoted unit prices and the
    earning per unit, min and max over its SKUs."""
    lines = [Line(r.id, r.product_id, r.category_id, r.price_fen, 1) for r in rows]
    offered = _offers(lines, now) if lines else Offers()
    by_sku: dict[int, list[TimedDiscount]] = {}
    for discount in offered.discounts:
        by_sku.setdefault(discount.sku_id, []).append(discount)
    per_product: dict[int, list[tuple[int, int, int]]] = {}
    rates: dict[int, tuple[int, str]] = {}
    for row, line in zip(rows, lines, strict=True):
        if row.product_id not in rates:
            own = (row.commission_l1_bp, row.commission_l2_bp)
            rates[row.product_id] = (
                rate_for(own, beneficiary, settings) if beneficiary else (0, "none")
            )
        rate = min(rates[row.product_id][0], BP_WHOLE)  # as attribution caps depth 1
        # One unit alone: only its SKU's discounts can touch it (the same result, without
        # scanning every discount for every SKU).
        own_offers = Offers(tuple(by_sku.get(line.sku_id, ())), offered.reductions)
        priced = promoted_lines([line], own_offers, now)[0]
        earned = apply_rate(priced.commission_base_fen, rate)
        per_product.setdefault(row.product_id, []).append((line.unit_fen, priced.paid_fen, earned))
    found = {}
    for product_id, figures in per_product.items():
        lists, paid, earned = zip(*figures, strict=True)
        rate, source = rates[product_id]
        found[product_id] = Earning(
            product_id, rate, source, min(lists), max(lists), min(paid), max(paid),
            min(earned), max(earned),
        )  # fmt: skip
    return found


def products_to_promote(
    user_id: int, sort: str, page: int, per_page: int, now: datetime | None = None
) -> PromotePage:
    """One page of on-shelf products with `user_id`'s earning per unit (0 when they would
    earn nothing: the programme off, or they are not an approved distributor). `sort` is
    one of SORTS (an unknown one reads as "earning_desc"); ties go to the newest product."""
    now = now or utcnow()
    settings = get_settings()
    beneficiary = as_direct_referrer(user_id, settings)
    total = db.session.scalar(select(func.count()).select_from(Product).where(_on_sale())) or 0
    offset = (page - 1) * per_page
    if sort in ("sales_desc", "sales_asc", "newest"):
        ids = _page_by_sql(sort, offset, per_page)
    else:
        ids = _ranked(sort, beneficiary, settings, now)[offset : offset + per_page]
    found = earnings(_sku_rows(ids), beneficiary, settings, now)
    facts = _facts(ids)
    items = [PromoteItem(found[pid], *facts[pid]) for pid in ids if pid in found and pid in facts]
    return PromotePage(items, total)


def _ranked(
    sort: str, beneficiary: Beneficiary | None, settings: Settings, now: datetime
) -> list[int]:
    """Every on-shelf product's id in the order of `sort` (by earning): each SKU priced,
    which costs about a second per 20,000 SKUs, so a process keeps the order it computed
    for PROMOTE_RANKING_SECONDS per rate (distributors of one level share it). The figures
    on the page are always computed afresh; only the order may be that old."""
    ttl = float(current_app.config.get("PROMOTE_RANKING_SECONDS", 0))
    key = (
        sort,
        settings.enabled,
        settings.level1_rate_bp,
        beneficiary.level_rates if beneficiary else None,
        beneficiary is None,
    )
    kept: dict[Any, tuple[float, list[int]]] = current_app.extensions.setdefault(_RANKING, {})
    hit = kept.get(key)
    if ttl > 0 and hit is not None and time.monotonic() - hit[0] < ttl:
        return hit[1]
    found = earnings(_sku_rows(None), beneficiary, settings, now)
    if sort == "earning_asc":
        ranked = sorted(found.values(), key=lambda e: (e.earning_min_fen, -e.product_id))
    else:
        ranked = sorted(found.values(), key=lambda e: (-e.earning_max_fen, -e.product_id))
    ids = [e.product_id for e in ranked]
    if ttl > 0:
        kept[key] = (time.monotonic(), ids)
    return ids


def forget_rankings() -> None:
    """Make this process rank the products afresh on next use."""
    current_app.extensions.pop(_RANKING, None)


def _page_by_sql(sort: str, offset: int, limit: int) -> list[int]:
    query = select(Product.id).where(_on_sale())
    if sort == "newest":
        query = query.order_by(Product.sort.desc(), Product.id.desc())
    else:
        sold = _sales_subquery()
        units = func.coalesce(sold.c.units, 0)
        query = query.outerjoin(sold, sold.c.product_id == Product.id).order_by(
            units.desc() if sort == "sales_desc" else units.asc(), Product.id.desc()
        )
    return list(db.session.scalars(query.limit(limit).offset(offset)))


def _facts(ids: list[int]) -> dict[int, tuple[str, str, int | None, str, int]]:
    """Title, subtitle, category, first picture and paid units of each product."""
    if not ids:
        return {}
    sold = (
        select(func.coalesce(func.sum(OrderItem.quantity), 0))
        .join(Order, Order.id == OrderItem.order_id)
        .where(OrderItem.product_id == Product.id, Order.paid_at.is_not(None))
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(
            Product.id,
            Product.title,
            Product.subtitle,
            Product.category_id,
            first_image_column(),
            sold,
        ).where(Product.id.in_(ids))
    )
    return {row[0]: (row[1], row[2], row[3], row[4] or "", int(row[5] or 0)) for row in rows}
