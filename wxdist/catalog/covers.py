"""A product's cover: the URL of its first picture (by `sort`, then id), kept on the product
row (`products.cover_url`, '' without a picture) so the cart, orders, posters and flash
sales read it with the product instead of a subquery per row (MariaDB spent ~80 µs of a
cart checkout's server CPU on that subquery for three lines).

Kept by a flush listener, in the flush's transaction: every ORM write of pictures (added,
moved, deleted, a product's list replaced) rewrites the cover of the products concerned
from their pictures as flushed. Code that writes `product_images` with bulk SQL (the
benches' seeds, migrations) sets `cover_url` itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, func, inspect, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from wxdist.catalog import flushes
from wxdist.models import Product, ProductImage

_products, _images = Product.__table__, ProductImage.__table__
INFO_KEY = "wxdist_covers"

FIRST_PICTURE = (
    select(_images.c.url)
    .where(_images.c.product_id == _products.c.id)
    .order_by(_images.c.sort, _images.c.id)
    .limit(1)
    .scalar_subquery()
)
_REFRESH = (
    update(_products)
    .where(_products.c.id.in_(bindparam("ids", expanding=True)))
    .values(cover_url=func.coalesce(FIRST_PICTURE, ""))
)
_READ = select(_products.c.id, _products.c.cover_url).where(
    _products.c.id.in_(bindparam("ids", expanding=True))
)


def refresh_covers(conn: Connection, product_ids: Iterable[int]) -> dict[int, str]:
    """Rewrite these products' covers from their pictures; returns them by product."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    conn.execute(_REFRESH, {"ids": ids})
    return {int(row[0]): row[1] for row in conn.execute(_READ, {"ids": ids})}


def _pictured(session: Session) -> set[int]:
    """The products whose pictures this flush wrote."""
    ids: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, ProductImage):
            ids.add(obj.product_id)
            ids.update(old for old in inspect(obj).attrs.product_id.history.deleted or ())
        elif isinstance(obj, Product) and inspect(obj).attrs.images.history.has_changes():
            ids.add(obj.id)
    ids.discard(None)  # type: ignore[arg-type]
    return ids


def _after_flush(session: Session, _context: Any) -> None:
    ids = _pictured(session)
    if ids:
        covers = refresh_covers(session.connection(), ids)
        session.info.setdefault(INFO_KEY, {}).update(covers)


def _after_flush_postexec(session: Session, _context: Any) -> None:
    """Loaded products see the cover just written (no reload, no stale value)."""
    for product_id, cover in (session.info.pop(INFO_KEY, None) or {}).items():
        loaded = session.identity_map.get(
            inspect(Product).identity_key_from_primary_key([product_id])
        )
        if loaded is not None:
            set_committed_value(loaded, "cover_url", cover)


def connect() -> None:
    """Listen to every ORM flush (idempotent)."""
    flushes.listen(_after_flush, _after_flush_postexec)
