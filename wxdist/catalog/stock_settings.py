"""The store's stock alert settings: the default low-stock threshold (a SKU's own threshold
overrides it) and whether a sold-out product is taken off shelf until stock returns.

One row (id 1), written at the first save; until then the defaults below apply.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from wxdist.core.errors import ApiError
from wxdist.core.extensions import db
from wxdist.models import StockSettings

SETTINGS_ID = 1
DEFAULT_THRESHOLD = 10
MAX_THRESHOLD = 1_000_000


@dataclass(frozen=True)
class Stock:
    low_stock_threshold: int = DEFAULT_THRESHOLD
    auto_pause: bool = False


def current() -> Stock:
    """The settings now (the defaults when none were saved)."""
    row = db.session.execute(
        select(StockSettings.low_stock_threshold, StockSettings.auto_pause).where(
            StockSettings.id == SETTINGS_ID
        )
    ).first()
    if row is None:
        return Stock()
    return Stock(int(row.low_stock_threshold), bool(row.auto_pause))


def threshold_errors(value: int | None, name: str = "low_stock_threshold") -> dict[str, str]:
    """{name: problem} when `value` (None: none given) is outside 0..MAX_THRESHOLD."""
    if value is not None and not 0 <= value <= MAX_THRESHOLD:
        return {name: _("from %(low)s to %(high)s", low=0, high=MAX_THRESHOLD)}
    return {}


def save(low_stock_threshold: int, auto_pause: bool) -> Stock:
    """Store the settings in the session's transaction (the caller commits: the panel's
    audit does). Raises ApiError naming `low_stock_threshold` outside 0..MAX_THRESHOLD."""
    errors = threshold_errors(low_stock_threshold)
    if errors:
        raise ApiError(_("invalid stock settings"), code="invalid", fields=errors)
    values = {"low_stock_threshold": low_stock_threshold, "auto_pause": auto_pause}
    moved = db.session.execute(
        update(StockSettings).where(StockSettings.id == SETTINGS_ID).values(**values)
    )
    if not moved.rowcount:
        try:
            with db.session.begin_nested():
                db.session.add(StockSettings(id=SETTINGS_ID, **values))
        except IntegrityError:  # a first save racing this one: ours wins, as a second would
            db.session.execute(
                update(StockSettings).where(StockSettings.id == SETTINGS_ID).values(**values)
            )
    return Stock(low_stock_threshold, auto_pause)
