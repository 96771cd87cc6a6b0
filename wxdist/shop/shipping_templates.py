"""Keeping the shipping fee templates (运费模板) the panel edits: validated, saved (not
committed: the caller's audited block commits), described for the audit log. How a
template prices an order is `shop.shipping_fees`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from wxdist.accounts import regions
from wxdist.core.errors import BadRequest, NotFound
from wxdist.core.extensions import db
from wxdist.models import ShippingTemplate

MAX_RULES = 10
MAX_UNIT = 1_000_000  # items, or grams (a tonne)
MAX_FEE_FEN = 10_000_000  # ¥100,000
MAX_CODES = 400


@dataclass
class RateSpec:
    first_unit: int
    first_fen: int
    extra_unit: int
    extra_fen: int


@dataclass
class RuleSpec(RateSpec):
    codes: list[str] = field(default_factory=list)


@dataclass
class TemplateSpec:
    name: str
    by_weight: bool
    rate: RateSpec
    rules: list[RuleSpec] = field(default_factory=list)
    undelivered: list[str] = field(default_factory=list)
    free_above_fen: int | None = None
    free_count: int | None = None


def _rate_problems(rate: RateSpec, prefix: str) -> dict[str, str]:
    problems: dict[str, str] = {}
    for name in ("first_unit", "extra_unit"):
        if not 1 <= getattr(rate, name) <= MAX_UNIT:
            problems[prefix + name] = _("from %(low)s to %(high)s", low=1, high=MAX_UNIT)
    for name in ("first_fen", "extra_fen"):
        if not 0 <= getattr(rate, name) <= MAX_FEE_FEN:
            problems[prefix + name] = _("from ¥0 to ¥100,000")
    return problems


def _code_problem(codes: list[str]) -> str | None:
    if len(codes) > MAX_CODES:
        return _("at most %(count)s regions", count=MAX_CODES)
    unknown = [code for code in codes if regions.name_of(code) is None]
    if unknown:
        return _("unknown region codes: %(codes)s", codes=", ".join(unknown[:5]))
    return None


def _problems(spec: TemplateSpec) -> dict[str, str]:
    problems = _rate_problems(spec.rate, "")
    if not spec.name.strip() or len(spec.name.strip()) > 64:
        problems["name"] = _("1 to 64 characters")
    if len(spec.rules) > MAX_RULES:
        problems["rules"] = _("at most %(count)s rules", count=MAX_RULES)
    for index, rule in enumerate(spec.rules):
        prefix = f"rules.{index}."
        problems.update(_rate_problems(rule, prefix))
        problem = _code_problem(rule.codes) if rule.codes else _("name at least one region")
        if problem:
            problems[prefix + "codes"] = problem
    problem = _code_problem(spec.undelivered)
    if problem:
        problems["undelivered"] = problem
    if spec.free_above_fen is not None and not 1 <= spec.free_above_fen <= 10**10:
        problems["free_above_fen"] = _("more than ¥0, or blank")
    if spec.free_count is not None and not 1 <= spec.free_count <= MAX_UNIT:
        problems["free_count"] = _("at least 1, or blank")
    return problems


def _unique(codes: list[str]) -> list[str]:
    return sorted(set(codes))


def save_template(spec: TemplateSpec, template_id: int | None = None) -> ShippingTemplate:
    """Create (no `template_id`) or change a template; flushed, not committed. Raises
    BadRequest `invalid` naming each field (`rules.N.codes`, `undelivered`, …), NotFound."""
    problems = _problems(spec)
    if problems:
        raise BadRequest(_("Please correct the fields marked."), code="invalid", fields=problems)
    if template_id is None:
        template = ShippingTemplate()
        db.session.add(template)
    else:
        found = db.session.get(ShippingTemplate, template_id)
        if found is None:
            raise NotFound(_("no such shipping template"), fields={"template_id": _("not found")})
        template = found
    template.name = spec.name.strip()
    template.by_weight = spec.by_weight
    template.first_unit, template.first_fen = spec.rate.first_unit, spec.rate.first_fen
    template.extra_unit, template.extra_fen = spec.rate.extra_unit, spec.rate.extra_fen
    template.rules = [
        {
            "codes": _unique(rule.codes),
            "first_unit": rule.first_unit,
            "first_fen": rule.first_fen,
            "extra_unit": rule.extra_unit,
            "extra_fen": rule.extra_fen,
        }
        for rule in spec.rules
    ]
    template.undelivered = _unique(spec.undelivered)
    template.free_above_fen, template.free_count = spec.free_above_fen, spec.free_count
    db.session.flush()
    return template


def template_state(template: ShippingTemplate) -> dict[str, Any]:
    """What the audit log keeps of a template."""
    return {
        "name": template.name,
        "by_weight": template.by_weight,
        "first_unit": template.first_unit,
        "first_fen": template.first_fen,
        "extra_unit": template.extra_unit,
        "extra_fen": template.extra_fen,
        "rules": template.rules,
        "undelivered": template.undelivered,
        "free_above_fen": template.free_above_fen,
        "free_count": template.free_count,
    }
