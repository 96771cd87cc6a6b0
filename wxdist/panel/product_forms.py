"""The forms of the product pages (`product_views`): a product's own fields, its SKUs
(new rows on the create page, one form per existing SKU, the add-a-SKU form), the shelf
switch and a new category."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from wxdist.catalog.admin import MAX_SORT, MAX_STOCK, MAX_WEIGHT_G
from wxdist.catalog.stock_settings import MAX_THRESHOLD
from wxdist.panel.decimal_fields import PercentField, YuanField
from wxdist.panel.ui import SubForm

NEW_SKU_ROWS = 3


def _category_or_none(value: Any) -> int | None:
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1  # not among the choices: refused by the field


class ProductForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=128)])
    subtitle = StringField(_l("Subtitle"), validators=[Length(max=255)])
    description = TextAreaField(_l("Description"), validators=[Length(max=60_000)])
    category_id = SelectField(_l("Category"), coerce=_category_or_none, validate_choice=True)
    new_category = StringField(
        _l("Or a new category"),
        validators=[Length(max=64)],
        description=_l("Typing a name here creates the category (or reuses one of that name)."),
    )
    sort = IntegerField(
        _l("Sort"),
        default=0,
        validators=[Optional(), NumberRange(-MAX_SORT, MAX_SORT)],
        description=_l("Higher comes first in the shop."),
    )
    image_urls = TextAreaField(
        _l("Image URLs"),
        description=_l(
            "One https:// URL per line (uploaded pictures show as /media/…); "
            "the first is the cover."
        ),
    )
    commission_l1_bp = PercentField(
        _l("Level 1 commission (%)"),
        optional=True,
        description=_l("Blank: the distributor's level or the programme default."),
    )
    commission_l2_bp = PercentField(
        _l("Level 2 commission (%)"),
        optional=True,
        description=_l("Blank: default. Level 1 + level 2 may not exceed 100 %."),
    )
    shipping_template_id = SelectField(
        _l("Shipping template"), coerce=_category_or_none, validate_choice=True
    )


def _weight() -> IntegerField:
    return IntegerField(
        _l("Weight (g)"), default=0, validators=[Optional(), NumberRange(0, MAX_WEIGHT_G)]
    )


def _code() -> StringField:
    """The SKU code (商家编码): its form and uniqueness are the service's to check."""
    return StringField(
        _l("SKU code"),
        validators=[Length(max=64)],
        description=_l("Optional, unique: letters, digits, - _ or . (what your ERP calls it)."),
    )


def _threshold() -> IntegerField:
    return IntegerField(
        _l("Low-stock alert at"),
        validators=[Optional(), NumberRange(0, MAX_THRESHOLD)],
        description=_l("Blank: the store's default (Settings › Stock alerts)."),
    )


def sku_code(field: StringField) -> str | None:
    """The code as typed, stripped; None when blank."""
    return (field.data or "").strip() or None


class SkuRow(SubForm):
    name = StringField(_l("Name"), validators=[Length(max=128)])
    price_fen = YuanField(_l("Price (¥)"), optional=True)
    stock = IntegerField(_l("Stock"), validators=[Optional(), NumberRange(0, MAX_STOCK)])
    is_active = BooleanField(_l("On sale"), default=True)
    weight_g = _weight()
    code = _code()
    low_stock_threshold = _threshold()


class NewProductForm(ProductForm):
    skus = FieldList(FormField(SkuRow), min_entries=NEW_SKU_ROWS, max_entries=20)
    on_shelf = BooleanField(_l("Put on shelf now"))


class SkuForm(FlaskForm):
    """One existing SKU (prefixed `sku<id>-`); `stock_seen` is the stock the page showed."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=128)])
    price_fen = YuanField(_l("Price (¥)"))
    is_active = BooleanField(_l("On sale"))
    stock = IntegerField(_l("Stock"), validators=[InputRequired(), NumberRange(0, MAX_STOCK)])
    stock_seen = HiddenField()
    weight_g = _weight()
    code = _code()
    low_stock_threshold = _threshold()


class NewSkuForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=128)])
    price_fen = YuanField(_l("Price (¥)"))
    stock = IntegerField(_l("Stock"), default=0, validators=[Optional(), NumberRange(0, MAX_STOCK)])
    is_active = BooleanField(_l("On sale"), default=True)
    weight_g = _weight()
    code = _code()
    low_stock_threshold = _threshold()


class ShelfForm(FlaskForm):
    on_shelf = HiddenField()


class CategoryForm(FlaskForm):
    name = StringField(_l("New category"), validators=[DataRequired(), Length(max=64)])
