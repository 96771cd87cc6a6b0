"""An order's lines as placing (or previewing) it reads them: the quantities merged by SKU,
each SKU's catalogue row, the user's token version and the held coupon, in one query.

The columns (`sku_line_columns`) and their FROM (`sku_line_join`) are shared with the cart,
which reads its lines with them so that checking out reads them once (`LinesRead`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import FromClause, Select, Subquery, Table, bindparam, select, true

from wxdist.accounts.auth import TokenClaims, check_claims
from wxdist.core.errors import Conflict, Unauthorized
from wxdist.core.extensions import db
from wxdist.models import Product, Sku, User
from wxdist.shop import offers

MAX_QUANTITY = 999


@dataclass(frozen=True)
class LineRequest:
    sku_id: int
    quantity: int


_skus, _products, _users = Sku.__table__, Product.__table__, User.__table__
# The token's user, joined once to every line (`sku_line_join`): its token version, and when
# staff blocked it (None if not), so placing an order refuses a revoked token or a blocked
# user in the order's transaction from the rows this query read (`create_order`).
_user_on = _users.c.id == bindparam("user_id")


def sku_line_columns(held: Subquery | None = None) -> tuple[Any, ...]:
    """The columns an order reads of each SKU: the SKU (`id` is its id), its product and
    its cover (first picture) as `image_url`, the user's token version and block time; with
    `held` (the offer source's coupon query, at most one row) its columns labelled
    `offers.HELD` + name. The cart reads its lines with these, so a checkout reads them once
    (see `LinesRead`)."""
    extra = () if held is None else tuple(c.label(offers.HELD + c.name) for c in held.c)
    return (
        _skus.c.id,
        _skus.c.name,
        _skus.c.price_fen,
        _skus.c.is_active,
        _skus.c.weight_g,
        _skus.c.stock,
        _products.c.id.label("product_id"),
        _products.c.shipping_template_id,
        _products.c.category_id,
        _products.c.title,
        _products.c.on_shelf,
        _products.c.cover_url.label("image_url"),
        _users.c.token_version,
        _users.c.blocked_at,
        *extra,
    )


def sku_line_join(
    held: Subquery | None = None, source: Table = _skus, source_on: Any = None
) -> FromClause:
    """The FROM of `sku_line_columns`: `source` (the SKUs themselves, or a table of SKU
    ids joined to them `source_on`) to the products, and the token's user (parameter
    `user_id`, one row at most) LEFT JOINed to every row; with `held` LEFT JOINed to
    `source` on every row (it has one row at most; joined to a table, not a join, so
    SQLAlchemy's FROM linter sees it connected)."""
    joined: FromClause = source if held is None else source.outerjoin(held, true())
    if source_on is not None:
        joined = joined.join(_skus, source_on)
    return joined.join(_products, _skus.c.product_id == _products.c.id).outerjoin(_users, _user_on)


@cache
def _order_lines(held: Subquery | None = None) -> Select[Any]:
    """The statement reading an order's SKUs (`sku_line_columns`) by id."""
    return (
        select(*sku_line_columns(held))
        .select_from(sku_line_join(held))
        .where(_skus.c.id.in_(bindparam("sku_ids", expanding=True)))
    )


@dataclass(frozen=True)
class LinesRead:
    """An order's lines as read: quantities merged by SKU, each SKU's first position in the
    request (for the field names of refusals) and its row (`sku_line_columns`)."""

    merged: dict[int, int]
    positions: dict[int, int]
    found: dict[int, Any]


_TOKEN_VERSION = select(_users.c.token_version).where(_user_on)


def read_lines(
    claims: TokenClaims, lines: list[LineRequest], coupon_id: int | None = None
) -> LinesRead:
    """The order's lines merged by SKU (sku → quantity, sku → first line's position) and
    their catalogue rows (sku → row), with the token checked against its user in the same
    query, and with `coupon_id` the offer source's columns of that coupon in each row
    (`OfferSource.held_coupon_query`). Raises Conflict `too_many`, `not_for_sale`,
    Unauthorized (see create_order); rolls back first."""
    merged: dict[int, int] = {}
    positions: dict[int, int] = {}
    for index, line in enumerate(lines):
        merged[line.sku_id] = merged.get(line.sku_id, 0) + line.quantity
        positions.setdefault(line.sku_id, index)
    for sku_id, quantity in merged.items():
        if quantity > MAX_QUANTITY:
            raise Conflict(
                _("too many of one item"),
                code="too_many",
                fields={
                    f"items.{positions[sku_id]}.quantity": _(
                        "at most %(count)s", count=MAX_QUANTITY
                    )
                },
            )

    conn = db.session.connection()
    params: dict[str, Any] = {"sku_ids": list(merged), "user_id": claims.user_id}
    held = offers.source().held_coupon_query() if coupon_id is not None else None
    if held is not None:
        params["coupon_id"] = coupon_id
    rows = conn.execute(_order_lines(held), params).all()
    version = (
        rows[0].token_version
        if rows
        else conn.execute(_TOKEN_VERSION, {"user_id": claims.user_id}).scalar()
    )
    try:
        check_claims(claims, version)
    except Unauthorized:
        db.session.rollback()
        raise
    found = {row.id: row for row in rows}
    for sku_id in merged:
        row = found.get(sku_id)
        if row is None or not row.is_active or not row.on_shelf:
            db.session.rollback()
            raise Conflict(
                _("an item is not for sale"),
                code="not_for_sale",
                fields={f"items.{positions[sku_id]}.sku_id": _("no such SKU on sale")},
            )

    return LinesRead(merged, positions, found)
