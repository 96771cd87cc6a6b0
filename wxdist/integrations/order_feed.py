"""Orders changed since a cursor, for an ERP that polls (the open API's `GET /orders`).

An order's `updated_at` moves with every change of its row, and the feed walks
(`updated_at`, `id`) upwards. A transaction can commit a little after the time it stamped,
so the feed stops `SETTLE` short of now: a change stamped earlier than that has committed
(transactions here last milliseconds), and a poll never steps past a change still to
commit. An order that changes again later comes again, with its new state.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, or_, select

from wxdist.core.errors import ApiError
from wxdist.core.extensions import db
from wxdist.integrations import payloads
from wxdist.models import Order
from wxdist.models.types import utcnow

SETTLE = timedelta(seconds=5)
MAX_PAGE = 100


@dataclass(frozen=True)
class Page:
    orders: list[dict[str, Any]]
    next_cursor: str  # give it back to read on; the same cursor when nothing is new
    has_more: bool


def encode(at: datetime, order_id: int) -> str:
    raw = f"{at.strftime('%Y-%m-%dT%H:%M:%S.%f')}|{order_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str) -> tuple[datetime, int]:
    """Raises ApiError naming `cursor` for one this feed did not give."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _sep, order_id = raw.partition("|")
        return datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%f"), int(order_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(
            _("not a cursor this API gave"), code="invalid", fields={"cursor": _("invalid")}
        ) from None


def changed_since(cursor: str | None, limit: int = 50) -> Page:
    """Up to `limit` (1..MAX_PAGE) orders changed after `cursor` (None: from the first),
    oldest change first. Raises ApiError naming `cursor`."""
    limit = max(1, min(limit, MAX_PAGE))
    query = select(Order.id, Order.updated_at).where(Order.updated_at <= utcnow() - SETTLE)
    if cursor:
        at, last_id = decode(cursor)
        query = query.where(
            or_(Order.updated_at > at, and_(Order.updated_at == at, Order.id > last_id))
        )
    rows = db.session.execute(query.order_by(Order.updated_at, Order.id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    if not rows:
        return Page([], cursor or "", False)
    found = payloads.orders([r.id for r in rows])
    return Page(found, encode(rows[-1].updated_at, rows[-1].id), more)
