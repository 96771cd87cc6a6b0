"""Webhook delivery: a drain job (`wxdist.core.drains`) claims due deliveries a batch at a
time with a lease (FOR UPDATE SKIP LOCKED, so two workers never send one at once), sends
them concurrently (one slow endpoint does not hold the batch), and writes the batch's
outcomes in one transaction:

- 2xx: succeeded;
- 410 Gone: the endpoint is disabled (`disabled_reason` "gone") and its pending
  deliveries, this one included, fail: the receiver said it is no more;
- anything else (another status, a timeout after `WEBHOOK_TIMEOUT_SECONDS`, a refused
  connection): tried again after `BACKOFF[attempt]` seconds give or take 20 % (or after
  the response's `Retry-After`, when later), nine retries over about three days; then it
  fails, and staff can replay it from the panel.

Each attempt is signed afresh (Standard Webhooks: `webhook-timestamp` now, one `v1,`
signature per live secret of the endpoint), under the event's one `webhook-id`. A worker
lost mid-batch leaves its deliveries leased: once the lease (`WEBHOOK_LEASE_SECONDS`) ends
they are due again and the sweep schedules a drain, so the receiver may see one message
twice, with the same `webhook-id` to tell.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from flask import current_app
from sqlalchemy import and_, insert, or_, select, update
from standardwebhooks import Webhook

from wxdist.core.drains import Drain
from wxdist.core.extensions import db
from wxdist.integrations import webhook_secrets
from wxdist.models import (
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from wxdist.models.types import utcnow

log = logging.getLogger(__name__)

DELIVERIES = Drain("webhooks", "jobs.webhooks.deliver_due", helpers=1)
BATCH = 50
SENDERS = 16  # concurrent requests per batch
# Seconds before retry n (after attempt n failed): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
# 14 h, 20 h, 20 h: ~71.6 h after the first attempt.
BACKOFF = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 72000)
JITTER = 0.2
MAX_RETRY_AFTER_SECONDS = 86400
GONE = 410
USER_AGENT = "wxdist-webhooks/1"
PLAIN = {"synchronize_session": False}


@dataclass(frozen=True)
class Claimed:
    id: int
    endpoint_id: int
    url: str
    message_id: str
    body: str
    attempt: int  # this attempt's number, 1 for the first
    lease: datetime  # the lease this worker holds: its outcome is written only under it


@dataclass(frozen=True)
class Outcome:
    status: int | None  # the HTTP status, None without an answer
    error: str = ""
    response: str = ""
    milliseconds: int = 0
    retry_after: float | None = None  # seconds the receiver asked us to wait

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _due(now: datetime) -> tuple[Any, ...]:
    """Pending, its time come, not leased, and its endpoint on: a delivery written while
    the endpoint was being turned off waits for it to come back on."""
    return (
        WebhookDelivery.state == DeliveryState.PENDING,
        WebhookDelivery.next_attempt_at <= now,
        or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
        WebhookDelivery.endpoint_id.in_(
            select(WebhookEndpoint.id).where(WebhookEndpoint.enabled.is_(True))
        ),
    )


def is_due() -> bool:
    return db.session.scalar(select(WebhookDelivery.id).where(*_due(utcnow())).limit(1)) is not None


def claim(limit: int = BATCH) -> list[Claimed]:
    """Lease up to `limit` due deliveries to this worker (committed), oldest first."""
    now = utcnow()
    ids = list(
        db.session.scalars(
            select(WebhookDelivery.id)
            .where(*_due(now))
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        db.session.rollback()
        return []
    config = current_app.config
    lease = now + timedelta(
        seconds=config["WEBHOOK_LEASE_SECONDS"] + 2 * config["WEBHOOK_TIMEOUT_SECONDS"]
    )
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids))
        .values(lease_until=lease, attempts=WebhookDelivery.attempts + 1),
        execution_options=PLAIN,
    )
    rows = db.session.execute(
        select(
            WebhookDelivery.id, WebhookDelivery.endpoint_id, WebhookEndpoint.url,
            WebhookEvent.message_id, WebhookEvent.body, WebhookDelivery.attempts,
        )
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id.in_(ids))
        .order_by(WebhookDelivery.id)
    ).all()  # fmt: skip
    db.session.commit()
    return [Claimed(*row, lease=lease) for row in rows]


def headers(claimed: Claimed, signers: Sequence[Webhook], at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt: every live secret signs."""
    return {
        "webhook-id": claimed.message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(
            signer.sign(claimed.message_id, at, claimed.body) for signer in signers
        ),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


_local = threading.local()


def _http() -> requests.Session:
    """A keep-alive session per sending thread."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def send(claimed: Claimed, signers: Sequence[Webhook], timeout: float) -> Outcome:
    """POST one attempt; never raises for what the receiver or the network does."""
    started = time.monotonic()
    try:
        answer = _http().post(
            claimed.url, data=claimed.body.encode(), timeout=timeout, allow_redirects=False,
            headers=headers(claimed, signers, utcnow()),
        )  # fmt: skip
    except requests.Timeout:
        return Outcome(None, "timeout", milliseconds=_since(started))
    except requests.RequestException as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:255], milliseconds=_since(started))
    return Outcome(
        answer.status_code, "" if 200 <= answer.status_code < 300 else f"HTTP {answer.status_code}",
        answer.text[:500], _since(started), retry_after(answer.headers.get("retry-after")),
    )  # fmt: skip


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def retry_after(value: str | None) -> float | None:
    """Seconds asked for by a `Retry-After` (delay-seconds or an HTTP date), capped at a
    day; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(int(value))
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError, IndexError):
            return None
    return max(0.0, min(seconds, MAX_RETRY_AFTER_SECONDS))


def next_attempt(attempt: int, outcome: Outcome, now: datetime) -> datetime | None:
    """When to try again after failed attempt number `attempt`; None: give up."""
    if attempt > len(BACKOFF):
        return None
    wait = BACKOFF[attempt - 1] * random.uniform(1 - JITTER, 1 + JITTER)
    if outcome.retry_after is not None:
        wait = max(wait, outcome.retry_after)
    return now + timedelta(seconds=wait)


def deliver_batch() -> int:
    """Claim, send and record one batch; how many deliveries were claimed."""
    claimed = claim()
    if not claimed:
        return 0
    signers = {
        endpoint_id: [Webhook(secret) for secret in webhook_secrets.live(endpoint_id)]
        for endpoint_id in {c.endpoint_id for c in claimed}
    }
    db.session.rollback()  # no transaction held open while sending
    timeout = float(current_app.config["WEBHOOK_TIMEOUT_SECONDS"])
    with ThreadPoolExecutor(max_workers=min(SENDERS, len(claimed))) as pool:
        outcomes = list(pool.map(lambda c: send(c, signers[c.endpoint_id], timeout), claimed))
    record(list(zip(claimed, outcomes, strict=True)))
    return len(claimed)


def record(results: list[tuple[Claimed, Outcome]]) -> None:
    """Write a batch's outcomes and attempts in one transaction, each only under the lease
    it was sent with (a delivery whose lease ended and another worker took is left alone)."""
    now = utcnow()
    gone: set[int] = set()
    for claimed, outcome in results:
        values: dict[str, Any] = {"lease_until": None, "last_status": outcome.status,
                                  "last_error": outcome.error}  # fmt: skip
        if outcome.ok:
            values.update(state=DeliveryState.SUCCEEDED, delivered_at=now)
        elif outcome.status == GONE:
            values.update(state=DeliveryState.FAILED)
            gone.add(claimed.endpoint_id)
        else:
            retry = next_attempt(claimed.attempt, outcome, now)
            if retry is None:
                values.update(state=DeliveryState.FAILED)
            else:
                values.update(next_attempt_at=retry)
        db.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == claimed.id,
                WebhookDelivery.state == DeliveryState.PENDING,
                WebhookDelivery.lease_until == claimed.lease,
            )
            .values(**values),
            execution_options=PLAIN,
        )
    db.session.execute(
        insert(WebhookAttempt),
        [
            {"delivery_id": c.id, "attempted_at": now, "status": o.status, "error": o.error,
             "response": o.response, "milliseconds": o.milliseconds}
            for c, o in results
        ],
    )  # fmt: skip
    for endpoint_id in sorted(gone):
        disable(endpoint_id, "gone")
    db.session.commit()


def disable(endpoint_id: int, reason: str) -> None:
    """Disable the endpoint and fail its pending deliveries (not committed)."""
    db.session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .values(enabled=False, disabled_reason=reason),
        execution_options=PLAIN,
    )
    db.session.execute(
        update(WebhookDelivery)
        .where(
            and_(
                WebhookDelivery.endpoint_id == endpoint_id,
                WebhookDelivery.state == DeliveryState.PENDING,
            )
        )
        .values(state=DeliveryState.FAILED, lease_until=None, last_error=f"endpoint {reason}"),
        execution_options=PLAIN,
    )


def drain(helper_slot: int = 0) -> int:
    """The drain job's work: deliver every due delivery, a batch at a time."""
    return DELIVERIES.run(deliver_batch, is_due, BATCH, helper_slot)


def sweep() -> int:
    """Periodic: start a drain for what came due by time (a retry's backoff passed, a lost
    worker's lease ended). Inline (no Redis), deliver it here. Returns how many deliveries
    this call sent (0 on RQ, where the drain sends them)."""
    due = is_due()
    db.session.rollback()
    if not due or DELIVERIES.schedule():
        return 0
    sent = 0
    while claimed := deliver_batch():
        sent += claimed
    return sent
