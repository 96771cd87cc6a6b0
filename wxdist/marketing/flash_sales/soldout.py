"""The sold-out flag of an activity SKU in Redis: a cheap check before the database.

Set when the database refuses an order for want of activity stock; cleared after a
transaction that gives stock back commits (an unpaid order ending, staff raising the
stock). Without Redis (no REDIS_URL) there is no flag; when Redis is unreachable the flag
is skipped and the database answers. A lost or stale flag never oversells: only the
conditional UPDATE takes stock. A stale flag can refuse buyers until it is cleared or
expires (at the end of the activity's last slot).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from wxdist.core.redis_conn import UNAVAILABLE, redis_client
from wxdist.models.types import utcnow

log = logging.getLogger(__name__)

_PENDING = "flash_soldout_clear"  # session.info key: flags to clear once it commits
MIN_TTL = 60  # seconds


def _key(flash_sku_id: int) -> str:
    return f"wxdist:flash:soldout:{flash_sku_id}"


def _client() -> Any:
    url = current_app.config.get("REDIS_URL")
    return redis_client(url) if url else None


def is_sold_out(flash_sku_id: int) -> bool:
    """True when the flag is set. False without Redis or when it is unreachable."""
    client = _client()
    if client is None:
        return False
    try:
        return bool(client.exists(_key(flash_sku_id)))
    except UNAVAILABLE as exc:
        log.warning(
            "Redis unreachable (%s): flash SKU %s checked in the database", exc, flash_sku_id
        )
        return False


def mark_sold_out(flash_sku_id: int, until: datetime | None) -> None:
    """Set the flag until `until` (the activity's end; at least MIN_TTL). Never raises
    for Redis."""
    client = _client()
    if client is None:
        return
    ttl = MIN_TTL if until is None else max(MIN_TTL, int((until - utcnow()).total_seconds()))
    try:
        client.set(_key(flash_sku_id), "1", ex=ttl)
    except UNAVAILABLE as exc:
        log.warning("Redis unreachable (%s): flash SKU %s not flagged sold out", exc, flash_sku_id)


def clear(flash_sku_ids: list[int]) -> None:
    """Drop the flags now. Never raises for Redis (a stale flag expires)."""
    client = _client()
    if client is None or not flash_sku_ids:
        return
    try:
        client.delete(*(_key(i) for i in flash_sku_ids))
    except UNAVAILABLE as exc:
        log.warning("Redis unreachable (%s): sold-out flags %s left to expire", exc, flash_sku_ids)


def clear_after_commit(session: Session, flash_sku_id: int) -> None:
    """Clear the flag once `session`'s transaction commits (stock it gives back is then
    visible; cleared earlier, a buyer could read the old stock and set it again)."""
    session.info.setdefault(_PENDING, set()).add(flash_sku_id)


def _committed(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        clear(sorted(pending))


def _rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


def connect() -> None:
    """Listen to every session's commits and rollbacks (idempotent)."""
    if not event.contains(Session, "after_commit", _committed):
        event.listen(Session, "after_commit", _committed)
        event.listen(Session, "after_rollback", _rolled_back)
