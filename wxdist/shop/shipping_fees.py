"""Shipping fees (运费模板): what delivering an order's lines costs, per the products'
templates and the address's region; the pricing pipeline's step 4 (`pricing.Shipping`).

- A template charges by piece (units are items) or by weight (units are grams: each
  SKU's `weight_g` times its quantity): the first `first_unit` units `first_fen`, then
  each further `extra_unit` units, or part of them, `extra_fen`. An order of a template
  always pays at least its first fee (a parcel of weightless SKUs still ships).
- A rule for some regions replaces those rates; the most specific code matching the
  address wins (district, then city, then province), then the template's defaults.
- A region in `undelivered` (at any level) is refused: Conflict `not_delivered` naming the
  address's field. An address without a region code (inline, from older clients) pays the
  defaults, and is refused (`region_required`) by a template that leaves regions out,
  since nothing can tell whether it delivers there.
- Free when the template's lines reach `free_above_fen` (what they pay after every
  discount, coupon included) or `free_count` items.
- **Several templates in one order: each template is computed over its own lines, and
  the fees add up** (as yudao-mall's and CRMEB's checkouts do: each template is one
  merchant promise, and a shopper can check any of them alone). Products without a
  template ship free.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from wxdist.accounts.regions import Region
from wxdist.core.errors import Conflict
from wxdist.core.extensions import db
from wxdist.models import ShippingTemplate
from wxdist.shop.pricing import PricedLine


@dataclass(frozen=True)
class Rate:
    first_unit: int
    first_fen: int
    extra_unit: int
    extra_fen: int

    def fee(self, units: int) -> int:
        beyond = max(0, units - self.first_unit)
        steps = -(-beyond // max(1, self.extra_unit))  # ceiling: a part of a unit counts
        return self.first_fen + steps * self.extra_fen


def rate_of(data: Mapping[str, Any]) -> Rate:
    return Rate(data["first_unit"], data["first_fen"], data["extra_unit"], data["extra_fen"])


@dataclass(frozen=True)
class Template:
    id: int
    by_weight: bool
    rate: Rate
    rules: tuple[tuple[frozenset[str], Rate], ...] = ()
    undelivered: frozenset[str] = frozenset()
    free_above_fen: int | None = None
    free_count: int | None = None

    def rate_for(self, region: Region | None) -> Rate:
        """The most specific rule naming the region or one of its ancestors, else the
        defaults."""
        for code in region.codes if region is not None else ():
            for codes, rate in self.rules:
                if code in codes:
                    return rate
        return self.rate

    def delivers(self, region: Region) -> bool:
        return not any(code in self.undelivered for code in region.codes)

    def fee(self, lines: Sequence[PricedLine], region: Region | None) -> int:
        count = sum(line.line.quantity for line in lines)
        paid = sum(line.paid_fen for line in lines)
        if self.free_above_fen is not None and paid >= self.free_above_fen:
            return 0
        if self.free_count is not None and count >= self.free_count:
            return 0
        units = (
            sum(line.line.weight_g * line.line.quantity for line in lines)
            if self.by_weight
            else count
        )
        return self.rate_for(region).fee(units)


def template_of(record: Any) -> Template:
    """From a shipping_templates row (or model)."""
    return Template(
        id=record.id,
        by_weight=record.by_weight,
        rate=rate_of(
            {
                "first_unit": record.first_unit,
                "first_fen": record.first_fen,
                "extra_unit": record.extra_unit,
                "extra_fen": record.extra_fen,
            }
        ),
        rules=tuple((frozenset(rule["codes"]), rate_of(rule)) for rule in record.rules or ()),
        undelivered=frozenset(record.undelivered or ()),
        free_above_fen=record.free_above_fen,
        free_count=record.free_count,
    )


@dataclass(frozen=True)
class ShippingPlan:
    """`pricing.Shipping` for one address: `region` None when it has no code; `field`
    names the address in errors; `strict` False (a preview without an address) charges
    the defaults and refuses nothing."""

    templates: Mapping[int, Template]
    region: Region | None
    field: str
    strict: bool = True

    def fee(self, lines: Sequence[PricedLine]) -> int:
        groups: dict[int, list[PricedLine]] = {}
        for line in lines:
            if line.line.shipping_template_id is not None:
                groups.setdefault(line.line.shipping_template_id, []).append(line)
        total = 0
        for template_id, group in sorted(groups.items()):
            template = self.templates[template_id]
            self._check_delivery(template)
            total += template.fee(group, self.region)
        return total

    def _check_delivery(self, template: Template) -> None:
        if not self.strict or not template.undelivered:
            return
        if self.region is None:
            raise Conflict(
                _("Choose the district of the address, so the delivery can be checked."),
                code="region_required",
                fields={self.field: _("a district code is needed for this order")},
            )
        if not template.delivers(self.region):
            raise Conflict(
                _(
                    "Some items of this order are not delivered to %(region)s.",
                    region=self.region.text,
                ),
                code="not_delivered",
                fields={self.field: _("not delivered to this region")},
            )


def plan(
    template_ids: set[int], region: Region | None, field: str, strict: bool = True
) -> ShippingPlan | None:
    """The shipping of an order whose products use `template_ids` (None when none does)."""
    if not template_ids:
        return None
    rows = db.session.scalars(
        select(ShippingTemplate).where(ShippingTemplate.id.in_(sorted(template_ids)))
    )
    return ShippingPlan({row.id: template_of(row) for row in rows}, region, field, strict)
