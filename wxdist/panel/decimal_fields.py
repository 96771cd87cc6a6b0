"""Form fields for money in yuan and rates in percent, parsed from the text as decimals
(never float) into integer fen and basis points."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import ValidationError

_DECIMAL = re.compile(r"^\d{1,12}(\.\d{1,2})?$")
REQUIRED = _l("required")


def parse_hundredths(text: str) -> int | None:
    """'12.3' → 1230, '5' → 500; None unless a non-negative number with at most two
    decimals (thousands separators and a leading ¥ or trailing % are ignored)."""
    cleaned = text.strip().replace(",", "").lstrip("¥￥").rstrip("%").strip()
    if not _DECIMAL.match(cleaned):
        return None
    return int(Decimal(cleaned) * 100)


def hundredths_text(value: int | None) -> str:
    """1230 → '12.30'; None → ''."""
    if value is None:
        return ""
    whole, part = divmod(int(value), 100)
    return f"{whole}.{part:02d}"


class _HundredthsField(StringField):
    """A decimal with at most two places shown and entered as text, held as an integer
    number of hundredths (fen of a yuan, basis points of a percent)."""

    unit_error = _l("a number with at most 2 decimals")
    high: int | None = None
    high_error = _l("too large")

    def __init__(self, label: str | None = None, *, optional: bool = False, **kwargs: Any) -> None:
        super().__init__(label, **kwargs)
        self.optional = optional

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return hundredths_text(self.data)

    def process_formdata(self, valuelist: list[Any]) -> None:
        text = (valuelist[0] if valuelist else "") or ""
        if not text.strip():
            self.data = None
            if not self.optional:
                raise ValueError(REQUIRED)
            return
        value = parse_hundredths(text)
        if value is None:
            self.data = None
            raise ValueError(self.unit_error)
        if self.high is not None and value > self.high:
            self.data = None
            raise ValueError(self.high_error)
        self.data = value

    def pre_validate(self, form: Any) -> None:
        if self.data is None and not self.optional and not self.process_errors:
            raise ValidationError(REQUIRED)


class YuanField(_HundredthsField):
    """Yuan entered as '12.50', held as fen (1250)."""

    unit_error = _l("an amount in yuan with at most 2 decimals, e.g. 12.50")


class PercentField(_HundredthsField):
    """A percent entered as '12.5', held as basis points (1250); at most 100 %."""

    unit_error = _l("a percent with at most 2 decimals, e.g. 12.5")
    high = 10_000
    high_error = _l("at most 100 %")


class ZheField(_HundredthsField):
    """A discount in 折 entered as '8.5' (pay 85 % of the price), held as basis points of
    what is paid (8500); below 10 折."""

    unit_error = _l("tenths of the price paid, at most 2 decimals, e.g. 8.5")
    high = 1_000  # 10 折 in hundredths; the services refuse 10 itself
    high_error = _l("below 10 (10 tenths is the full price)")

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return zhe_text(self.data)

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if self.data is not None:
            self.data *= 10


def zhe_text(pay_rate_bp: int) -> str:
    """8500 → '8.5', 8000 → '8', 8250 → '8.25' (the 折 of a rate of what is paid)."""
    text = f"{Decimal(pay_rate_bp) / 1000:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
