"""Conversions between integer fen and the yuan strings gateways speak ("12.34").

Integer arithmetic only: no float, no Decimal rounding.
"""

from __future__ import annotations

import re

_YUAN = re.compile(r"(0|[1-9][0-9]*)(?:\.([0-9]{1,2}))?")


def fen_to_yuan(fen: int) -> str:
    """12345 -> "123.45", 1 -> "0.01". Raises ValueError for a negative amount or a non-int
    (bool included)."""
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise ValueError(f"amount in fen must be an int, got {fen!r}")
    if fen < 0:
        raise ValueError(f"amount in fen must not be negative, got {fen}")
    return f"{fen // 100}.{fen % 100:02d}"


def yuan_to_fen(text: str) -> int:
    """ "12.34" -> 1234, "12.3" -> 1230, "12" -> 1200. Strict: ASCII digits without sign,
    exponent, spaces or superfluous leading zeros, at most two decimals; raises ValueError
    otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"amount in yuan must be a string, got {text!r}")
    match = _YUAN.fullmatch(text)
    if match is None:
        raise ValueError(f"not an amount in yuan with at most two decimals: {text!r}")
    whole, decimals = match.group(1), match.group(2) or ""
    return int(whole) * 100 + int(decimals.ljust(2, "0") or "0")
