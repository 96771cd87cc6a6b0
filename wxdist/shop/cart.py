"""The shopping cart: a shopper's SKUs and quantities, shown at today's prices and checked
out through the order path.

A line stores no price: reading the cart prices it afresh with the offer source and the
one pipeline (`shop.quotes`), so a price change or a promotion shows at once. A line whose
SKU went off shelf, was deactivated or ran short is kept and flagged, never dropped.
Checking out places an order (`shop.orders.create_order`) for the selected lines, which
leave the cart in the order's own transaction: a refused order leaves the cart as it was.

Adding a SKU the cart holds adds to its line: (user, sku) is unique, and a concurrent add
that loses the insert race adds to the winner's line (conditional update, retried once).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from flask_babel import gettext as _
from sqlalchemy import Select, Subquery, bindparam, delete, func, insert, select, true, update
from sqlalchemy.exc import IntegrityError

from wxdist.accounts.auth import TokenClaims, check_claims
from wxdist.core import direct_sql
from wxdist.core.errors import ApiError, Conflict, NotFound
from wxdist.core.extensions import db
from wxdist.models import CartLine, Product, Sku, User
from wxdist.models.types import utcnow
from wxdist.shop import offers, order_lines, orders, quotes
from wxdist.shop.pricing import DISCOUNT, Line, Offers, TimedDiscount, promoted_lines

T = TypeVar("T")
MAX_LINES = 100  # lines in one cart
MAX_QUANTITY = orders.MAX_QUANTITY  # of one line, as of one SKU in an order

_cart, _skus, _products = CartLine.__table__, Sku.__table__, Product.__table__
_users = User.__table__


@cache
def _read(held: Subquery | None = None, selected_only: bool = False) -> Select[Any]:
    """The user's cart lines, each with its SKU's row as an order reads it
    (`order_lines.sku_line_columns`: `id` is the SKU's, the line's is `line_id`), so checking
    out reads the lines once; with `held`, the coupon's columns on every row. Unordered:
    `_newest_first` sorts the few rows (MariaDB's filesort of them cost more)."""
    query = (
        select(
            _cart.c.id.label("line_id"),
            _cart.c.quantity,
            _cart.c.selected,
            *order_lines.sku_line_columns(held),
        )
        .select_from(order_lines.sku_line_join(held, _cart, _skus.c.id == _cart.c.sku_id))
        .where(_cart.c.user_id == bindparam("user_id"))
    )
    return query.where(_cart.c.selected == true()) if selected_only else query


def _newest_first(rows: Sequence[Any]) -> list[Any]:
    return sorted(rows, key=lambda row: row.line_id, reverse=True)


_TOKEN_VERSION = select(_users.c.token_version).where(_users.c.id == bindparam("user_id"))
_held = (
    select(_cart.c.quantity)
    .where(_cart.c.user_id == bindparam("user_id"), _cart.c.sku_id == _skus.c.id)
    .scalar_subquery()
)
_line_count = select(func.count()).where(_cart.c.user_id == bindparam("user_id")).scalar_subquery()
_SKU_TO_ADD = (
    select(
        _skus.c.stock,
        _skus.c.is_active,
        _products.c.on_shelf,
        _held.label("held"),
        _line_count.label("lines"),
    )
    .select_from(_skus.join(_products, _products.c.id == _skus.c.product_id))
    .where(_skus.c.id == bindparam("sku_id"))
)
_BUMP = (
    update(_cart)
    .where(
        _cart.c.user_id == bindparam("b_user_id"),
        _cart.c.sku_id == bindparam("b_sku_id"),
        _cart.c.quantity + bindparam("b_quantity") <= bindparam("b_limit"),
    )
    .values(
        quantity=_cart.c.quantity + bindparam("b_quantity"),
        selected=True,
        updated_at=bindparam("b_now"),
    )
)
_INSERT = insert(_cart)
_HELD_NOW = select(_cart.c.quantity).where(
    _cart.c.user_id == bindparam("user_id"), _cart.c.sku_id == bindparam("sku_id")
)
_LINE_STOCK = (
    select(_cart.c.quantity, _skus.c.stock)
    .join_from(_cart, _skus, _skus.c.id == _cart.c.sku_id)
    .where(_cart.c.id == bindparam("line_id"), _cart.c.user_id == bindparam("user_id"))
)


@cache
def _take_out(count: int) -> Any:
    """DELETE of `count` of a user's lines (`line_<i>`), one statement per count, as
    `direct_sql` runs statements."""
    return delete(_cart).where(
        _cart.c.user_id == bindparam("user_id"),
        _cart.c.id.in_([bindparam(f"line_{i}") for i in range(count)]),
    )


@dataclass(frozen=True)
class CartItem:
    """A cart line as read with its SKU and product today."""

    id: int
    sku_id: int
    product_id: int
    category_id: int | None
    title: str
    sku_name: str
    image_url: str
    price_fen: int
    stock: int
    quantity: int
    selected: bool
    on_sale: bool

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    @property
    def short(self) -> bool:
        """Fewer in stock than the line wants (out of stock included)."""
        return self.stock < self.quantity

    @property
    def buyable(self) -> bool:
        return self.on_sale and not self.short

    @property
    def line(self) -> Line:
        return Line(self.sku_id, self.product_id, self.category_id, self.price_fen, self.quantity)


@dataclass(frozen=True)
class Promotion:
    """The limited-time discount in force on a line and its unit price under it."""

    discount: TimedDiscount
    unit_fen: int


@dataclass(frozen=True)
class CartView:
    items: list[CartItem]
    promotions: dict[int, Promotion]  # by line id: limited-time discounts in force
    reductions: dict[int, list[int]]  # by line id: full reductions whose scope covers it
    totals: quotes.Preview | None  # the selected lines that can be bought, priced


def _item(row: Any) -> CartItem:
    return CartItem(
        id=row.line_id,
        sku_id=row.id,
        product_id=row.product_id,
        category_id=row.category_id,
        title=row.title,
        sku_name=row.name,
        image_url=row.image_url or "",
        price_fen=row.price_fen,
        stock=max(row.stock, 0),
        quantity=row.quantity,
        selected=bool(row.selected),
        on_sale=bool(row.is_active and row.on_shelf),
    )


def view(user_id: int) -> CartView:
    """The cart, newest line first, each line priced and flagged as of now; totals over the
    selected lines that can be bought (None when there are none). Writes nothing."""
    rows = _newest_first(db.session.connection().execute(_read(), {"user_id": user_id}).all())
    items = [_item(row) for row in rows]
    now = utcnow()
    on_sale = [item for item in items if item.on_sale]
    if not on_sale:
        return CartView(items, {}, {}, None)
    offered = offers.source().offers_for([item.line for item in on_sale], now)
    promotions = _promotions(on_sale, offered, now)
    reductions = {
        item.id: [r.id for r in offered.reductions if r.scope.covers(item.line)] for item in on_sale
    }
    chosen = [item.line for item in on_sale if item.selected and not item.short]
    totals = quotes.preview(user_id, chosen, None, now, offered) if chosen else None
    return CartView(items, promotions, reductions, totals)


def _promotions(items: Sequence[CartItem], offered: Offers, now: datetime) -> dict[int, Promotion]:
    """Each line's limited-time discount in force, by the pipeline's first step."""
    if not offered.discounts:
        return {}
    by_id = {discount.id: discount for discount in offered.discounts}
    priced = promoted_lines([item.line for item in items], Offers(offered.discounts), now)
    found = {}
    for item, line in zip(items, priced, strict=True):
        for adjustment in line.adjustments:
            if adjustment.kind == DISCOUNT:
                found[item.id] = Promotion(
                    by_id[adjustment.source_id], line.paid_fen // line.line.quantity
                )
    return found


def add(user_id: int, sku_id: int, quantity: int) -> None:
    """Add `quantity` of a SKU: to its line if the cart has one (selected again), else as a
    new selected line. Raises Conflict `not_for_sale` (field `sku_id`), `cart_full` when the
    cart has MAX_LINES lines, `out_of_stock` / `too_many` (field `quantity`, with
    `data.available`: what may still be added) when the line would pass the SKU's stock or
    MAX_QUANTITY. Commits."""
    conn = db.session.connection()
    row = conn.execute(_SKU_TO_ADD, {"sku_id": sku_id, "user_id": user_id}).first()
    if row is None or not row.is_active or not row.on_shelf:
        db.session.rollback()
        raise Conflict(
            _("This item is not on sale."),
            code="not_for_sale",
            fields={"sku_id": _("no such SKU on sale")},
        )
    limit = min(max(row.stock, 0), MAX_QUANTITY)
    if (row.held or 0) + quantity > limit:
        _refuse_quantity(limit, row.held or 0)
    if row.held is None and row.lines >= MAX_LINES:
        db.session.rollback()
        raise Conflict(
            _("The cart holds at most %(count)s items.", count=MAX_LINES),
            code="cart_full",
            fields={"sku_id": _("remove something from the cart first")},
        )
    params = {
        "b_user_id": user_id,
        "b_sku_id": sku_id,
        "b_quantity": quantity,
        "b_limit": limit,
        "b_now": utcnow(),
    }
    exists = row.held is not None
    for _attempt in range(2):
        if exists:
            if conn.execute(_BUMP, params).rowcount == 1:
                db.session.commit()
                return
            # Over the limit now, or removed meanwhile: the insert tells. Its locks go first,
            # so no gap lock of this update meets a concurrent insert's (a deadlock).
            db.session.rollback()
            conn = db.session.connection()
            exists = False
            continue
        try:
            now = params["b_now"]
            conn.execute(
                _INSERT,
                {
                    "user_id": user_id,
                    "sku_id": sku_id,
                    "quantity": quantity,
                    "selected": True,
                    "created_at": now,
                    "updated_at": now,
                },
            )
        except IntegrityError:  # a concurrent add made the line: add to it
            db.session.rollback()
            conn = db.session.connection()
            exists = True
            continue
        db.session.commit()
        return
    # Concurrent adds took the line near the limit: say what is left now.
    db.session.rollback()
    held = db.session.connection().execute(_HELD_NOW, {"user_id": user_id, "sku_id": sku_id})
    _refuse_quantity(limit, held.scalar() or 0)


def _refuse_quantity(limit: int, held: int) -> None:
    """Raises Conflict naming `quantity`: `too_many` past MAX_QUANTITY, else `out_of_stock`."""
    db.session.rollback()
    available = max(limit - held, 0)
    code = "too_many" if limit == MAX_QUANTITY else "out_of_stock"
    message = _("Only %(count)s more can be added.", count=available)
    raise Conflict(message, code=code, fields={"quantity": message}, data={"available": available})


def change(user_id: int, line_id: int, quantity: int | None, selected: bool | None) -> None:
    """Set a line's quantity and/or selection. Raising the quantity past the SKU's stock
    (or MAX_QUANTITY) is refused as `add` refuses it; lowering it is always allowed.
    Raises NotFound (field `line_id`) for another user's or no line. Commits."""
    conn = db.session.connection()
    row = conn.execute(_LINE_STOCK, {"line_id": line_id, "user_id": user_id}).first()
    if row is None:
        db.session.rollback()
        raise NotFound(_("No such item in the cart."), fields={"line_id": _("not found")})
    values: dict[str, Any] = {}
    if quantity is not None and quantity != row.quantity:
        limit = min(max(row.stock, 0), MAX_QUANTITY)
        if quantity > row.quantity and quantity > limit:
            _refuse_quantity(limit, row.quantity)
        values["quantity"] = quantity
    if selected is not None:
        values["selected"] = selected
    if values:
        conn.execute(
            update(_cart)
            .where(_cart.c.id == line_id, _cart.c.user_id == user_id)
            .values(**values, updated_at=utcnow())
        )
    db.session.commit()


def remove(user_id: int, line_id: int) -> None:
    """Take a line out. Raises NotFound (field `line_id`). Commits."""
    gone = db.session.execute(
        delete(CartLine).where(CartLine.id == line_id, CartLine.user_id == user_id)
    )
    if gone.rowcount != 1:
        db.session.rollback()
        raise NotFound(_("No such item in the cart."), fields={"line_id": _("not found")})
    db.session.commit()


def select_all(user_id: int, selected: bool) -> None:
    """Select or unselect every line. Commits."""
    db.session.execute(
        update(CartLine)
        .where(CartLine.user_id == user_id)
        .values(selected=selected, updated_at=utcnow())
    )
    db.session.commit()


def _selected(
    claims: TokenClaims, coupon_id: int | None = None
) -> tuple[list[CartItem], order_lines.LinesRead]:
    """The selected lines, and the same rows as the order path reads its lines (with the
    held coupon `coupon_id`'s columns), the token checked against its user in the same
    query. Raises Unauthorized, Conflict `cart_empty` (field `lines`) and `cart_unavailable`
    naming each line that is off sale (`lines.<id>.sku_id`) or short
    (`lines.<id>.quantity`). Rolls back on failure."""
    params: dict[str, Any] = {"user_id": claims.user_id}
    held = offers.source().held_coupon_query() if coupon_id is not None else None
    if held is not None:
        params["coupon_id"] = coupon_id
    rows = _newest_first(direct_sql.rows(_read(held, selected_only=True), params))
    version = rows[0].token_version if rows else db.session.scalar(_TOKEN_VERSION, params)
    try:
        check_claims(claims, version)
        if not rows:
            raise Conflict(
                _("Select something in the cart first."),
                code="cart_empty",
                fields={"lines": _("no line is selected")},
            )
        items = [_item(row) for row in rows]
        blocked = [item for item in items if not item.buyable]
        if blocked:
            raise _unavailable(blocked)
    except ApiError:
        db.session.rollback()
        raise
    read = order_lines.LinesRead(
        merged={row.id: row.quantity for row in rows},
        positions={row.id: index for index, row in enumerate(rows)},
        found={row.id: row for row in rows},
    )
    return items, read


def _unavailable(items: Sequence[CartItem]) -> Conflict:
    fields = {}
    for item in items:
        if not item.on_sale:
            fields[f"lines.{item.id}.sku_id"] = _(
                "%(title)s is no longer on sale", title=item.title
            )
        else:
            fields[f"lines.{item.id}.quantity"] = _(
                "%(title)s: only %(count)s in stock", title=item.title, count=item.stock
            )
    return Conflict(
        _("Some selected items cannot be bought now; change them and try again."),
        code="cart_unavailable",
        fields=fields,
    )


def _requests(items: Sequence[CartItem]) -> list[orders.LineRequest]:
    return [orders.LineRequest(item.sku_id, item.quantity) for item in items]


def preview(
    claims: TokenClaims,
    coupon_id: int | None,
    address_id: int | None = None,
    region_code: str | None = None,
) -> quotes.Preview:
    """What checking out would charge: `orders.preview_order` of the selected lines,
    shipped to `address_id` or `region_code`. Raises what `_selected` and `preview_order`
    raise. Writes nothing."""
    items, read = _selected(claims)
    requests = _requests(items)
    return _as_cart_error(
        items,
        lambda: orders.preview_order(
            claims, requests, coupon_id, address_id, region_code, read=read
        ),
    )


def checkout(
    claims: TokenClaims,
    address: orders.Address | int,
    remark: str,
    coupon_id: int | None = None,
    expected_payable_fen: int | None = None,
) -> dict[str, Any]:
    """Place an order for the selected lines through `orders.create_order` (prices, coupon,
    stock reservation, `price_changed`), the lines leaving the cart in the order's
    transaction. Raises what `_selected` and `create_order` raise, a SKU that went off sale
    or short since the cart was read as `cart_unavailable`. Nothing is written on failure."""
    items, read = _selected(claims, coupon_id)
    ids = [item.id for item in items]

    def take_out() -> None:
        params = {f"line_{i}": line_id for i, line_id in enumerate(ids)}
        direct_sql.execute(_take_out(len(ids)), {"user_id": claims.user_id, **params})

    return _as_cart_error(
        items,
        lambda: orders.create_order(
            claims,
            _requests(items),
            address,
            remark,
            coupon_id=coupon_id,
            expected_payable_fen=expected_payable_fen,
            before_commit=take_out,
            read=read,
        ),
    )


def _as_cart_error(items: Sequence[CartItem], call: Callable[[], T]) -> T:
    """`call()`, its refusals of a line (`items.N.…`) named as the cart's lines."""
    try:
        return call()
    except Conflict as exc:
        if exc.code not in ("not_for_sale", "out_of_stock", "too_many"):
            raise
        fields = {}
        for name, message in exc.fields.items():
            head, _sep, rest = name.partition("items.")
            index, _dot, field = rest.partition(".")
            if head or not index.isdigit() or int(index) >= len(items):
                fields[name] = message  # not a line's field: as the order path named it
            else:
                fields[f"lines.{items[int(index)].id}.{field}"] = message
        raise Conflict(exc.message, code="cart_unavailable", fields=fields) from None
