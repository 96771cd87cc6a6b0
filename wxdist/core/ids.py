"""Row ids: signed 64-bit integers (BIGINT on MySQL, INTEGER on SQLite).

A number outside that range names no row; handing it to the database fails differently per
engine (SQLite raises OverflowError), so the edges refuse it first.
"""

from __future__ import annotations

MAX_ID = 2**63 - 1


def is_id(value: object) -> bool:
    """An int (not a bool) that could be a row id: 1..MAX_ID."""
    return type(value) is int and 1 <= value <= MAX_ID


def in_base(number: int, alphabet: str) -> str:
    """`number` (>= 0) written in the base of `alphabet`'s length, most significant first
    (the compact ids scenes carry)."""
    digits = ""
    while True:
        number, rest = divmod(number, len(alphabet))
        digits = alphabet[rest] + digits
        if number == 0:
            return digits
