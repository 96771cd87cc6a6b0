"""Products, shipping templates (运费模板): the list, creating one and editing one, with
its rules per region and the regions not delivered to.

Regions are picked as provinces (a multi-select) plus a text field of GB/T 2260 codes
(cities or districts, separated by spaces or commas). The service
(`shop.shipping_templates`) validates; each create and change is audited
(`shipping_template.create|update`).
"""

from __future__ import annotations

import re
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    FieldList,
    FormField,
    IntegerField,
    RadioField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from wxdist.accounts import regions
from wxdist.core.errors import ApiError
from wxdist.models import ShippingTemplate
from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp
from wxdist.panel.decimal_fields import YuanField
from wxdist.panel.marketing_views import attach
from wxdist.panel.queries import shipping as queries
from wxdist.panel.ui import SubForm, audited
from wxdist.shop import shipping_templates as service
from wxdist.shop.shipping_templates import MAX_RULES, MAX_UNIT, RateSpec, RuleSpec, TemplateSpec

RULE_ROWS = 5
_SEPARATORS = re.compile(r"[\s,，、;；]+")


def _provinces() -> list[tuple[str, str]]:
    return [(d.code, d.name) for d in regions.children(None) or []]


def _unit(label: Any, required: bool = True) -> IntegerField:
    first = DataRequired() if required else Optional()
    return IntegerField(label, validators=[first, NumberRange(1, MAX_UNIT)])


class RuleRow(SubForm):
    provinces = SelectMultipleField(_l("Provinces"), choices=_provinces, validate_choice=True)
    codes = StringField(
        _l("Or region codes"),
        validators=[Length(max=4000)],
        description=_l("GB/T 2260 codes of cities or districts, e.g. 440300 110101"),
    )
    first_unit = _unit(_l("First units"), required=False)
    first_fen = YuanField(_l("First fee (¥)"), optional=True)
    extra_unit = _unit(_l("Each further units"), required=False)
    extra_fen = YuanField(_l("Further fee (¥)"), optional=True)

    def blank(self) -> bool:
        fees = (self.first_unit, self.first_fen, self.extra_unit, self.extra_fen)
        return (
            not self.provinces.data
            and not (self.codes.data or "").strip()
            and all(f.data is None for f in fees)
        )


class ShippingTemplateForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=64)])
    by_weight = RadioField(
        _l("Charge by"),
        choices=[
            ("piece", _l("piece (units are items)")),
            ("weight", _l("weight (units are grams)")),
        ],
        default="piece",
    )
    first_unit = _unit(_l("First units"))
    first_fen = YuanField(_l("First fee (¥)"))
    extra_unit = _unit(_l("Each further units"))
    extra_fen = YuanField(_l("Further fee (¥)"))
    free_above_fen = YuanField(_l("Free from an amount (¥)"), optional=True)
    free_count = IntegerField(
        _l("Free from a number of items"), validators=[Optional(), NumberRange(1, MAX_UNIT)]
    )
    undelivered_provinces = SelectMultipleField(
        _l("Provinces not delivered to"), choices=_provinces, validate_choice=True
    )
    undelivered_codes = StringField(
        _l("Other regions not delivered to (codes)"), validators=[Length(max=4000)]
    )
    rules = FieldList(FormField(RuleRow), min_entries=RULE_ROWS, max_entries=MAX_RULES)

    def spec(self) -> TemplateSpec:
        rules = []
        for entry in self.rules:
            row: RuleRow = entry.form
            if row.blank():
                continue
            rules.append(
                RuleSpec(
                    first_unit=row.first_unit.data or 0,
                    first_fen=row.first_fen.data or 0,
                    extra_unit=row.extra_unit.data or 0,
                    extra_fen=row.extra_fen.data or 0,
                    codes=[*(row.provinces.data or []), *_codes(row.codes.data)],
                )
            )
        return TemplateSpec(
            name=(self.name.data or "").strip(),
            by_weight=self.by_weight.data == "weight",
            rate=RateSpec(
                self.first_unit.data or 0,
                self.first_fen.data or 0,
                self.extra_unit.data or 0,
                self.extra_fen.data or 0,
            ),
            rules=rules,
            undelivered=[
                *(self.undelivered_provinces.data or []),
                *_codes(self.undelivered_codes.data),
            ],
            free_above_fen=self.free_above_fen.data,
            free_count=self.free_count.data,
        )

    def show(self, problems: dict[str, str], message: str) -> None:
        """The service's field errors beside their fields (`rules.N.x` in the rule rows)."""
        loose: dict[str, str] = {}
        for name, problem in problems.items():
            parts = name.split(".")
            if parts[0] == "rules" and len(parts) == 3 and parts[1].isdigit():
                filled = [e.form for e in self.rules if not e.form.blank()]
                index = int(parts[1])
                field = filled[index][parts[2]] if index < len(filled) else None
                if field is not None:
                    field.errors = [*field.errors, problem]
                    continue
            if name == "undelivered":
                name = "undelivered_codes"
            loose[name] = problem
        if loose or not problems:
            attach(self, loose, message)


def _codes(text: str | None) -> list[str]:
    return [code for code in _SEPARATORS.split(text or "") if code]


def _split(codes: list[str]) -> tuple[list[str], str]:
    provinces = [code for code in codes if code.endswith("0000")]
    return provinces, " ".join(code for code in codes if not code.endswith("0000"))


def _form_of(template: ShippingTemplate) -> ShippingTemplateForm:
    undelivered, other = _split(template.undelivered or [])
    rules = []
    for rule in template.rules or []:
        provinces, codes = _split(rule["codes"])
        rules.append({**rule, "provinces": provinces, "codes": codes})
    data = {
        **service.template_state(template),
        "by_weight": "weight" if template.by_weight else "piece",
        "undelivered_provinces": undelivered,
        "undelivered_codes": other,
        "rules": rules,
    }
    return ShippingTemplateForm(formdata=None, data=data)


def _edit_page(form: ShippingTemplateForm, template: ShippingTemplate | None, status: int = 200):  # type: ignore[no-untyped-def]
    return (
        render_template(
            "panel/shipping_template_edit.html", form=form, template=template, names=_names
        ),
        status,
    )


def _names(codes: list[str]) -> str:
    return "、".join(regions.name_of(code) or code for code in codes)


@panel_bp.get("/shipping-templates")
@area("products")
def shipping_templates():  # type: ignore[no-untyped-def]
    return render_template(
        "panel/shipping_templates.html",
        templates=queries.templates(),
        counts=queries.product_counts(),
        names=_names,
    )


def _save(form: ShippingTemplateForm, template: ShippingTemplate | None):  # type: ignore[no-untyped-def]
    if not form.validate_on_submit():
        return _edit_page(form, template, 400)
    template_id = template.id if template is not None else None
    before = service.template_state(template) if template is not None else None
    action = "shipping_template.update" if template is not None else "shipping_template.create"
    try:
        with audited(action, "shipping_template", template_id or "new", before=before) as note:
            saved = service.save_template(form.spec(), template_id)
            note.target_id = saved.id
            note.after = service.template_state(saved)
    except ApiError as exc:
        form.show(exc.fields, exc.message)
        return _edit_page(form, template, exc.status)
    flash(_("Shipping template “%(name)s” saved.", name=saved.name), "success")
    return redirect(url_for("panel.shipping_templates"), 303)


@panel_bp.route("/shipping-templates/new", methods=["GET", "POST"])
@area("products")
def shipping_template_new():  # type: ignore[no-untyped-def]
    if request.method == "GET":
        return _edit_page(ShippingTemplateForm(formdata=None), None)
    return _save(ShippingTemplateForm(), None)


@panel_bp.route("/shipping-templates/<int:shipping_template_id>/edit", methods=["GET", "POST"])
@area("products")
def shipping_template_edit(shipping_template_id: int):  # type: ignore[no-untyped-def]
    template = queries.template(shipping_template_id) or abort(404)
    if request.method == "GET":
        return _edit_page(_form_of(template), template)
    return _save(ShippingTemplateForm(), template)
