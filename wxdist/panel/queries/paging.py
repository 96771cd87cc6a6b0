"""Pages of a statement without counting rows, and the Shanghai day → stored UTC moment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select

from wxdist.core.extensions import db

PER_PAGE = 50


@dataclass
class Page:
    items: list[Any]
    page: int
    per_page: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def fetch_page(
    statement: Select[Any], page: int, per_page: int = PER_PAGE, scalars: bool = True
) -> Page:
    """Page `page` (from 1) of `statement` (ordered by the caller), without counting every
    row: it fetches one row more than it shows to know whether a next page exists."""
    limited = statement.limit(per_page + 1).offset((page - 1) * per_page)
    rows = list(db.session.scalars(limited) if scalars else db.session.execute(limited))
    return Page(rows[:per_page], page, per_page, len(rows) > per_page)
