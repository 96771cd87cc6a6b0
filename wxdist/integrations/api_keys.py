"""The open API's keys: made by the owner in the panel, each with scopes and a rate.

A key is a public id (`wxk_…`, sent with every request) and a secret (`wxsk_…`) that signs
requests (wxdist.integrations.request_signing). The secret is shown once, when made. It is
kept sealed (`core.sealing`), not hashed: checking an HMAC needs the key itself, so a
one-way hash could not verify a signature; sealed, a copy of the database alone neither
shows it nor lets anyone sign.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from wxdist.core import sealing
from wxdist.core.errors import ApiError, NotFound
from wxdist.core.extensions import db
from wxdist.models import ApiKey
from wxdist.models.types import utcnow

PURPOSE = "open-api-key"
API_PREFIX = "/open/v1"  # where the open API is served (wxdist.open_api)
KEY_PREFIX, SECRET_PREFIX = "wxk_", "wxsk_"

# What a key may do; an operation names the one it needs.
SCOPES = {
    "orders:read": _l("read orders"),
    "shipments:write": _l("create shipments"),
    "stock:write": _l("set stock"),
    "products:read": _l("read products"),
}
MAX_RATE_PER_MINUTE = 6000


@dataclass(frozen=True)
class Made:
    key: ApiKey
    secret: str  # the only time it is readable


def create(name: str, scopes: list[str], rate_per_minute: int, staff_id: int | None) -> Made:
    """A new key (committed). Raises ApiError naming `name`, `scopes` or `rate_per_minute`."""
    name = name.strip()
    errors: dict[str, str] = {}
    if not 1 <= len(name) <= 64:
        errors["name"] = _("from %(low)s to %(high)s characters", low=1, high=64)
    if not scopes or any(s not in SCOPES for s in scopes):
        errors["scopes"] = _("choose at least one of the listed scopes")
    if not 1 <= rate_per_minute <= MAX_RATE_PER_MINUTE:
        errors["rate_per_minute"] = _("from %(low)s to %(high)s", low=1, high=MAX_RATE_PER_MINUTE)
    if errors:
        raise ApiError(_("the key is incomplete or wrong"), fields=errors)
    secret = SECRET_PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    key = ApiKey(
        key_id=KEY_PREFIX + secrets.token_hex(12),
        name=name,
        secret_sealed=sealing.seal(PURPOSE, secret.encode()),
        secret_hint=secret[-4:],
        scopes=sorted(set(scopes)),
        rate_per_minute=rate_per_minute,
        created_by=staff_id,
    )
    db.session.add(key)
    db.session.commit()
    return Made(key, secret)


def secret_of(key: ApiKey) -> bytes:
    return sealing.unseal(PURPOSE, key.secret_sealed)


def revoke(key_pk: int) -> None:
    """Revoke a key for good: its requests are refused from now on (committed)."""
    key = db.session.get(ApiKey, key_pk)
    if key is None:
        raise NotFound(_("No such API key"))
    if key.revoked_at is None:
        key.enabled, key.revoked_at = False, utcnow()
    db.session.commit()
