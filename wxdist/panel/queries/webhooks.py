"""Reads of the webhooks pages: endpoints with their live secrets' hints, and an
endpoint's latest deliveries with their events and attempts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, select

from wxdist.core.extensions import db
from wxdist.integrations import webhook_secrets
from wxdist.models import (
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

DELIVERIES_SHOWN = 50


def endpoints() -> Sequence[WebhookEndpoint]:
    return db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)).all()


def endpoint(endpoint_id: int) -> WebhookEndpoint | None:
    return db.session.get(WebhookEndpoint, endpoint_id)


def secret_hints(endpoint_id: int) -> list[tuple[str, Any]]:
    return webhook_secrets.hints(endpoint_id)


def delivery_counts() -> dict[int, dict[str, int]]:
    """Endpoint id → state → how many deliveries."""
    found: dict[int, dict[str, int]] = defaultdict(dict)
    for endpoint_id, state, n in db.session.execute(
        select(WebhookDelivery.endpoint_id, WebhookDelivery.state, func.count()).group_by(
            WebhookDelivery.endpoint_id, WebhookDelivery.state
        )
    ):
        found[endpoint_id][state] = n
    return found


def deliveries(endpoint_id: int, state: str = "") -> Sequence[Row[Any]]:
    """The endpoint's latest deliveries (of `state` when given), newest first."""
    query = (
        select(
            WebhookDelivery.id, WebhookDelivery.state, WebhookDelivery.attempts,
            WebhookDelivery.last_status, WebhookDelivery.last_error,
            WebhookDelivery.next_attempt_at, WebhookDelivery.delivered_at,
            WebhookDelivery.created_at, WebhookEvent.type, WebhookEvent.message_id,
        )
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(DELIVERIES_SHOWN)
    )  # fmt: skip
    if state in (DeliveryState.PENDING, DeliveryState.SUCCEEDED, DeliveryState.FAILED):
        query = query.where(WebhookDelivery.state == state)
    return db.session.execute(query).all()


def attempts(delivery_ids: list[int]) -> dict[int, list[Row[Any]]]:
    """Delivery id → its attempts, oldest first."""
    found: dict[int, list[Row[Any]]] = defaultdict(list)
    if not delivery_ids:
        return found
    for row in db.session.execute(
        select(
            WebhookAttempt.delivery_id, WebhookAttempt.attempted_at, WebhookAttempt.status,
            WebhookAttempt.error, WebhookAttempt.milliseconds, WebhookAttempt.response,
        )
        .where(WebhookAttempt.delivery_id.in_(delivery_ids))
        .order_by(WebhookAttempt.id)
    ):  # fmt: skip
        found[row.delivery_id].append(row)
    return found
