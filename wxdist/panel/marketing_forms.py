"""The marketing pages' forms: a coupon template, issuing coupons to users, a limited-time
discount, a full reduction. Money in yuan, rates in 折, times in Shanghai; each form turns
itself into what the service takes (`spec()`), the service validates the rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.validators import AnyOf, InputRequired, Length, Optional, ValidationError

from wxdist.core.money import parse_yuan
from wxdist.marketing.promotions import MAX_TIERS, ReductionSpec
from wxdist.marketing.templates import TemplateSpec
from wxdist.models import CouponAudience, RefundPolicy
from wxdist.models.types import utcnow
from wxdist.panel.decimal_fields import YuanField, ZheField
from wxdist.panel.labels import label
from wxdist.panel.queries import marketing as queries
from wxdist.panel.time_fields import IdListField, IdTextField, LocalTimeField
from wxdist.panel.ui import SubForm

MAX_ISSUE = 1000  # user ids per "issue to users"
BIG = 10**9


def _name() -> StringField:
    return StringField(
        _l("Name"), validators=[Length(max=64, message=_l("Name: at most 64 characters."))]
    )


def _within(low: int, high: int, message: Any) -> Any:
    """Like NumberRange, but quiet when the text was no number at all (that error shows)."""

    def check(form: Any, field: Any) -> None:
        if field.data is not None and not low <= field.data <= high:
            raise ValidationError(str(message))

    return check


def _count(text: Any, description: Any = None, *, required: bool = True) -> IntegerField:
    first = InputRequired(message=_l("Enter a number.")) if required else Optional()
    return IntegerField(
        text,
        validators=[first, _within(0, BIG, _l("a whole number, 0 or more"))],
        description=description,
    )


def _soon(**delta: int) -> datetime:
    """Now, or later by `delta`, to the minute (the forms' default times)."""
    return (utcnow() + timedelta(**delta)).replace(second=0, microsecond=0)


class ScopeForm(FlaskForm):
    """Which products an offer covers: nothing included means every product."""

    product_ids = IdListField(
        _l("Only these products (ids)"), description=_l("Blank: every product.")
    )
    category_ids = IdListField(_l("Only these categories (ids)"))
    excluded_product_ids = IdListField(_l("Except these products (ids)"))
    excluded_category_ids = IdListField(_l("Except these categories (ids)"))

    SCOPE_FIELDS = ("product_ids", "category_ids", "excluded_product_ids", "excluded_category_ids")

    def scope(self) -> dict[str, list[int]]:
        return {name: self[name].data for name in self.SCOPE_FIELDS if self[name].data}

    def check_scope(self) -> bool:
        """Every id names a product or category (else the field says which do not)."""
        ok = True
        for name in self.SCOPE_FIELDS:
            ids = [] if self[name].errors else self[name].data or []
            find = queries.missing_categories if "category" in name else queries.missing_products
            missing = find(ids)
            if missing:
                text = ", ".join(str(i) for i in missing[:10])
                self[name].errors = [*self[name].errors, _("no such id: %(ids)s", ids=text)]
                ok = False
        return ok


class TemplateForm(ScopeForm):
    name = _name()
    off_fen = YuanField(_l("Amount off (¥)"), optional=True)
    pay_rate_bp = ZheField(
        _l("Or a discount (tenths paid)"),
        optional=True,
        description=_l("e.g. 8.5: the shopper pays 85 percent of the price."),
    )
    cap_fen = YuanField(
        _l("At most off (¥)"), optional=True, description=_l("With a discount only; blank: no cap.")
    )
    threshold_fen = YuanField(
        _l("Minimum spend (¥)"), optional=True, description=_l("Blank: no minimum.")
    )
    claim_starts_at = LocalTimeField(_l("Claim from"), default=lambda: _soon())
    claim_ends_at = LocalTimeField(_l("Claim until"), default=lambda: _soon(days=30))
    validity = RadioField(
        _l("Valid"),
        choices=[("days", _l("for some days after claiming")), ("dates", _l("between two dates"))],
        default="days",
    )
    valid_days = _count(_l("Days after claiming"), required=False)
    valid_from = LocalTimeField(_l("Valid from"), optional=True)
    valid_until = LocalTimeField(_l("Valid until"), optional=True)
    total = _count(_l("Coupons in all"))
    per_user_limit = _count(_l("Per shopper"))
    per_day_limit = _count(_l("Per shopper per day"), _l("Blank: no daily limit."), required=False)
    audience = SelectField(_l("Who may claim"))
    refund_policy = SelectField(_l("After a full refund"))
    stackable = BooleanField(_l("Combines with promotions"), default=True)
    shareable = BooleanField(_l("Distributors may share it"))

    def setup(self) -> TemplateForm:
        self.audience.choices = [(code, label(code)) for code in CouponAudience.ALL]
        self.refund_policy.choices = [(code, label(code)) for code in RefundPolicy.ALL]
        if self.valid_days.data is None and not self.is_submitted():
            self.valid_days.data = 30
        if self.total.data is None and not self.is_submitted():
            self.total.data, self.per_user_limit.data = 100, 1
        return self

    def spec(self) -> TemplateSpec:
        by_days = self.validity.data == "days"
        return TemplateSpec(
            name=(self.name.data or "").strip(),
            claim_starts_at=self.claim_starts_at.data,
            claim_ends_at=self.claim_ends_at.data,
            total=self.total.data or 0,
            off_fen=self.off_fen.data,
            pay_rate_bp=self.pay_rate_bp.data,
            cap_fen=self.cap_fen.data,
            threshold_fen=self.threshold_fen.data or 0,
            valid_days=self.valid_days.data if by_days else None,
            valid_from=None if by_days else self.valid_from.data,
            valid_until=None if by_days else self.valid_until.data,
            per_user_limit=self.per_user_limit.data or 0,
            per_day_limit=self.per_day_limit.data,
            audience=self.audience.data or "",
            stackable=bool(self.stackable.data),
            shareable=bool(self.shareable.data),
            refund_policy=self.refund_policy.data or "",
            scope=self.scope(),
        )


class StatusForm(FlaskForm):
    action = HiddenField(validators=[AnyOf(["pause", "resume", "end"])])


class IssueForm(FlaskForm):
    user_ids = IdTextField(
        _l("User ids"),
        most=MAX_ISSUE,
        description=_l("Separated by commas, spaces or new lines; at most 1000."),
    )

    def validate_user_ids(self, field: IdTextField) -> None:
        if not field.data and not field.errors:  # nothing typed (not: nothing valid)
            raise ValidationError(_("Enter at least one user id."))


class TimedDiscountForm(FlaskForm):
    name = _name()
    sku_id = IntegerField(
        _l("SKU id"),
        validators=[
            InputRequired(message=_l("Enter the SKU id.")),
            _within(1, 2**62, _l("a SKU id")),
        ],
        description=_l("On the product's page, beside each SKU."),
    )
    price_fen = YuanField(_l("Promotional price (¥)"), optional=True)
    pay_rate_bp = ZheField(
        _l("Or a discount (tenths paid)"),
        optional=True,
        description=_l("e.g. 8.5 to pay 85 percent of the price."),
    )
    starts_at = LocalTimeField(_l("Starts"), default=lambda: _soon())
    ends_at = LocalTimeField(_l("Ends"), default=lambda: _soon(days=7))
    no_commission = BooleanField(_l("No commission on these sales"))


class TierRow(SubForm):
    threshold = StringField(_l("Threshold"), validators=[Length(max=20)])
    off_fen = YuanField(_l("Amount off (¥)"), optional=True)
    pay_rate_bp = ZheField(_l("Or a discount (tenths paid)"), optional=True)
    free_shipping = BooleanField(_l("Free shipping"))


class ReductionForm(ScopeForm):
    name = _name()
    by_count = RadioField(
        _l("Tiers by"),
        choices=[("amount", _l("amount spent (¥)")), ("count", _l("number of items"))],
        default="amount",
    )
    tiers = FieldList(FormField(TierRow), min_entries=MAX_TIERS, max_entries=MAX_TIERS)
    starts_at = LocalTimeField(_l("Starts"), default=lambda: _soon())
    ends_at = LocalTimeField(_l("Ends"), default=lambda: _soon(days=7))
    no_commission = BooleanField(_l("No commission on these sales"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tier_errors: list[str] = []  # the service's word on the tiers as a whole

    def read_tiers(self) -> list[dict[str, int]] | None:
        """The filled tier rows as the service takes them, or None (errors beside the rows)."""
        self.tier_errors = []
        counting = self.by_count.data == "count"
        tiers: list[dict[str, int]] = []
        ok = True
        for entry in self.tiers:
            row: TierRow = entry.form
            text = (row.threshold.data or "").strip()
            empty = row.off_fen.data is None and row.pay_rate_bp.data is None
            if not text and empty and not row.free_shipping.data:
                continue
            threshold = _threshold(text, counting)
            if threshold is None:
                problem = _("a number of items") if counting else _("an amount in yuan")
                row.threshold.errors = [*row.threshold.errors, problem]
                ok = False
                continue
            tier = {"threshold": threshold}
            if row.off_fen.data is not None:
                tier["off_fen"] = row.off_fen.data
            if row.pay_rate_bp.data is not None:
                tier["pay_rate_bp"] = row.pay_rate_bp.data
            if row.free_shipping.data:
                tier["free_shipping"] = True
            tiers.append(tier)
        return tiers if ok else None

    def spec(self, tiers: list[dict[str, int]]) -> ReductionSpec:
        return ReductionSpec(
            name=(self.name.data or "").strip(),
            starts_at=self.starts_at.data,
            ends_at=self.ends_at.data,
            tiers=tiers,
            by_count=self.by_count.data == "count",
            no_commission=bool(self.no_commission.data),
            scope=self.scope(),
        )


def _threshold(text: str, counting: bool) -> int | None:
    if counting:
        return int(text) if text.isascii() and text.isdigit() and 0 < int(text) < BIG else None
    try:
        amount = parse_yuan(text)
    except ValueError:
        return None
    return amount if 0 < amount < BIG * 100 else None
