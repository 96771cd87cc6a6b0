"""Limited-time discounts (per SKU) and full reductions: created and ended by staff, and
the promotional prices shoppers see on product lists and pages."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, update

from wxdist.core.errors import BadRequest, Conflict, NotFound
from wxdist.core.extensions import db
from wxdist.core.money import BP_WHOLE
from wxdist.marketing.offer_source import active_discounts, forget_offers
from wxdist.models import FullReductionRecord, OfferStatus, Sku, TimedDiscountRecord
from wxdist.models.types import utcnow

MAX_TIERS = 5


def _invalid(fields: dict[str, str]) -> BadRequest:
    return BadRequest(_("Please correct the fields marked."), code="invalid", fields=fields)


def _window_problems(starts_at: datetime, ends_at: datetime) -> dict[str, str]:
    if ends_at <= starts_at:
        return {"ends_at": _("The promotion must end after it starts.")}
    return {}


def create_timed_discount(
    name: str,
    sku_id: int,
    starts_at: datetime,
    ends_at: datetime,
    *,
    price_fen: int | None = None,
    pay_rate_bp: int | None = None,
    no_commission: bool = False,
) -> TimedDiscountRecord:
    """A limited-time price for one SKU (not committed). The SKU's row is locked while the
    windows are compared, so two staff members cannot give one SKU two overlapping
    discounts. Raises BadRequest naming the field, NotFound for the SKU, Conflict
    `overlapping` when another active discount of the SKU overlaps the window."""
    problems = _window_problems(starts_at, ends_at)
    if not name.strip() or len(name) > 64:
        problems["name"] = _("Give the promotion a name of at most 64 characters.")
    if (price_fen is None) == (pay_rate_bp is None):
        problems["price_fen"] = _("Set either a promotional price or a discount rate, not both.")
    elif pay_rate_bp is not None and not 1 <= pay_rate_bp < BP_WHOLE:
        problems["pay_rate_bp"] = _("The rate must be above nothing and below the full price.")
    sku = db.session.scalar(select(Sku).where(Sku.id == sku_id).with_for_update())
    if sku is None:
        db.session.rollback()
        raise NotFound(_("No such SKU."), fields={"sku_id": _("No such SKU.")})
    if price_fen is not None and not 1 <= price_fen < sku.price_fen:
        problems["price_fen"] = _("The promotional price must be below the list price.")
    if problems:
        db.session.rollback()
        raise _invalid(problems)
    clash = db.session.scalar(
        select(TimedDiscountRecord.id).where(
            TimedDiscountRecord.sku_id == sku_id,
            TimedDiscountRecord.status == OfferStatus.ACTIVE,
            TimedDiscountRecord.starts_at < ends_at,
            TimedDiscountRecord.ends_at > starts_at,
        )
    )
    if clash is not None:
        db.session.rollback()
        message = _("This SKU already has a limited-time discount in that period.")
        raise Conflict(message, code="overlapping", fields={"sku_id": message})
    record = TimedDiscountRecord(
        name=name.strip(),
        sku_id=sku_id,
        product_id=sku.product_id,
        price_fen=price_fen,
        pay_rate_bp=pay_rate_bp,
        starts_at=starts_at,
        ends_at=ends_at,
        no_commission=no_commission,
        status=OfferStatus.ACTIVE,
    )
    db.session.add(record)
    db.session.flush()
    forget_offers()
    return record


@dataclass
class ReductionSpec:
    """满减 / 满折: tiers of {"threshold", "off_fen" | "pay_rate_bp", "free_shipping"}, by
    amount (fen) or by item count; a tier with `free_shipping` (包邮) also ships the order
    free, and may take nothing off."""

    name: str
    starts_at: datetime
    ends_at: datetime
    tiers: list[dict[str, int]]
    by_count: bool = False
    no_commission: bool = False
    scope: dict[str, list[int]] = field(default_factory=dict)


def _tier_problems(tiers: list[dict[str, Any]], by_count: bool) -> str | None:
    if not 1 <= len(tiers) <= MAX_TIERS:
        return _("Give between 1 and %(most)s tiers.", most=MAX_TIERS)
    thresholds = [tier.get("threshold") for tier in tiers]
    if len(set(thresholds)) != len(thresholds):
        return _("Each tier needs its own threshold.")
    for tier in tiers:
        threshold, off, rate = tier.get("threshold"), tier.get("off_fen"), tier.get("pay_rate_bp")
        free_shipping = tier.get("free_shipping", False)
        if not isinstance(threshold, int) or threshold < 1:
            return _("Each threshold must be at least 1.")
        if not isinstance(free_shipping, bool):
            return _("Free shipping is on or off.")
        both = off is not None and rate is not None
        if both or (off is None and rate is None and not free_shipping):
            return _("Each tier takes either an amount or a rate off, not both.")
        if off is not None and (not isinstance(off, int) or off < 1):
            return _("An amount off must be at least ¥0.01.")
        if off is not None and not by_count and off >= threshold:
            return _("An amount off must be less than its threshold.")
        if rate is not None and (not isinstance(rate, int) or not 1 <= rate < BP_WHOLE):
            return _("The rate must be above nothing and below the full price.")
    return None


def create_full_reduction(spec: ReductionSpec) -> FullReductionRecord:
    """Validate and save a full reduction (not committed). Raises BadRequest naming the
    field."""
    problems = _window_problems(spec.starts_at, spec.ends_at)
    if not spec.name.strip() or len(spec.name) > 64:
        problems["name"] = _("Give the promotion a name of at most 64 characters.")
    tier_problem = _tier_problems(spec.tiers, spec.by_count)
    if tier_problem:
        problems["tiers"] = tier_problem
    if problems:
        raise _invalid(problems)
    record = FullReductionRecord(
        name=spec.name.strip(),
        by_count=spec.by_count,
        tiers=sorted(spec.tiers, key=lambda tier: tier["threshold"]),
        scope=spec.scope,
        starts_at=spec.starts_at,
        ends_at=spec.ends_at,
        no_commission=spec.no_commission,
        status=OfferStatus.ACTIVE,
    )
    db.session.add(record)
    db.session.flush()
    forget_offers()
    return record


def end(model: type[TimedDiscountRecord] | type[FullReductionRecord], record_id: int) -> None:
    """End a promotion now (not committed). Raises NotFound."""
    moved = db.session.execute(
        update(model).where(model.id == record_id).values(status=OfferStatus.ENDED)
    )
    if moved.rowcount != 1:
        raise NotFound(_("No such promotion."), fields={"id": _("No such promotion.")})
    forget_offers()


@dataclass(frozen=True)
class PromoPrice:
    price_fen: int  # per unit, now
    ends_at: datetime
    discount_id: int


def promo_prices(skus: Iterable[Sku], now: datetime | None = None) -> dict[int, PromoPrice]:
    """The limited-time price of each SKU that has one now (one query for all of them)."""
    now = now or utcnow()
    by_id = {sku.id: sku for sku in skus}
    found: dict[int, PromoPrice] = {}
    for discount in sorted(active_discounts(list(by_id), now), key=lambda d: d.id):
        if discount.sku_id in found:
            continue
        unit = discount.unit_price(by_id[discount.sku_id].price_fen)
        if unit < by_id[discount.sku_id].price_fen:
            found[discount.sku_id] = PromoPrice(unit, discount.window.ends_at, discount.id)
    return found
