"""The flash-sale form: settings, time slots one per line (Shanghai time, "start ~ end"),
SKUs one per line ("SKU id, activity price in yuan, activity stock"). The form parses the
lines; the service (`marketing.flash_sales.admin`) checks the rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange

from wxdist.core.clock import to_local
from wxdist.core.money import yuan_text
from wxdist.marketing.flash_sales.admin import ActivitySpec, SkuSpec
from wxdist.models import CommissionMode, FlashActivity, FlashSku, FlashSlot
from wxdist.panel.activity_lines import parse_window, read_sku_lines


class FlashForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[
            InputRequired(_l("Enter a name.")),
            Length(max=64, message=_l("Name: at most 64 characters.")),
        ],
    )
    slots = TextAreaField(
        _l("Time slots"),
        description=_l("One per line, Shanghai time: 2026-12-12 20:00 ~ 2026-12-12 22:00"),
    )
    skus = TextAreaField(
        _l("SKUs"),
        description=_l(
            "One per line: SKU id, activity price (yuan), activity stock — e.g. 12, 9.90, 100"
        ),
    )
    per_user_limit = IntegerField(
        _l("Limit per person"),
        default=1,
        validators=[NumberRange(1, 999, _l("Between 1 and 999."))],
    )
    per_order_limit = IntegerField(
        _l("Limit per order"), default=1, validators=[NumberRange(1, 999, _l("Between 1 and 999."))]
    )
    commission_mode = SelectField(
        _l("Commission"),
        choices=[(CommissionMode.NONE, _l("none")), (CommissionMode.NORMAL, _l("as usual"))],
        default=CommissionMode.NONE,
    )
    coupons_allowed = BooleanField(_l("Coupons may be used"))
    enabled = BooleanField(_l("On"), default=True)

    def fill(self, activity: FlashActivity, slots: list[FlashSlot], skus: list[FlashSku]) -> None:
        """The form showing a saved activity."""
        self.name.data = activity.name
        self.per_user_limit.data = activity.per_user_limit
        self.per_order_limit.data = activity.per_order_limit
        self.commission_mode.data = activity.commission_mode
        self.coupons_allowed.data = activity.coupons_allowed
        self.enabled.data = activity.enabled
        self.slots.data = "\n".join(
            f"{to_local(s.starts_at):%Y-%m-%d %H:%M} ~ {to_local(s.ends_at):%Y-%m-%d %H:%M}"
            for s in slots
        )
        self.skus.data = "\n".join(
            f"{s.sku_id}, {yuan_text(s.price_fen, symbol='')}, {s.stock}" for s in skus
        )

    def _read_slots(self, problems: dict[str, str]) -> list[tuple[datetime, datetime]]:
        found = []
        for number, line in enumerate((self.slots.data or "").splitlines(), 1):
            if not line.strip():
                continue
            try:
                found.append(parse_window(line))
            except ValueError:
                problems["slots"] = _("Line %(number)s is not “start ~ end”.", number=number)
        return found

    def spec(self) -> ActivitySpec:
        problems: dict[str, str] = {}
        slots = self._read_slots(problems)
        skus = read_sku_lines(self.skus.data or "", problems, SkuSpec)
        return ActivitySpec(
            name=self.name.data or "",
            slots=slots,
            skus=skus,
            per_user_limit=self.per_user_limit.data or 0,
            per_order_limit=self.per_order_limit.data or 0,
            commission_mode=self.commission_mode.data or CommissionMode.NONE,
            coupons_allowed=bool(self.coupons_allowed.data),
            enabled=bool(self.enabled.data),
            problems=problems,
        )

    def attach(self, fields: dict[str, str], message: str) -> None:
        """The service's field errors beside the fields (`skus.N.x` beside the SKUs, with
        the line); anything else beside the name."""
        for key, problem in fields.items() or [("name", message)]:
            head, _dot, rest = key.partition(".")
            target = self._fields.get(head) or self.name
            if rest:
                index = rest.partition(".")[0]
                problem = _("Line %(number)s: %(problem)s", number=int(index) + 1, problem=problem)
            target.errors = [*target.errors, problem]


def spec_dict(spec: ActivitySpec) -> dict[str, Any]:
    """What the audit log keeps of a saved activity."""
    return {
        "name": spec.name,
        "slots": [[start, end] for start, end in spec.slots],
        "skus": [[s.sku_id, s.price_fen, s.stock] for s in spec.skus],
        "per_user_limit": spec.per_user_limit,
        "per_order_limit": spec.per_order_limit,
        "commission_mode": spec.commission_mode,
        "coupons_allowed": spec.coupons_allowed,
        "enabled": spec.enabled,
    }
