"""Write requests of the open API are applied once per (key, request id).

`claim` inserts the request's row first thing in its transaction: a second request with
the same id waits on that row's unique key until the first commits (then gets its stored
answer) or rolls back (then applies itself). A failed request leaves no row, so its retry
applies; a request id sent again with another body or operation is refused.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from wxdist.core.errors import ApiError, Conflict
from wxdist.core.extensions import db
from wxdist.models import ApiRequest
from wxdist.models.types import utcnow

REQUEST_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
KEPT_DAYS = 7
PENDING = 0


def check_request_id(request_id: str) -> None:
    """Raises ApiError naming `request_id` unless it is 1 to 64 of `A-Z a-z 0-9 _ . : -`."""
    if not REQUEST_ID.fullmatch(request_id or ""):
        raise ApiError(
            _("the request id is invalid"),
            code="invalid",
            fields={"request_id": _("1 to 64 letters, digits, _ . : or -")},
        )


def claim(key_pk: int, request_id: str, operation: str, body: bytes) -> tuple[int, Any] | None:
    """Claim the request id in the session's transaction (flushed, not committed): None
    when this request is the first to use it, else the stored (status, answer) of the one
    that did (after rolling back). Raises Conflict `request_id_reused` when that one had
    another operation or body."""
    digest = hashlib.sha256(body).hexdigest()
    row = ApiRequest(api_key_id=key_pk, request_id=request_id, operation=operation,
                     body_sha256=digest, status=PENDING, response="")  # fmt: skip
    db.session.add(row)
    try:
        db.session.flush()
        return None
    except IntegrityError:
        db.session.rollback()
    done = db.session.execute(
        select(ApiRequest.operation, ApiRequest.body_sha256, ApiRequest.status,
               ApiRequest.response)
        .where(ApiRequest.api_key_id == key_pk, ApiRequest.request_id == request_id)
    ).one()  # fmt: skip
    db.session.rollback()
    if (done.operation, done.body_sha256) != (operation, digest):
        raise Conflict(
            _("this request id was used for another request"),
            code="request_id_reused",
            fields={"request_id": _("already used for another request")},
        )
    return done.status, json.loads(done.response)


def answer(key_pk: int, request_id: str, status: int, response: Any) -> None:
    """Store the claimed request's answer in its transaction (the caller commits)."""
    db.session.execute(
        update(ApiRequest)
        .where(ApiRequest.api_key_id == key_pk, ApiRequest.request_id == request_id)
        .values(status=status, response=json.dumps(response, ensure_ascii=False))
    )


def purge() -> int:
    """Forget answers older than KEPT_DAYS (committed); how many."""
    cut = utcnow() - timedelta(days=KEPT_DAYS)
    gone = db.session.execute(delete(ApiRequest).where(ApiRequest.created_at < cut)).rowcount
    db.session.commit()
    return int(gone or 0)
