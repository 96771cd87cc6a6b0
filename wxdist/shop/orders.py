"""Orders: placing (with atomic stock reservation), reading, cancelling, closing, receipt.

Stock only moves through conditional updates (`stock = stock - q WHERE stock >= q`), in the
same transaction as the order, so no interleaving of requests can oversell. Releasing stock
happens in the same transaction that moves the order to cancelled or closed, guarded by a
status compare-and-set, so it happens exactly once.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import (
    bindparam,
    case,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from wxdist.accounts import addresses, blocking
from wxdist.accounts.auth import TokenClaims
from wxdist.core import direct_sql
from wxdist.core.clock import SHANGHAI
from wxdist.core.errors import ApiError, Conflict, NotFound
from wxdist.core.events import order_ending, order_reviving
from wxdist.core.extensions import db
from wxdist.models import (
    Order,
    OrderAdjustment,
    OrderItem,
    OrderStatus,
    Sku,
)
from wxdist.models.types import utcnow
from wxdist.shop import completion, offers, order_address, quotes
from wxdist.shop.order_address import Address
from wxdist.shop.order_lines import MAX_QUANTITY, LineRequest, LinesRead, read_lines
from wxdist.shop.pricing import ActivityPrice, Offers, PricedOrder

__all__ = [
    "MAX_QUANTITY",
    "Address",
    "LineRequest",
    "LinesRead",
    "create_order",
    "preview_order",
]


def new_order_no() -> str:
    """24 digits: Shanghai time to the second plus 10 random digits, so even hundreds of
    orders a second practically never collide (the unique key backs it); with the channel
    letter it stays within WeChat's 32-character out_trade_no."""
    now = datetime.now(UTC).astimezone(SHANGHAI)
    return now.strftime("%Y%m%d%H%M%S") + f"{secrets.randbelow(10**10):010d}"


# The statements of placing an order, built once (SQLAlchemy caches their compiled form).
_skus = Sku.__table__
_orders, _items = Order.__table__, OrderItem.__table__


_INSERT_ORDER = insert(_orders)
_STOCKS = select(_skus.c.id, _skus.c.stock).where(_skus.c.id.in_(bindparam("ids", expanding=True)))


@cache
def _reserve(count: int) -> Any:
    """One conditional UPDATE taking stock from `count` SKUs (`sku_<i>` loses `q_<i>`, only
    where it has that many): the rows matched are the SKUs that had enough. The primary
    key is walked in id order, so two orders lock shared SKUs in the same order."""
    ids = [bindparam(f"sku_{i}") for i in range(count)]
    wanted = case(*((_skus.c.id == ids[i], bindparam(f"q_{i}")) for i in range(count)), else_=None)
    return (
        update(_skus)
        .where(_skus.c.id.in_(ids), _skus.c.stock >= wanted)
        .values(stock=_skus.c.stock - wanted)
    )


_INSERT_ADJUSTMENT = insert(OrderAdjustment.__table__)


@cache
def _insert_items(columns: tuple[str, ...], count: int) -> Any:
    """One INSERT of `count` items of `columns` (parameters `<column>_<i>`) returning their
    ids. Written as text, because SQLAlchemy compiles a multi-row VALUES anew at every call
    (it has no cache key) while a text statement's compiled form is cached; the SQL is the
    same on MariaDB (10.5+) and SQLite (3.35+)."""
    rows = ", ".join(
        "(" + ", ".join(f":{name}_{i}" for name in columns) + ")" for i in range(count)
    )
    return text(f"INSERT INTO {_items.name} ({', '.join(columns)}) VALUES {rows} RETURNING id")


def _write_items(items: list[dict[str, Any]]) -> None:
    """Insert the items (dicts of the same columns, no `id`) in one statement and set each
    one's `id`. One statement takes its rows' auto-increment ids as it inserts them, in
    VALUES order, from a counter that only grows (MariaDB in any lock mode, SQLite's rowid),
    so the ids sorted are the rows' ids in order, whatever order RETURNING gives them in."""
    columns = tuple(items[0])
    params = {f"{name}_{i}": item[name] for i, item in enumerate(items) for name in columns}
    statement = _insert_items(columns, len(items))
    ids = sorted(row[0] for row in direct_sql.execute(statement, params).returned)
    for item, item_id in zip(items, ids, strict=True):
        item["id"] = item_id


def create_order(
    claims: TokenClaims,
    lines: list[LineRequest],
    address: Address | int,
    remark: str,
    coupon_id: int | None = None,
    expected_payable_fen: int | None = None,
    before_commit: Callable[[], None] | None = None,
    read: LinesRead | None = None,
    activity: ActivityPrice | None = None,
    on_written: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Place an order for the token's user and reserve its stock atomically; returns the
    order's columns as written, with `items` (the rows of its items).

    `address` is inline or the id of one of the user's addresses, copied to the order
    (`order_address.resolve`, which raises NotFound `address_id` and Conflict
    `unknown_region`); its region prices the shipping (Conflict `not_delivered`,
    `region_required`, naming the address's field).

    Priced by the one pipeline (`shop.quotes`) with the offers in force and the user's
    coupon `coupon_id`, which is locked to the order in the same transaction. Raises
    Conflict `coupon_unusable` (field `coupon_id`), `free_order`, and `price_changed`
    (with the new payable) when `expected_payable_fen` is not what the order pays now.

    Raises Conflict 409 (the field named) `too_many` when the lines of one SKU add up to more
    than MAX_QUANTITY, `not_for_sale` for an unknown or off-shelf SKU (`items.N.sku_id`),
    `out_of_stock` when a SKU has too little stock; Unauthorized when the token's user is gone
    or revoked it and Forbidden `account_blocked` when staff blocked them (both read in the
    first query, `order_lines.sku_line_columns`); Conflict `retry` on an order-number
    collision. Nothing is written on failure. `before_commit` runs in the order's
    transaction once everything is written (the cart takes its lines out there), so it
    commits with the order or not at all. `read` is the lines as the caller already read
    them with `sku_line_columns` (the cart, in the query that reads its lines), checked by
    the caller as `read_lines` checks them (token, for sale, quantities); the held coupon's
    columns must be in its rows when `coupon_id` is given. (A well-formed request is never a
    400 here: what the schema cannot say is a conflict with the catalogue.)

    An activity order (`shop.activity_orders`) gives `activity`, which prices the lines
    alone (see `pricing.ActivityPrice`), and `on_written`, called with the order (its `id`
    and `items` written) before `before_commit`; an ApiError it raises rolls everything
    back and propagates.

    Core statements, not the unit of work: four round trips (three given `read`) and a
    commit whatever the number of SKUs (one UPDATE reserves them all, one INSERT writes
    the items on MariaDB); two more with a coupon, one more with any offer (the coupon is
    read with the lines), one more for the shipping templates of the lines, one more for
    an `address_id`.
    """
    if read is None:
        read = read_lines(claims, lines, coupon_id)
    merged, positions, found = read.merged, read.positions, read.found
    if any(row.blocked_at is not None for row in found.values()):
        # Read with the lines, in the order's transaction: a block committed before wins.
        db.session.rollback()
        raise blocking.blocked_error()
    now = utcnow()
    try:
        receiver = order_address.resolve(claims.user_id, address)
        source = offers.source()
        coupon = source.held_coupon_in(next(iter(found.values())), now) if coupon_id else None
        priced = quotes.price_lines(
            quotes.lines_from_rows(merged, found),
            coupon,
            now,
            receiver.region,
            receiver.field,
            None if activity is None else Offers(activity=activity),
        )
        quotes.check_expected(priced, expected_payable_fen)
    except ApiError:
        db.session.rollback()
        raise

    order: dict[str, Any] = {
        "order_no": new_order_no(),
        "user_id": claims.user_id,
        "status": OrderStatus.PENDING_PAYMENT,
        "goods_fen": priced.goods_fen,
        "shipping_fen": priced.shipping_fen,
        "discount_fen": priced.off(),
        "payable_fen": priced.payable_fen,
        "coupon_id": priced.coupon_id,
        "paid_fen": 0,
        "refunded_fen": 0,
        "receiver_name": receiver.name,
        "receiver_phone": receiver.phone,
        "receiver_region": receiver.region_text,
        "receiver_region_code": receiver.region_code,
        "receiver_detail": receiver.detail,
        "remark": remark,
        "created_at": now,
        "expires_at": now + timedelta(minutes=current_app.config["ORDER_PAY_TIMEOUT_MIN"]),
    }
    # The order row and its coupon's lock come before the stock, so a popular SKU's row is
    # locked only for the reservation, the items, their offer shares and the commit.
    try:
        order["id"] = direct_sql.execute(_INSERT_ORDER, order).lastrowid
        source.lock_coupon(claims.user_id, order["id"], priced)
    except IntegrityError:  # an order_no collision: astronomically rare, but never a 500
        db.session.rollback()
        raise Conflict(_("please try again"), code="retry") from None
    except ApiError:
        db.session.rollback()
        raise

    # Reserve in id order, so two orders for the same SKUs lock rows in the same order,
    # and the items' foreign-key checks find the SKU rows already locked (shared locks
    # taken first would deadlock two orders upgrading them).
    _reserve_stock(merged, positions)

    items = [
        {
            "order_id": order["id"],
            "product_id": line.line.product_id,
            "sku_id": line.line.sku_id,
            "title": found[line.line.sku_id].title,
            "sku_name": found[line.line.sku_id].name,
            "image_url": found[line.line.sku_id].image_url or "",
            "price_fen": line.line.unit_fen,
            "quantity": line.line.quantity,
            "amount_fen": line.list_fen,
            "paid_fen": line.paid_fen,
            "commission_base_fen": line.commission_base_fen,
            "refunded_fen": 0,
        }
        for line in priced.lines
    ]
    _write_items(items)
    _record_offers(order["id"], items, priced)
    if on_written is not None:
        order["items"] = items
        try:
            on_written(order)
        except ApiError:
            db.session.rollback()
            raise
    if before_commit is not None:
        before_commit()
    db.session.commit()
    order.update(
        pay_channel=None,
        carrier=None,
        tracking_no=None,
        paid_at=None,
        shipped_at=None,
        completed_at=None,
        items=items,
    )
    return order


def _reserve_stock(merged: dict[int, int], positions: dict[int, int]) -> None:
    """Take each SKU's quantity from its stock in one conditional UPDATE. Raises Conflict
    `out_of_stock` naming the first line (in id order) whose SKU had too little, after
    rolling back."""
    ids = sorted(merged)
    params: dict[str, int] = {}
    for i, sku_id in enumerate(ids):
        params[f"sku_{i}"], params[f"q_{i}"] = sku_id, merged[sku_id]
    taken = direct_sql.execute(_reserve(len(ids)), params).rowcount
    if taken == len(ids):
        return
    conn = db.session.connection()
    # Which SKU was short: those below their quantity now include every one the UPDATE
    # skipped; when they are exactly as many, they are the skipped ones. Otherwise a SKU
    # taken from is below its quantity too, and the stock as committed tells.
    stocks = dict(conn.execute(_STOCKS, {"ids": ids}).tuples().all())
    below = [i for i in ids if stocks.get(i, 0) < merged[i]]
    db.session.rollback()
    if len(below) != len(ids) - taken:
        stocks = dict(db.session.connection().execute(_STOCKS, {"ids": ids}).tuples().all())
        db.session.rollback()
        below = [i for i in ids if stocks.get(i, 0) < merged[i]] or below
    raise Conflict(
        _("not enough stock"),
        code="out_of_stock",
        fields={f"items.{positions[(below or ids)[0]]}.quantity": _("not enough stock")},
    )


def preview_order(
    claims: TokenClaims,
    lines: list[LineRequest],
    coupon_id: int | None,
    address_id: int | None = None,
    region_code: str | None = None,
    read: LinesRead | None = None,
    activity: ActivityPrice | None = None,
) -> quotes.Preview:
    """What `create_order` would charge for these lines with coupon `coupon_id`, shipped
    to the user's address `address_id` or the district `region_code` (without either:
    each template's default fee, nothing refused), every coupon the user holds checked
    against them, and the best one; priced by `activity` alone when given. Writes
    nothing; raises what create_order raises before reserving stock."""
    if read is None:
        read = read_lines(claims, lines)
    merged, found = read.merged, read.found
    try:
        if address_id is not None:
            receiver = order_address.resolve(claims.user_id, address_id)
            region, field = receiver.region, receiver.field
        elif region_code is not None:
            region, field = addresses.region_of(region_code), "region_code"
        else:
            region, field = None, ""
        return quotes.preview(
            claims.user_id,
            quotes.lines_from_rows(merged, found),
            coupon_id,
            utcnow(),
            None if activity is None else Offers(activity=activity),
            ship_to=quotes.ShipTo(region, field, strict=bool(field)),
        )
    finally:
        db.session.rollback()


def _record_offers(order_id: int, items: list[dict[str, Any]], priced: PricedOrder) -> None:
    """Each offer's share of each item (items in the order of the priced lines)."""
    rows = [
        {
            "order_id": order_id,
            "order_item_id": item["id"],
            "kind": adjustment.kind,
            "source_id": adjustment.source_id,
            "amount_fen": adjustment.fen,
        }
        for item, line in zip(items, priced.lines, strict=True)
        for adjustment in line.adjustments
    ]
    if rows:
        db.session.connection().execute(_INSERT_ADJUSTMENT, rows)


def lock_order(order_id: int) -> Order | None:
    """The order row, locked for this transaction (SELECT … FOR UPDATE) and read afresh
    (the session's copy is overwritten); None when there is no such order."""
    return db.session.scalar(
        select(Order)
        .where(Order.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def get_user_order(user_id: int, order_id: int) -> Order:
    """Raises NotFound for another user's order (no hint that it exists)."""
    order = db.session.get(Order, order_id)
    if order is None or order.user_id != user_id:
        raise NotFound(_("no such order"), fields={"order_id": _("not found")})
    return order


def list_user_orders(
    user_id: int, status: str | None, page: int, per_page: int
) -> tuple[list[Order], int]:
    query = select(Order).where(Order.user_id == user_id)
    if status:
        query = query.where(Order.status == status)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    orders = db.session.scalars(
        query.options(selectinload(Order.items))
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(orders), total


def end_unpaid_order(order_id: int, final_status: str) -> bool:
    """Move a pending order to cancelled/closed and release its stock, exactly once.

    The caller has already made sure no gateway can still take a payment for it. Returns
    False (and changes nothing) if the order had left pending_payment meanwhile.
    """
    now = utcnow()
    moved = db.session.execute(
        update(Order)
        .where(Order.id == order_id, Order.status == OrderStatus.PENDING_PAYMENT)
        .values(status=final_status, ended_at=now)
    )
    if moved.rowcount != 1:
        db.session.rollback()
        return False
    return_stock(order_id)
    order_ending.send(__name__, order_id=order_id)
    db.session.commit()
    return True


def return_stock(order_id: int) -> None:
    """Give the order's items back to their SKUs' stock in the caller's transaction (SKU
    rows in id order): an order that ended unpaid, or one refunded whole before anything
    shipped (a failed group buy). The caller makes sure it happens once."""
    items = db.session.execute(
        select(OrderItem.sku_id, OrderItem.quantity).where(OrderItem.order_id == order_id)
    ).all()
    for sku_id, quantity in sorted(items):
        db.session.execute(update(Sku).where(Sku.id == sku_id).values(stock=Sku.stock + quantity))


def reserve_again(order_id: int) -> bool:
    """Take the stock of an order back (a late payment revives it), and what the
    `order_reviving` receivers held for it (an activity's stock and quota). False if
    anything is short; then whatever was taken here is given back, in this transaction."""
    items = db.session.scalars(select(OrderItem).where(OrderItem.order_id == order_id))
    taken: list[OrderItem] = []
    for item in sorted(items, key=lambda i: i.sku_id):
        result = db.session.execute(
            update(Sku)
            .where(Sku.id == item.sku_id, Sku.stock >= item.quantity)
            .values(stock=Sku.stock - item.quantity)
        )
        if result.rowcount != 1:
            break
        taken.append(item)
    else:
        replies = order_reviving.send(__name__, order_id=order_id)
        if all(answer is not False for _receiver, answer in replies):
            return True
    for item in taken:
        db.session.execute(
            update(Sku).where(Sku.id == item.sku_id).values(stock=Sku.stock + item.quantity)
        )
    return False


def confirm_receipt(user_id: int, order_id: int) -> Order:
    """shipped → completed. Raises NotFound, Conflict if the order is not shipped."""
    order = get_user_order(user_id, order_id)
    if not completion.mark_completed(order.id):
        db.session.rollback()
        raise Conflict(
            _(
                "only a shipped order can be received; this one is %(status)s",
                status=order.status,
            ),
            code="invalid_status",
        )
    db.session.commit()
    db.session.refresh(order)
    return order
