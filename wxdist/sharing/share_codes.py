"""Share codes: one short scene per (distributor, optional product, optional channel tag).

The scene is "s" + 11 base-62 characters of an HMAC (keyed by SECRET_KEY) of the inputs:
12 characters, far under the 32 that `getwxacodeunlimit` takes, and nothing a shopper can
forge into another distributor's code. The same inputs always give the same code: the row
is looked up by its unique (distributor, product, channel) key first and created with an
INSERT that ignores a concurrent twin; a hash collision with another key (odds about 1 in
2^64 per pair) moves on to the next attempt, caught by the unique scene.

Each code counts its scans (the page reports it), opens (a login or bind arrives with the
scene) and binds, with atomic `UPDATE … SET n = n + 1`; who it brought is recorded on
`referral_bindings.share_code_id`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import string

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from wxdist.core.errors import ApiError, Forbidden, NotFound
from wxdist.core.extensions import db
from wxdist.core.ids import in_base
from wxdist.core.sql import insert_ignore
from wxdist.distribution.distributors import is_active_distributor
from wxdist.marketing.templates import shareable_template
from wxdist.models import Product, ShareCode
from wxdist.models.share import CHANNEL_MAX, SCENE_MAX
from wxdist.models.types import utcnow

SCENE_PREFIX = "s"
_B62 = string.digits + string.ascii_letters
_HASH_CHARS = 11  # 62**11 > 2**64
SCENE_LENGTH = len(SCENE_PREFIX) + _HASH_CHARS
CHANNEL_PATTERN = r"^[a-z][a-z0-9_]{0,15}$"  # group, moments, live, offline, ...
_CHANNEL_RE = re.compile(CHANNEL_PATTERN)
_MAX_ATTEMPTS = 8
COUNTERS = ("scans", "opens", "binds", "claims")

assert SCENE_LENGTH <= SCENE_MAX


def make_scene(
    distributor_id: int,
    product_id: int | None,
    channel: str,
    attempt: int = 0,
    coupon_template_id: int | None = None,
) -> str:
    """The scene for these inputs (attempt > 0 only after a collision). Always 12 chars.
    A code without a coupon keeps the scene it had before codes could carry one."""
    coupon = f":c{coupon_template_id}" if coupon_template_id else ""
    message = f"{distributor_id}:{product_id or 0}:{channel}:{attempt}{coupon}".encode()
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return SCENE_PREFIX + in_base(int.from_bytes(digest[:8], "big"), _B62).rjust(_HASH_CHARS, "0")


def is_share_scene(scene: str) -> bool:
    return (
        len(scene) == SCENE_LENGTH
        and scene.startswith(SCENE_PREFIX)
        and all(c in _B62 for c in scene[1:])
    )


def check_channel(channel: str | None) -> str:
    """ "" for none, else a lower-case tag. Raises ApiError naming `channel`."""
    channel = (channel or "").strip()
    if channel and not _CHANNEL_RE.match(channel):
        raise ApiError(
            _("invalid channel tag"),
            code="invalid",
            fields={
                "channel": _(
                    "lower-case letters, digits and _, at most %(count)s", count=CHANNEL_MAX
                )
            },
        )
    return channel


def check_sharable_product(product_id: int | None) -> Product | None:
    """The on-shelf product a code may point at. Raises NotFound naming `product_id`."""
    if product_id is None:
        return None
    product = db.session.get(Product, product_id)
    if product is None or not product.on_shelf:
        raise NotFound(_("no such product on shelf"), fields={"product_id": _("not found")})
    return product


def get_or_create(
    distributor_id: int,
    product_id: int | None,
    channel: str = "",
    coupon_template_id: int | None = None,
) -> ShareCode:
    """The distributor's code for (product, channel, coupon it carries), created on first
    use; commits.

    Raises Forbidden unless the user is an approved distributor, NotFound for a product not
    on shelf, ApiError for a malformed channel, NotFound / Conflict `not_shareable` for a
    coupon template that is not open to distributors' shares.
    """
    channel = check_channel(channel)
    if not is_active_distributor(distributor_id):
        raise Forbidden(_("only approved distributors can share"), code="not_distributor")
    check_sharable_product(product_id)
    if coupon_template_id is not None:
        shareable_template(coupon_template_id)
    row = _find(distributor_id, product_id, channel, coupon_template_id)
    if row is not None:
        return row
    for attempt in range(_MAX_ATTEMPTS):
        insert_ignore(
            ShareCode.__table__,
            scene=make_scene(distributor_id, product_id, channel, attempt, coupon_template_id),
            distributor_id=distributor_id,
            product_id=product_id,
            product_key=product_id or 0,
            channel=channel,
            coupon_template_id=coupon_template_id,
            coupon_key=coupon_template_id or 0,
            scans=0,
            opens=0,
            binds=0,
            claims=0,
            created_at=utcnow(),
        )
        db.session.commit()
        row = _find(distributor_id, product_id, channel, coupon_template_id)
        if row is not None:  # ours, or a concurrent twin's: the same code either way
            return row
    raise RuntimeError("could not allocate a share code scene")  # 1 in 2**(64*8)


def _find(
    distributor_id: int, product_id: int | None, channel: str, coupon_template_id: int | None
) -> ShareCode | None:
    return db.session.scalar(
        select(ShareCode).where(
            ShareCode.distributor_id == distributor_id,
            ShareCode.product_key == (product_id or 0),
            ShareCode.channel == channel,
            ShareCode.coupon_key == (coupon_template_id or 0),
        )
    )


def find_by_scene(scene: str) -> ShareCode | None:
    scene = scene.strip()
    if not is_share_scene(scene):
        return None
    return db.session.scalar(select(ShareCode).where(ShareCode.scene == scene))


def count(share_code_id: int, counter: str) -> None:
    """Add one to a counter (`scans`, `opens`, `binds`) in the caller's transaction."""
    if counter not in COUNTERS:
        raise ValueError(counter)
    column = getattr(ShareCode, counter)
    db.session.execute(
        update(ShareCode).where(ShareCode.id == share_code_id).values({counter: column + 1})
    )


def record_scan(scene: str) -> ShareCode | None:
    """The page opened from a code reports it (anonymous); commits. None: unknown scene."""
    row = find_by_scene(scene)
    if row is None:
        return None
    count(row.id, "scans")
    db.session.commit()
    return row


def codes_of(distributor_id: int, page: int, per_page: int) -> tuple[list[ShareCode], int]:
    """The distributor's codes, newest first, with their counters."""
    where = ShareCode.distributor_id == distributor_id
    total = db.session.scalar(select(func.count()).select_from(ShareCode).where(where)) or 0
    rows = db.session.scalars(
        select(ShareCode)
        .where(where)
        .order_by(ShareCode.created_at.desc(), ShareCode.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(rows), total


def totals_by_channel(distributor_id: int | None = None) -> list[dict[str, int | str]]:
    """Scans, opens and binds summed per channel (one distributor, or everyone)."""
    query = select(
        ShareCode.channel,
        func.count(),
        func.coalesce(func.sum(ShareCode.scans), 0),
        func.coalesce(func.sum(ShareCode.opens), 0),
        func.coalesce(func.sum(ShareCode.binds), 0),
    ).group_by(ShareCode.channel)
    if distributor_id is not None:
        query = query.where(ShareCode.distributor_id == distributor_id)
    return [
        {"channel": c, "codes": int(n), "scans": int(s), "opens": int(o), "binds": int(b)}
        for c, n, s, o, b in db.session.execute(query.order_by(ShareCode.channel))
    ]
