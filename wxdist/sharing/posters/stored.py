"""The fast path of a poster request: every input of a stored poster read in one statement
(built and compiled once), and what it found trusted for POSTER_RECHECK_SECONDS in this
process. Finding nothing is no error: the caller takes the full path (`serving`).
"""

from __future__ import annotations

import os
import time
from typing import Any

from flask import current_app
from sqlalchemy import and_, bindparam, literal_column, select

from wxdist.catalog.face import (
    facts_from_row,
    first_image_column,
    lowest_price_column,
)
from wxdist.core.extensions import db
from wxdist.core.media import LocalDirStorage, storage
from wxdist.models import (
    Distributor,
    DistributorStatus,
    PosterTemplateRecord,
    Product,
    ShareCode,
    User,
)
from wxdist.sharing import wxacode
from wxdist.sharing.posters.inputs import PosterInputs
from wxdist.sharing.posters.serving import Poster
from wxdist.sharing.posters.template_store import template_from_record
from wxdist.sharing.posters.templates import kind_for

_FAST_QUERY: Any = None
_RECENT_MAX = 10_000


def _fast_query() -> Any:
    """Every input of a stored poster in one statement (built once, compiled once)."""
    global _FAST_QUERY
    if _FAST_QUERY is None:
        template = (
            select(PosterTemplateRecord.data)
            .where(PosterTemplateRecord.kind == bindparam("kind"))
            .scalar_subquery()
        )
        _FAST_QUERY = (
            select(
                User.token_version,
                User.nickname,
                User.avatar_url,
                Distributor.status,
                ShareCode.scene,
                Product.id,
                Product.title,
                Product.on_shelf,
                lowest_price_column(),
                first_image_column(),
                template,
            )
            .select_from(User)
            .join(Distributor, Distributor.user_id == User.id)
            .join(
                ShareCode,
                and_(
                    ShareCode.distributor_id == User.id,
                    ShareCode.product_key == bindparam("product_key"),
                    ShareCode.channel == bindparam("channel"),
                ),
            )
            .outerjoin(Product, Product.id == ShareCode.product_key)
            .where(User.id == bindparam("user_id"))
            .limit(literal_column("1"))
        )
    return _FAST_QUERY


def stored_poster(
    user_id: int, token_version: object, product_id: int | None, channel: str
) -> Poster | None:
    """The stored poster, found with one query, when everything is as it was when it was
    drawn: the token's version is current, the user an approved distributor with a code
    for (product, channel), the product on shelf, and a poster with these inputs stored.
    None otherwise: the caller takes the full path, which says what is wrong or draws.

    What that query found is trusted for POSTER_RECHECK_SECONDS (2 by default; 0: every
    request asks the database) in this process: a change of product, name, avatar,
    template or a revoked token shows in the poster served within that time.
    """
    config = current_app.config
    ttl = float(config.get("POSTER_RECHECK_SECONDS", 0))
    recent: dict[tuple[Any, ...], tuple[float, Poster]] = current_app.extensions.setdefault(
        "wxdist_recent_posters", {}
    )
    memo = (config["MEDIA_DIR"], user_id, token_version, product_id, channel)
    if ttl > 0:
        hit = recent.get(memo)
        if hit is not None and hit[0] > time.monotonic():
            poster = hit[1]
            if poster.path is None or os.path.isfile(poster.path):
                return poster
    poster = _stored_poster(user_id, token_version, product_id, channel)
    # Only a local file's path is remembered: from object storage the poster comes as its
    # bytes, and 10,000 of those would hold about a gigabyte in each process.
    if ttl > 0 and poster is not None and poster.jpeg is None:
        if len(recent) >= _RECENT_MAX:
            recent.clear()
        recent[memo] = (time.monotonic() + ttl, poster)
    return poster


def _stored_poster(
    user_id: int, token_version: object, product_id: int | None, channel: str
) -> Poster | None:
    kind = kind_for(product_id)
    row = (
        db.session.connection()
        .execute(  # Core: no ORM layer for plain columns
            _fast_query(),
            {
                "user_id": user_id,
                "product_key": product_id or 0,
                "channel": channel,
                "kind": kind,
            },
        )
        .first()
    )
    if (
        row is None
        or row[0] != token_version
        or row[3] != DistributorStatus.APPROVED
        or (product_id is not None and (row[5] is None or not row[7]))
    ):
        return None
    inputs = PosterInputs(
        template=template_from_record(kind, row[10]),
        code=wxacode.spec_for(row[4]),
        nickname=row[1] or "",
        avatar_url=row[2] or "",
        product=facts_from_row(row[5], row[6], row[8], row[9]) if product_id is not None else None,
    )
    key = inputs.content_key()
    store = storage()
    if isinstance(store, LocalDirStorage):
        path = store.path(key)
        return Poster(key, None, row[4], True, str(path)) if path.is_file() else None
    jpeg = store.get(key)
    return Poster(key, jpeg, row[4], True) if jpeg is not None else None
