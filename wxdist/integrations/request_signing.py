"""How the open API knows a request comes from a key's holder, now, once.

Every request carries four headers:

- `X-Wxdist-Key`: the key's public id (`wxk_…`);
- `X-Wxdist-Timestamp`: Unix seconds; refused more than `WINDOW` seconds from our clock;
- `X-Wxdist-Nonce`: 16 to 64 of `A-Z a-z 0-9 _ -`, never used twice by a key while its
  timestamp is in the window (remembered in `api_nonces`), so a captured request cannot be
  sent again;
- `X-Wxdist-Signature`: `v1=` and the hex HMAC-SHA256, keyed with the secret (`wxsk_…`,
  as UTF-8), of the five lines
  `METHOD \\n PATH[?QUERY as sent] \\n TIMESTAMP \\n NONCE \\n hex SHA-256 of the body`.

Each refusal names its reason (`error.code`): `signature_missing`, `unknown_key`,
`key_revoked`, `stale_timestamp`, `bad_signature`, `replayed_nonce`; then, for the
operation, `wrong_scope` (403) and `rate_limited` (429 with Retry-After).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from limits import RateLimitItemPerMinute
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from wxdist.core.errors import Forbidden, RateLimited, Unauthorized
from wxdist.core.extensions import db
from wxdist.core.rate_limits import app_limiter
from wxdist.integrations import api_keys
from wxdist.models import ApiKey, ApiNonce
from wxdist.models.types import utcnow

WINDOW = 300  # seconds either side of our clock
KEY, TIMESTAMP, NONCE, SIGNATURE = (
    "X-Wxdist-Key", "X-Wxdist-Timestamp", "X-Wxdist-Nonce", "X-Wxdist-Signature",
)  # fmt: skip
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def canonical(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """The bytes a request's signature covers (see the module docstring)."""
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join((method.upper(), path, timestamp, nonce, digest)).encode()


def sign(secret: str | bytes, method: str, path: str, timestamp: str, nonce: str,
         body: bytes) -> str:  # fmt: skip
    """The `X-Wxdist-Signature` value of a request (what a client computes)."""
    key = secret.encode() if isinstance(secret, str) else secret
    mac = hmac.new(key, canonical(method, path, timestamp, nonce, body), hashlib.sha256)
    return "v1=" + mac.hexdigest()


def _refuse(*, code: str, message: str, field: str) -> Unauthorized:
    return Unauthorized(message, code=code, fields={field: message})


@dataclass(frozen=True)
class Caller:
    """The key a request was signed with, as it was when checked."""

    id: int
    key_id: str
    scopes: tuple[str, ...]
    rate_per_minute: int


def verify(headers: Mapping[str, str], method: str, path: str, body: bytes) -> Caller:
    """The key that signed this request, its nonce now spent (committed). Raises
    Unauthorized naming the reason and the header."""
    values = {name: (headers.get(name) or "").strip() for name in (KEY, TIMESTAMP, NONCE,
                                                                   SIGNATURE)}  # fmt: skip
    for name, value in values.items():
        if not value:
            raise _refuse(code="signature_missing", field=name,
                          message=_("the %(header)s header is required", header=name))  # fmt: skip
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_id == values[KEY]))
    if key is None:
        raise _refuse(code="unknown_key", message=_("no such API key"), field=KEY)
    if not key.enabled:
        raise _refuse(code="key_revoked", message=_("this API key was revoked"), field=KEY)
    stamp = values[TIMESTAMP]
    if not _TIMESTAMP.fullmatch(stamp) or abs(int(stamp) - time.time()) > WINDOW:
        message = _("the timestamp is more than %(seconds)s seconds from the server's clock",
                    seconds=WINDOW)  # fmt: skip
        raise _refuse(code="stale_timestamp", message=message, field=TIMESTAMP)
    nonce = values[NONCE]
    if not _NONCE.fullmatch(nonce):
        message = _("the nonce must be 16 to 64 letters, digits, _ or -")
        raise _refuse(code="bad_signature", message=message, field=NONCE)
    wanted = sign(api_keys.secret_of(key), method, path, stamp, nonce, body)
    if not hmac.compare_digest(wanted.encode(), values[SIGNATURE].encode()):
        message = _("the signature does not match the request")
        raise _refuse(code="bad_signature", message=message, field=SIGNATURE)
    caller = Caller(key.id, key.key_id, tuple(key.scopes or ()), key.rate_per_minute)
    _spend(key, nonce)
    return caller


def _spend(key: ApiKey, nonce: str) -> None:
    """Remember the nonce until any timestamp it could be sent with is stale (committed);
    refuse it if the key used it within that time. The key's `last_used_at` (kept to the
    minute) is written first: the nonce's foreign key takes a shared lock on the key's row,
    and two requests each holding one while updating the row would deadlock."""
    now = utcnow()
    if key.last_used_at is None or key.last_used_at < now - timedelta(minutes=1):
        db.session.execute(
            update(ApiKey)
            .where(ApiKey.id == key.id)
            .where(or_(ApiKey.last_used_at.is_(None),
                       ApiKey.last_used_at < now - timedelta(minutes=1)))
            .values(last_used_at=now)
        )  # fmt: skip
    row = {"api_key_id": key.id, "nonce": nonce, "expires_at": now + timedelta(seconds=2 * WINDOW)}
    try:
        db.session.execute(insert(ApiNonce).values(**row))
    except IntegrityError:
        db.session.rollback()
        # Used before: a replay, unless that use is past its window (not purged yet).
        gone = db.session.execute(
            delete(ApiNonce).where(
                ApiNonce.api_key_id == key.id, ApiNonce.nonce == nonce, ApiNonce.expires_at < now
            )
        ).rowcount
        if not gone:
            db.session.rollback()
            message = _("this nonce was already used")
            raise _refuse(code="replayed_nonce", message=message, field=NONCE) from None
        db.session.execute(insert(ApiNonce).values(**row))
    db.session.commit()


def require_scope(key: Caller, scope: str) -> None:
    """Raises Forbidden `wrong_scope` unless the key has `scope`."""
    if scope not in key.scopes:
        raise Forbidden(
            _("this API key does not have the %(scope)s scope", scope=scope), code="wrong_scope"
        )


def count_request(key: Caller) -> None:
    """Count one request of the key's per-minute rate. Raises RateLimited past it."""
    limit = RateLimitItemPerMinute(key.rate_per_minute)
    limiter = app_limiter("open_api")
    name = f"open-api:{key.key_id}"
    if not limiter.hit(limit, name):
        wait = max(1, int(limiter.reset_at(limit, name) - time.time()) + 1)
        raise RateLimited(_("too many requests for this API key; try again later"),
                          retry_after=wait)  # fmt: skip


def purge() -> int:
    """Forget spent nonces past their window (committed); how many."""
    gone = db.session.execute(delete(ApiNonce).where(ApiNonce.expires_at < utcnow())).rowcount
    db.session.commit()
    return int(gone or 0)
