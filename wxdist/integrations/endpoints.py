"""The merchant's webhook endpoints: made with a first secret (returned once), their event
filters changed, disabled and enabled, secrets rotated, and deliveries replayed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import update

from wxdist.core.errors import BadRequest, Conflict, NotFound
from wxdist.core.extensions import db
from wxdist.integrations import delivery, webhook_secrets
from wxdist.integrations.outbox import ALL, EVENT_TYPES
from wxdist.models import DeliveryState, WebhookDelivery, WebhookEndpoint
from wxdist.models.types import utcnow


@dataclass(frozen=True)
class Made:
    endpoint_id: int
    secret: str  # the one time it is shown


def _checked(url: str, events: list[str]) -> tuple[str, list[str]]:
    """Raises BadRequest naming `url` or `events`."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 500:
        raise BadRequest(
            _("Enter an http:// or https:// address"), fields={"url": _("Not a web address")}
        )
    chosen = sorted(set(events))
    if not chosen or not set(chosen) <= {ALL, *EVENT_TYPES}:
        raise BadRequest(
            _("Choose the events to send"), fields={"events": _("Choose at least one event")}
        )
    return url, [ALL] if ALL in chosen else chosen


def create(url: str, events: list[str], description: str = "") -> Made:
    """A new enabled endpoint and its first secret (committed)."""
    url, events = _checked(url, events)
    endpoint = WebhookEndpoint(url=url, events=events, description=description.strip()[:200])
    db.session.add(endpoint)
    db.session.flush()
    secret = webhook_secrets.make(endpoint.id)
    db.session.commit()
    return Made(endpoint.id, secret)


def _get(endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(_("No such endpoint"))
    return endpoint


def change(endpoint_id: int, url: str, events: list[str], description: str = "") -> None:
    endpoint = _get(endpoint_id)
    endpoint.url, endpoint.events = _checked(url, events)
    endpoint.description = description.strip()[:200]
    db.session.commit()


def set_enabled(endpoint_id: int, enabled: bool) -> None:
    """Enable (clearing why it was disabled) or disable (failing its pending deliveries)."""
    endpoint = _get(endpoint_id)
    if enabled:
        endpoint.enabled, endpoint.disabled_reason = True, ""
    else:
        delivery.disable(endpoint.id, "disabled")
    db.session.commit()


def rotate(endpoint_id: int, overlap_hours: int = 24) -> str:
    """A new secret (returned once); the old ones sign on for `overlap_hours`."""
    endpoint = _get(endpoint_id)
    secret = webhook_secrets.rotate(endpoint.id, timedelta(hours=max(0, overlap_hours)))
    db.session.commit()
    return secret


def replay(delivery_id: int) -> int:
    """Send a delivery again now, whatever became of it (same `webhook-id`); returns its
    endpoint's id. Raises NotFound, or Conflict `endpoint_off` while its endpoint is off
    (turn it on first). Replaying a pending one only makes it due now."""
    found = db.session.get(WebhookDelivery, delivery_id)
    if found is None:
        raise NotFound(_("No such delivery"))
    if not _get(found.endpoint_id).enabled:
        raise Conflict(
            _("The endpoint is off: turn it on before sending again."), code="endpoint_off"
        )
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(state=DeliveryState.PENDING, next_attempt_at=utcnow(), lease_until=None)
    )
    db.session.commit()
    delivery.DELIVERIES.schedule()
    return found.endpoint_id
