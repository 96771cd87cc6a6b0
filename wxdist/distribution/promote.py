"""Products to promote: on-shelf products with what one distributor would earn per unit.

The earning of a SKU is what attribution would credit this distributor, as the buyer's
direct referrer, for an order of one unit without a coupon, bought now: the unit priced by
the shop's pipeline with the promotions in force (`shop.pricing.promoted_lines`, so a
limited-time discount lowers the base and a "no commission" promotion makes it 0), times
the rate `commissions.rate_for` resolves (the product's own, else the distributor's
level's, else the programme's), rounded by `core.money.apply_rate`. Nothing here is a
second formula.

Sales are `products.sales_count` (units paid, net of wholly refunded lines, kept by
`catalog.sales`): sorting by sales reads the (shelf, sales_count, id) index.

**Ranking by earning** without pricing every SKU: a product no promotion in force can
touch earns, per SKU, its list price times its rate (the product's own, else this
distributor's), which SQL computes with the same rounding as `apply_rate`: the earning at
`min_price_fen` for earning_asc (the product's min earning) and at `max_price_fen` for
earning_desc (its max earning). At one rate the earning follows the list price, so the
products at the distributor's rate come in the order of the (shelf, price, id) index, a
read of the page's depth; those with a rate of their own (few) in one read ordered by the
computed earning. The products a promotion in force may
touch, those with a SKU under a limited-time discount and those in the scope of a full
reduction one unit can reach, are priced exactly (`earnings`) and merged into that order,
so the order is exactly the order of the figures shown. Promotions are few; a store-wide
full reduction reachable by one unit makes every product it reaches an exact one, and the
request costs again what pricing those SKUs costs (about a second per 20,000). There is
no ranking cache: the order follows a change at once (bench/promote.py for the figures).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, literal, select, true

from wxdist.catalog.face import first_image_column
from wxdist.core.extensions import db
from wxdist.core.money import BP_WHOLE, apply_rate
from wxdist.distribution.commissions import Beneficiary, as_direct_referrer, rate_for
from wxdist.distribution.settings import Settings, get_settings
from wxdist.models import Product, Sku
from wxdist.models.types import utcnow
from wxdist.shop import offers
from wxdist.shop.pricing import FullReduction, Line, Offers, TimedDiscount, promoted_lines

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
    """On shelf, with at least one SKU on sale: a positive `min_price_fen` (the catalogue
    keeps it, 0 without an active SKU, and refuses a price of 0). `= true`, not `IS TRUE`,
    and no EXISTS over the SKUs: MariaDB reads an index for these, and materialises every
    SKU for the EXISTS."""
    return (Product.on_shelf == true()) & (Product.min_price_fen > 0)


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
    one of SORTS (an unknown one reads as "earning_desc"). Ties: by sales or newest, the
    newest product first; by earning, see `_page_by_earning`."""
    now = now or utcnow()
    settings = get_settings()
    beneficiary = as_direct_referrer(user_id, settings)
    total = db.session.scalar(select(func.count()).select_from(Product).where(_on_sale())) or 0
    offset = (page - 1) * per_page
    if sort in ("sales_desc", "sales_asc", "newest"):
        ids = _page_by_sql(sort, offset, per_page)
    else:
        ids = _page_by_earning(sort, beneficiary, settings, now, offset, per_page)
    found = earnings(_sku_rows(ids), beneficiary, settings, now)
    facts = _facts(ids)
    items = [PromoteItem(found[pid], *facts[pid]) for pid in ids if pid in found and pid in facts]
    return PromotePage(items, total)


def _reachable(reduction: FullReduction) -> Any:
    """Products on sale a full reduction in force may lower for one unit alone: in its
    scope, with an active SKU whose list price reaches its lowest tier (a superset)."""
    scope = reduction.scope
    lowest = min((tier.threshold for tier in reduction.tiers), default=None)
    if lowest is None or (reduction.by_count and lowest > 1):
        return None
    where = [_on_sale()]
    if scope.product_ids or scope.category_ids:
        where.append(
            Product.id.in_(list(scope.product_ids))
            | Product.category_id.in_(list(scope.category_ids))
        )
    if scope.excluded_product_ids:
        where.append(Product.id.not_in(list(scope.excluded_product_ids)))
    if scope.excluded_category_ids:
        where.append(
            Product.category_id.is_(None)
            | Product.category_id.not_in(list(scope.excluded_category_ids))
        )
    if not reduction.by_count:
        where.append(Product.max_price_fen >= lowest)
    return select(Product.id).where(*where)


def _promoted_ids(now: datetime) -> set[int]:
    """Products whose unit price a promotion in force may change (see the module doc)."""
    source = offers.source()
    found: set[int] = set()
    skus = sorted(source.discounted_sku_ids(now))
    for start in range(0, len(skus), _CHUNK):
        chunk = skus[start : start + _CHUNK]
        found.update(
            db.session.scalars(
                select(Sku.product_id).where(Sku.id.in_(chunk), Sku.is_active.is_(True))
            )
        )
    for reduction in source.offers_for([], now).reductions:
        if reduction.window.open_at(now):
            query = _reachable(reduction)
            if query is not None:
                found.update(db.session.scalars(query))
    return found


def _stream(desc: bool, own: bool, rate: Any, limit: int) -> list[tuple[int, int, int]]:
    """(earning, price, id) of the first `limit` products on sale in the order of the
    keys (see `_page_by_earning`): those with a rate of their own (`own`, few: ordered by
    the computed earning) or those at the distributor's rate (ordered by the price index,
    which is the order of the earning when the rate is one)."""
    price = Product.max_price_fen if desc else Product.min_price_fen
    capped = case((rate > BP_WHOLE, BP_WHOLE), else_=rate)
    # apply_rate rounds half down: + 4999 before the floor division.
    earned = (price * capped + (BP_WHOLE // 2 - 1)) // BP_WHOLE
    keys = (earned, price, Product.id) if own else (price, Product.id)
    query = select(earned.label("earned"), price.label("price"), Product.id).where(
        _on_sale(),
        Product.commission_l1_bp.is_not(None) if own else Product.commission_l1_bp.is_(None),
    )
    query = query.order_by(*(key.desc() if desc else key.asc() for key in keys))
    return [(row.earned, row.price, row.id) for row in db.session.execute(query.limit(limit))]


def _page_by_earning(
    sort: str,
    beneficiary: Beneficiary | None,
    settings: Settings,
    now: datetime,
    offset: int,
    limit: int,
) -> list[int]:
    """The ids of one page by earning (see the module doc). The order's keys: earning_desc
    (max earning, highest list price, id) all descending; earning_asc (min earning, lowest
    list price, id) all ascending. Two indexed reads give the products no promotion in
    force touches in that order (at the distributor's rate; at their own); those a
    promotion may touch are priced exactly; the three are merged."""
    exact = earnings(_sku_rows(_promoted_ids(now)), beneficiary, settings, now)
    desc = sort != "earning_asc"
    base = rate_for((None, None), beneficiary, settings)[0] if beneficiary else 0
    rate: Any = Product.commission_l1_bp if beneficiary else literal(0)
    wanted = offset + limit + len(exact)
    keyed = [
        key
        for own, own_rate in ((False, literal(base)), (True, rate))
        for key in _stream(desc, own, own_rate, wanted)
        if key[2] not in exact
    ]
    for found in exact.values():
        if desc:
            keyed.append((found.earning_max_fen, found.price_max_fen, found.product_id))
        else:
            keyed.append((found.earning_min_fen, found.price_min_fen, found.product_id))
    keyed.sort(reverse=desc)
    return [product_id for _, _, product_id in keyed[offset : offset + limit]]


def _page_by_sql(sort: str, offset: int, limit: int) -> list[int]:
    query = select(Product.id).where(_on_sale())
    if sort == "newest":
        query = query.order_by(Product.sort.desc(), Product.id.desc())
    elif sort == "sales_desc":
        query = query.order_by(Product.sales_count.desc(), Product.id.desc())
    else:
        query = query.order_by(Product.sales_count.asc(), Product.id.desc())
    return list(db.session.scalars(query.limit(limit).offset(offset)))


def _facts(ids: list[int]) -> dict[int, tuple[str, str, int | None, str, int]]:
    """Title, subtitle, category, first picture and units sold of each product."""
    if not ids:
        return {}
    rows = db.session.execute(
        select(
            Product.id,
            Product.title,
            Product.subtitle,
            Product.category_id,
            first_image_column(),
            Product.sales_count,
        ).where(Product.id.in_(ids))
    )
    return {row[0]: (row[1], row[2], row[3], row[4] or "", int(row[5] or 0)) for row in rows}
