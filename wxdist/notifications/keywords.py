"""The value rules of subscribe-message keywords, by the type a keyword's name starts with
(`thing1`, `character_string2`, `time3`, ...), as WeChat documents them:

thing ≤ 20 characters; number ≤ 32 digits (a decimal point allowed); letter ≤ 32 letters;
symbol ≤ 5 symbols; character_string ≤ 32 digits, letters or symbols; time a 24-hour time,
optionally after a date; date a date, optionally with a time (both may be a range joined
by "~"); amount a currency sign and ≤ 10 digits with decimals, optionally ending in 元;
phone_number ≤ 17 digits and symbols; car_number ≤ 8 (first and last may be Chinese);
name ≤ 10 Chinese characters or ≤ 20 letters; phrase ≤ 5 Chinese characters.

No value may carry a line break or other control character. A too-long `thing` is cut to
19 characters and "…" (it is free text); every other violation is `BadKeyword`: a bug in
the notice that built it, logged, and nothing sent.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

THING_MAX = 20

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_DATE = (
    r"(?:\d{4}年\d{1,2}月\d{1,2}日|\d{4}年\d{1,2}月|\d{1,2}月\d{1,2}日"
    r"|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{4}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2})"
)
_CLOCK = r"(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?"
_TIME_POINT = rf"(?:{_DATE}\s?)?{_CLOCK}"
_DATE_POINT = rf"{_DATE}(?:\s?{_CLOCK})?"

PATTERNS: dict[str, re.Pattern[str]] = {
    "number": re.compile(r"(?=[\d.]{1,32}$)\d+(?:\.\d+)?"),
    "letter": re.compile(r"[A-Za-z]{1,32}"),
    "character_string": re.compile(r"[\x21-\x7e]{1,32}"),
    "time": re.compile(rf"{_TIME_POINT}(?:\s?~\s?{_TIME_POINT})?"),
    "date": re.compile(rf"{_DATE_POINT}(?:\s?~\s?{_DATE_POINT})?"),
    "amount": re.compile(r"[¥￥$€£]?\d{1,10}(?:\.\d{1,2})?元?"),
    "phone_number": re.compile(r"[\d+\-()#*]{1,17}"),
    "car_number": re.compile(rf"(?=.{{2,8}}$)[{_HAN}A-Za-z0-9][A-Za-z0-9]*[{_HAN}A-Za-z0-9]"),
    "name": re.compile(rf"[{_HAN}·]{{1,10}}|[A-Za-z .\-·']{{1,20}}|(?=.{{1,10}}$)[{_HAN}A-Za-z·]+"),
    "phrase": re.compile(rf"[{_HAN}]{{1,5}}"),
}
TYPES = (*PATTERNS, "thing", "symbol")


class BadKeyword(ValueError):
    """A value breaks its keyword's rule, or the keyword has no known type."""

    def __init__(self, keyword: str, reason: str) -> None:
        super().__init__(f"{keyword}: {reason}")
        self.keyword = keyword
        self.reason = reason


def keyword_type(keyword: str) -> str:
    """`thing1` → "thing", `character_string12` → "character_string". Raises BadKeyword."""
    found = re.fullmatch(r"([a-z_]+?)(\d+)", keyword)
    if found is None or found.group(1) not in TYPES:
        raise BadKeyword(keyword, "not a keyword of a known type")
    return found.group(1)


def _has_control(value: str) -> bool:
    return any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in value)


def _is_symbol(c: str) -> bool:
    return unicodedata.category(c)[0] in "PS"


def check_value(keyword: str, value: str) -> str:
    """The value to send for `keyword` (a long `thing` cut). Raises BadKeyword."""
    kind = keyword_type(keyword)
    if not isinstance(value, str) or not value.strip():
        raise BadKeyword(keyword, "empty")
    if _has_control(value):
        raise BadKeyword(keyword, "contains a line break or control character")
    if kind == "thing":
        return value if len(value) <= THING_MAX else value[: THING_MAX - 1] + "…"
    if kind == "symbol":
        if len(value) > 5 or not all(_is_symbol(c) for c in value):
            raise BadKeyword(keyword, "must be at most 5 symbols")
        return value
    if PATTERNS[kind].fullmatch(value) is None:
        raise BadKeyword(keyword, f"{value!r} is not a valid {kind}")
    return value


def check_data(data: Mapping[str, str]) -> dict[str, str]:
    """Every keyword's value checked (`check_value`). Raises BadKeyword for the first bad
    one, or for no keyword at all."""
    if not data:
        raise BadKeyword("data", "no keyword")
    return {keyword: check_value(keyword, value) for keyword, value in data.items()}
