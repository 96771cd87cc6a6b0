"""Endpoints' signing secrets: `whsec_` and 24 random bytes in base64, as Standard Webhooks
writes them; sealed at rest (`core.sealing`) and shown to staff once, when made.

A rotation makes a new secret and lets the old ones sign on for `ROTATION_OVERLAP` (every
live secret signs each attempt), so a receiver can switch keys without missing a message.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from wxdist.core import sealing
from wxdist.core.extensions import db
from wxdist.models import WebhookSecret
from wxdist.models.types import utcnow

PURPOSE = "webhook-secret"
PREFIX = "whsec_"
ROTATION_OVERLAP = timedelta(hours=24)


def make(endpoint_id: int) -> str:
    """Add a new secret to the endpoint (not committed) and return it: the one time it is
    readable in full."""
    secret = PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()
    db.session.add(
        WebhookSecret(
            endpoint_id=endpoint_id,
            sealed=sealing.seal(PURPOSE, secret.encode()),
            hint=secret[-4:],
        )
    )
    return secret


def rotate(endpoint_id: int, overlap: timedelta = ROTATION_OVERLAP) -> str:
    """A new secret for the endpoint; its current ones sign on for `overlap` more (0: stop
    now, for a leaked secret). Not committed. Returns the new secret."""
    ends = utcnow() + overlap
    db.session.execute(
        update(WebhookSecret)
        .where(
            WebhookSecret.endpoint_id == endpoint_id,
            or_(WebhookSecret.expires_at.is_(None), WebhookSecret.expires_at > ends),
        )
        .values(expires_at=ends)
    )
    return make(endpoint_id)


def _live(endpoint_id: int) -> tuple[Any, ...]:
    return (
        WebhookSecret.endpoint_id == endpoint_id,
        or_(WebhookSecret.expires_at.is_(None), WebhookSecret.expires_at > utcnow()),
    )


def live(endpoint_id: int) -> list[str]:
    """The endpoint's secrets that sign now, newest first. Raises ValueError when one
    cannot be unsealed (DATA_ENCRYPTION_KEY changed)."""
    sealed = db.session.scalars(
        select(WebhookSecret.sealed).where(*_live(endpoint_id)).order_by(WebhookSecret.id.desc())
    )
    return [sealing.unseal(PURPOSE, token).decode() for token in sealed]


def hints(endpoint_id: int) -> list[tuple[str, datetime | None]]:
    """(last characters, expires_at) of the endpoint's live secrets, for the panel."""
    return [
        (row.hint, row.expires_at)
        for row in db.session.scalars(
            select(WebhookSecret).where(*_live(endpoint_id)).order_by(WebhookSecret.id.desc())
        )
    ]
