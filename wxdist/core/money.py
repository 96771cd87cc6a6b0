"""Money arithmetic in integer fen. The one place a percentage is rounded."""

from __future__ import annotations

BP_WHOLE = 10_000  # basis points in 100 %


def apply_rate(base_fen: int, rate_bp: int) -> int:
    """`base_fen` x `rate_bp` / 10000, rounded half down to the fen (0.5 fen goes down).

    Never more than the exact share, so parts computed this way never sum to more than
    the whole. Raises ValueError for a negative base or a rate outside 0..10000.
    """
    if base_fen < 0:
        raise ValueError("base must not be negative")
    if not 0 <= rate_bp <= BP_WHOLE:
        raise ValueError("rate must be 0..10000 basis points")
    quotient, remainder = divmod(base_fen * rate_bp, BP_WHOLE)
    return quotient + (1 if remainder * 2 > BP_WHOLE else 0)


def proportion(amount_fen: int, part: int, whole: int) -> int:
    """`amount_fen` x part / whole, rounded down (what stays after a proportional cut)."""
    if whole <= 0:
        return 0
    return amount_fen * part // whole


def parse_yuan(text: str) -> int:
    """A yuan amount typed by a person ("12", "12.5", "12.50", "¥1,234.05") → fen, exactly,
    without floats. Raises ValueError for anything else (more than 2 decimals, signs,
    letters, an empty string)."""
    cleaned = text.strip().lstrip("¥￥").replace(",", "").strip()
    whole, dot, cents = cleaned.partition(".")
    if (
        not whole.isascii()
        or not whole.isdigit()
        or (dot and not (cents.isascii() and cents.isdigit() and len(cents) <= 2))
        or len(whole) > 12
    ):
        raise ValueError("not an amount in yuan with at most two decimals")
    return int(whole) * 100 + int(cents.ljust(2, "0") if dot else "0")
