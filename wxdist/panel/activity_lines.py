"""What the flash-sale and group-buy forms parse alike: a time window "start ~ end" in
Shanghai time, and SKU lines "SKU id, price in yuan, activity stock"."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from flask_babel import gettext as _

from wxdist.core.clock import from_local
from wxdist.core.money import parse_yuan

T = TypeVar("T")

_WINDOW = re.compile(
    r"^\s*(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2})\s*[~～至到]\s*(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2})\s*$"
)
_SKU_SEPARATORS = re.compile(r"[\s,，]+")


def parse_window(text: str) -> tuple[datetime, datetime]:
    """ "start ~ end" (Shanghai time, to the minute) as UTC; raises ValueError."""
    match = _WINDOW.match(text)
    if match is None:
        raise ValueError(text)
    return _local(match.group(1)), _local(match.group(2))


def _local(text: str) -> datetime:
    return from_local(datetime.strptime(text.replace("T", " "), "%Y-%m-%d %H:%M"))


def read_sku_lines(
    text: str, problems: dict[str, str], make: Callable[[int, int, int], T]
) -> list[T]:
    """`make(sku_id, price_fen, stock)` of each non-blank line; a malformed line is named
    in `problems["skus"]`."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        parts = [p for p in _SKU_SEPARATORS.split(line.strip()) if p]
        if not parts:
            continue
        try:
            sku_id, price, stock = parts
            found.append(make(int(sku_id), parse_yuan(price), int(stock)))
        except ValueError:
            problems["skus"] = _("Line %(number)s is not “SKU id, price, stock”.", number=number)
    return found
