"""The webhook outbox: `record` writes an event and its deliveries inside the transaction
of the change it reports, so an event exists exactly when the change committed (a rolled
back change leaves nothing to send) and survives any crash after the commit.

After the commit the delivery drain is scheduled (`delivery.DELIVERIES`); inline (no
Redis) the periodic sweep sends what is due. With no enabled endpoint taking the event's
type, nothing is written (one small read of the endpoints).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from wxdist.core import direct_sql
from wxdist.core.extensions import db
from wxdist.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from wxdist.models.types import utcnow

_SCHEDULE = "wxdist.integrations.outbox:schedule"

# Every event type an endpoint can take (its filter lists some of these, or "*").
EVENT_TYPES = (
    "order.paid",
    "order.cancelled",
    "order.shipped",
    "order.completed",
    "refund.succeeded",
    "aftersale.changed",
    "stock.low",
    "stock.out",
    "distributor.approved",
    "withdrawal.paid",
)
ALL = "*"


def takes(filters: list[str], event_type: str) -> bool:
    return ALL in filters or event_type in filters


def message_id() -> str:
    """A `webhook-id`: unique, stable across the retries of one event."""
    return f"msg_{secrets.token_hex(16)}"


def body(event_type: str, data: dict[str, Any], at: datetime) -> str:
    """The JSON sent, in the shape Standard Webhooks recommends (type, timestamp, data)."""
    return json.dumps(
        {"type": event_type, "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "data": data},
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )


# Read on every recorded change (a payment notify among them), so through `direct_sql`: the
# ORM's execution would cost the notify more than the round trip itself.
_ENABLED = select(WebhookEndpoint.id, WebhookEndpoint.events).where(
    WebhookEndpoint.enabled.is_(True)
)


def record(event_type: str, data: dict[str, Any] | Callable[[], dict[str, Any]]) -> int | None:
    """Write `event_type` with `data` (JSON-able, or a function building it, called only
    when some endpoint takes the type: a payment must not pay for a payload nobody gets) to
    the outbox for every enabled endpoint that takes it, in the session's transaction; the
    event id, None when no endpoint takes it. Raises ValueError for an unknown type."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    endpoints = [
        endpoint_id
        for endpoint_id, filters in direct_sql.rows(_ENABLED, {})
        if takes(filters or [], event_type)
    ]
    if not endpoints:
        return None
    if callable(data):
        data = data()
    now = utcnow()
    event_id = db.session.execute(
        insert(WebhookEvent).values(
            message_id=message_id(), type=event_type, body=body(event_type, data, now),
            created_at=now,
        )
    ).inserted_primary_key[0]  # fmt: skip
    db.session.execute(
        insert(WebhookDelivery),
        [
            {"event_id": event_id, "endpoint_id": e, "next_attempt_at": now, "created_at": now}
            for e in endpoints
        ],
    )
    db.session().info[_SCHEDULE] = True
    return int(event_id)


def _committed(session: Session) -> None:
    if session.info.pop(_SCHEDULE, None):
        from wxdist.integrations.delivery import DELIVERIES

        DELIVERIES.schedule()


def _rolled_back(session: Session) -> None:
    session.info.pop(_SCHEDULE, None)


def connect() -> None:
    """Schedule the delivery drain after every commit that wrote to the outbox (idempotent)."""
    if not event.contains(Session, "after_commit", _committed):
        event.listen(Session, "after_commit", _committed)
        event.listen(Session, "after_rollback", _rolled_back)
