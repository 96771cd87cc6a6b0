"""Coupon templates: created and ended by staff, listed to shoppers while claimable."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, update

from wxdist.core.errors import BadRequest, Conflict, NotFound
from wxdist.core.extensions import db
from wxdist.core.money import BP_WHOLE
from wxdist.marketing.offer_source import scope_of
from wxdist.models import (
    CouponAudience,
    CouponTemplate,
    OfferStatus,
    Product,
    RefundPolicy,
)
from wxdist.models.types import utcnow
from wxdist.shop.pricing import Line

MAX_TOTAL = 10_000_000


@dataclass
class TemplateSpec:
    """What staff fill in for a coupon template (amounts in fen, rates in basis points of
    what is paid: 8500 = 8.5折)."""

    name: str
    claim_starts_at: datetime
    claim_ends_at: datetime
    total: int
    off_fen: int | None = None
    pay_rate_bp: int | None = None
    cap_fen: int | None = None
    threshold_fen: int = 0
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    valid_days: int | None = None
    per_user_limit: int = 1
    per_day_limit: int | None = None
    audience: str = CouponAudience.ANYONE
    stackable: bool = True
    shareable: bool = False
    refund_policy: str = RefundPolicy.RETURN
    scope: dict[str, list[int]] = field(default_factory=dict)


def _problems(spec: TemplateSpec) -> dict[str, str]:  # noqa: C901 (one check per field)
    """Field → what is wrong, for every rule the spec breaks."""
    found: dict[str, str] = {}
    if not spec.name.strip() or len(spec.name) > 64:
        found["name"] = _("Give the coupon a name of at most 64 characters.")
    if (spec.off_fen is None) == (spec.pay_rate_bp is None):
        found["off_fen"] = _("Set either an amount off or a discount rate, not both.")
    elif spec.off_fen is not None and spec.off_fen < 1:
        found["off_fen"] = _("The amount off must be at least ¥0.01.")
    elif spec.pay_rate_bp is not None and not 1 <= spec.pay_rate_bp < BP_WHOLE:
        found["pay_rate_bp"] = _("The rate must be above nothing and below the full price.")
    if spec.cap_fen is not None and (spec.pay_rate_bp is None or spec.cap_fen < 1):
        found["cap_fen"] = _("A cap goes with a discount rate and is at least ¥0.01.")
    if spec.threshold_fen < 0:
        found["threshold_fen"] = _("The minimum spend cannot be negative.")
    if spec.claim_ends_at <= spec.claim_starts_at:
        found["claim_ends_at"] = _("The claim period must end after it starts.")
    fixed = spec.valid_from is not None or spec.valid_until is not None
    if fixed == (spec.valid_days is not None):
        found["valid_days"] = _("Set either fixed dates or a number of days after claiming.")
    elif spec.valid_days is not None and not 1 <= spec.valid_days <= 3650:
        found["valid_days"] = _("Days after claiming must be between 1 and 3650.")
    elif fixed and (
        spec.valid_from is None or spec.valid_until is None or spec.valid_until <= spec.valid_from
    ):
        found["valid_until"] = _("The coupon must be valid until after it becomes valid.")
    if not 1 <= spec.total <= MAX_TOTAL:
        found["total"] = _("Issue between 1 and %(most)s coupons.", most=MAX_TOTAL)
    if not 1 <= spec.per_user_limit <= 100:
        found["per_user_limit"] = _("Each shopper may hold between 1 and 100.")
    if spec.per_day_limit is not None and not 1 <= spec.per_day_limit <= spec.per_user_limit:
        found["per_day_limit"] = _("The daily limit is between 1 and the limit per shopper.")
    if spec.audience not in CouponAudience.ALL:
        found["audience"] = _("Choose who may claim the coupon.")
    if spec.refund_policy not in RefundPolicy.ALL:
        found["refund_policy"] = _("Choose what a full refund does to the coupon.")
    return found


def create_template(spec: TemplateSpec) -> CouponTemplate:
    """Validate and save a template (not committed: the caller audits and commits).
    Raises BadRequest naming every field that is wrong."""
    problems = _problems(spec)
    if problems:
        raise BadRequest(_("Please correct the fields marked."), code="invalid", fields=problems)
    template = CouponTemplate(
        **{name: getattr(spec, name) for name in spec.__dataclass_fields__},
        status=OfferStatus.ACTIVE,
        remaining=spec.total,
        issued_count=0,
        used_count=0,
        returned_count=0,
        cost_fen=0,
    )
    db.session.add(template)
    db.session.flush()
    return template


def set_status(template_id: int, status: str) -> CouponTemplate:
    """Pause, resume or end a template (not committed). An ended template stays ended;
    coupons already issued stay usable. Raises NotFound, Conflict `invalid_status`."""
    template = db.session.get(CouponTemplate, template_id)
    if template is None:
        raise NotFound(_("No such coupon."), fields={"template_id": _("No such coupon.")})
    if status not in OfferStatus.ALL or template.status == OfferStatus.ENDED:
        raise Conflict(_("This coupon has ended."), code="invalid_status")
    db.session.execute(
        update(CouponTemplate)
        .where(CouponTemplate.id == template_id, CouponTemplate.status != OfferStatus.ENDED)
        .values(status=status)
    )
    db.session.refresh(template)
    return template


def claimable(product_id: int | None, now: datetime | None = None) -> list[CouponTemplate]:
    """Templates a shopper may claim now (not staff-only, not share-only), with coupons
    left; those that apply to `product_id` when given."""
    now = now or utcnow()
    templates = db.session.scalars(
        select(CouponTemplate)
        .where(
            CouponTemplate.status == OfferStatus.ACTIVE,
            CouponTemplate.claim_starts_at <= now,
            CouponTemplate.claim_ends_at > now,
            CouponTemplate.remaining > 0,
            CouponTemplate.audience.in_((CouponAudience.ANYONE, CouponAudience.NEW_USERS)),
        )
        .order_by(CouponTemplate.claim_ends_at, CouponTemplate.id)
        .limit(100)
    ).all()
    if product_id is None:
        return list(templates)
    product = db.session.get(Product, product_id)
    if product is None:
        return []
    line = Line(0, product.id, product.category_id, 0, 1)
    return [t for t in templates if scope_of(t.scope).covers(line)]


def template_facts(template: CouponTemplate) -> dict[str, Any]:
    """What a shopper reads of a template."""
    return {
        "id": template.id,
        "name": template.name,
        "off_fen": template.off_fen,
        "pay_rate_bp": template.pay_rate_bp,
        "cap_fen": template.cap_fen,
        "threshold_fen": template.threshold_fen,
        "claim_ends_at": template.claim_ends_at,
        "valid_from": template.valid_from,
        "valid_until": template.valid_until,
        "valid_days": template.valid_days,
        "remaining": template.remaining,
        "stackable": template.stackable,
    }


def shareable_template(template_id: int) -> CouponTemplate:
    """A template distributors may put on their share codes: shareable and active. Raises
    NotFound, Conflict `not_shareable`."""
    template = db.session.get(CouponTemplate, template_id)
    if template is None:
        message = _("No such coupon.")
        raise NotFound(message, fields={"coupon_template_id": message})
    if not template.shareable or template.status != OfferStatus.ACTIVE:
        message = _("This coupon cannot be shared.")
        raise Conflict(message, code="not_shareable", fields={"coupon_template_id": message})
    return template
