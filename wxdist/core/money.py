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


def split_by_weight(amount_fen: int, weights: list[int]) -> list[int]:
    """Split `amount_fen` over `weights` in proportion, by largest remainder.

    Each part is the floor of its exact share; the fen left over go one each to the parts
    with the largest remainders, ties to the larger weight, then to the earlier position,
    so the same input always splits the same way. The parts sum exactly to `amount_fen`,
    and no part exceeds its weight when `amount_fen <= sum(weights)`.

    Raises ValueError for a negative amount or weight, or an amount above the total
    weight (there would be no way to keep every part within its weight).
    """
    if amount_fen < 0 or any(weight < 0 for weight in weights):
        raise ValueError("amount and weights must not be negative")
    whole = sum(weights)
    if amount_fen > whole:
        raise ValueError("amount is larger than the weights it is split over")
    if amount_fen == 0:
        return [0] * len(weights)
    parts, remainders = [], []
    for index, weight in enumerate(weights):
        share, remainder = divmod(amount_fen * weight, whole)
        parts.append(share)
        remainders.append((-remainder, -weight, index))
    for _, _, index in sorted(remainders)[: amount_fen - sum(parts)]:
        parts[index] += 1
    return parts


def yuan_text(amount_fen: int, symbol: str = "¥") -> str:
    """Fen as yuan with two decimals: 12345 → '¥123.45', -5 → '-¥0.05'."""
    sign = "-" if amount_fen < 0 else ""
    whole, cents = divmod(abs(int(amount_fen)), 100)
    return f"{sign}{symbol}{whole}.{cents:02d}"
