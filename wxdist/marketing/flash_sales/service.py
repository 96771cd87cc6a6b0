"""Placing a flash-sale order, and giving back (or taking again) what it held.

Per-user limit: one counter row per (activity, user), created by INSERT IGNORE and moved
by `bought = bought + q WHERE bought + q <= limit` in the order's transaction; never a
count of past orders. Activity stock: `stock_left = stock_left - q WHERE stock_left >= q`.
Both go back when an unpaid order ends (`give_back`), guarded by the order's status
compare-and-set in `shop.orders.end_unpaid_order`, so exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.exc import OperationalError

from wxdist.accounts.auth import TokenClaims
from wxdist.core.errors import Conflict, NotFound
from wxdist.core.extensions import db
from wxdist.core.sql import insert_ignore, is_deadlock
from wxdist.marketing.flash_sales import soldout
from wxdist.models import (
    CommissionMode,
    FlashActivity,
    FlashOrder,
    FlashQuota,
    FlashSku,
    FlashSlot,
)
from wxdist.models.types import utcnow
from wxdist.shop import quotes
from wxdist.shop.activity_orders import place_activity_order, preview_activity_order
from wxdist.shop.order_address import Address
from wxdist.shop.pricing import ActivityPrice

KIND = "flash"  # the order adjustment's kind of a flash sale's price

_fa, _fs, _slots = FlashActivity.__table__, FlashSku.__table__, FlashSlot.__table__
_quotas, _links = FlashQuota.__table__, FlashOrder.__table__


@dataclass(frozen=True)
class Offer:
    """An activity SKU as an order reads it."""

    flash_sku_id: int
    activity_id: int
    sku_id: int
    price_fen: int
    stock_left: int
    per_user_limit: int
    per_order_limit: int
    commission_mode: str
    coupons_allowed: bool
    open_now: bool
    last_end: datetime | None


def _slot_open(now: datetime) -> Any:
    return exists().where(
        _slots.c.activity_id == _fa.c.id, _slots.c.starts_at <= now, _slots.c.ends_at > now
    )


def read_offer(flash_sku_id: int, now: datetime) -> Offer:
    """The activity SKU with its activity, whether a slot is open now and when the last
    slot ends. Raises NotFound `flash_sku_id` for an unknown SKU or a disabled activity."""
    last_end = (
        select(func.max(_slots.c.ends_at)).where(_slots.c.activity_id == _fa.c.id).scalar_subquery()
    )
    row = db.session.execute(
        select(
            _fs.c.id,
            _fs.c.activity_id,
            _fs.c.sku_id,
            _fs.c.price_fen,
            _fs.c.stock_left,
            _fa.c.per_user_limit,
            _fa.c.per_order_limit,
            _fa.c.commission_mode,
            _fa.c.coupons_allowed,
            _slot_open(now).label("open_now"),
            last_end.label("last_end"),
        )
        .join(_fa, _fa.c.id == _fs.c.activity_id)
        .where(_fs.c.id == flash_sku_id, _fa.c.enabled.is_(True))
    ).first()
    if row is None:
        raise NotFound(_("no such flash sale item"), fields={"flash_sku_id": _("not found")})
    return Offer(*row)


def sold_out_error() -> Conflict:
    return Conflict(
        _("This flash sale item is sold out."),
        code="sold_out",
        fields={"flash_sku_id": _("sold out")},
    )


def limit_error(limit: int) -> Conflict:
    return Conflict(
        _("You can buy at most %(count)s of this flash sale.", count=limit),
        code="flash_limit_reached",
        fields={"quantity": _("at most %(count)s per person", count=limit)},
    )


def _check(offer: Offer, quantity: int) -> None:
    """Raises Conflict `flash_not_open`, `flash_order_limit`, `flash_limit_reached`,
    `sold_out` from what was read (the conditional UPDATEs decide again)."""
    if not offer.open_now:
        raise Conflict(_("This flash sale is not on now."), code="flash_not_open")
    if quantity > offer.per_order_limit:
        raise Conflict(
            _("At most %(count)s per order in this flash sale.", count=offer.per_order_limit),
            code="flash_order_limit",
            fields={"quantity": _("at most %(count)s", count=offer.per_order_limit)},
        )
    if quantity > offer.per_user_limit:
        raise limit_error(offer.per_user_limit)
    if offer.stock_left < quantity:
        raise sold_out_error()


def _price(offer: Offer) -> ActivityPrice:
    return ActivityPrice(
        kind=KIND,
        source_id=offer.activity_id,
        sku_id=offer.sku_id,
        unit_fen=offer.price_fen,
        coupons_allowed=offer.coupons_allowed,
        no_commission=offer.commission_mode != CommissionMode.NORMAL,
    )


def preview_flash_order(
    claims: TokenClaims,
    flash_sku_id: int,
    quantity: int,
    coupon_id: int | None = None,
    address_id: int | None = None,
    region_code: str | None = None,
) -> quotes.Preview:
    """What `place_flash_order` would charge now, with the shopper's coupons checked.
    Raises NotFound `flash_sku_id`, Conflict `flash_not_open`, `flash_order_limit`,
    `flash_limit_reached` (the limit itself, not what the shopper holds), `sold_out`
    (from what was read), and what `shop.activity_orders.preview_activity_order` raises.
    Writes nothing."""
    try:
        offer = read_offer(flash_sku_id, utcnow())
        _check(offer, quantity)
    finally:
        db.session.rollback()
    return preview_activity_order(
        claims, _price(offer), quantity, coupon_id, address_id, region_code
    )


def place_flash_order(
    claims: TokenClaims,
    flash_sku_id: int,
    quantity: int,
    address: Address | int,
    remark: str = "",
    coupon_id: int | None = None,
    expected_payable_fen: int | None = None,
) -> dict[str, Any]:
    """Place a flash-sale order; returns it as `shop.orders.create_order` does.

    Raises Conflict `sold_out` (from the Redis flag at once, or when the activity stock
    is short), `flash_not_open` outside every slot, `flash_order_limit` above the
    per-order limit, `flash_limit_reached` when the user's live orders would pass the
    per-user limit, `retry` when the user's own concurrent order deadlocked this one;
    NotFound `flash_sku_id`; and what `shop.activity_orders.place_activity_order`
    raises. Nothing is written on failure."""
    if soldout.is_sold_out(flash_sku_id):
        raise sold_out_error()
    now = utcnow()
    try:
        offer = read_offer(flash_sku_id, now)
        _check(offer, quantity)
    except Conflict as exc:
        db.session.rollback()
        if exc.code == "sold_out" and offer.stock_left == 0:
            soldout.mark_sold_out(flash_sku_id, offer.last_end)
        raise
    except NotFound:
        db.session.rollback()
        raise
    activity = _price(offer)

    def take(order: dict[str, Any]) -> None:
        _take(offer, claims.user_id, order["id"], quantity)

    try:
        return place_activity_order(
            claims, activity, quantity, address, take, remark, coupon_id, expected_payable_fen
        )
    except Conflict as exc:
        if exc.code == "sold_out":
            _flag_if_empty(offer)
        raise
    except OperationalError as exc:
        db.session.rollback()
        if not is_deadlock(exc):
            raise
        raise Conflict(_("please try again"), code="retry") from None


def _flag_if_empty(offer: Offer) -> None:
    left = db.session.scalar(select(_fs.c.stock_left).where(_fs.c.id == offer.flash_sku_id))
    db.session.rollback()
    if left == 0:
        soldout.mark_sold_out(offer.flash_sku_id, offer.last_end)


def _take(offer: Offer, user_id: int, order_id: int, quantity: int) -> None:
    """Inside the order's transaction: the user's quota, then the activity stock, then
    the link row. Raises Conflict `flash_limit_reached` or `sold_out`."""
    insert_ignore(_quotas, activity_id=offer.activity_id, user_id=user_id, bought=0)
    counted = db.session.execute(
        update(_quotas)
        .where(
            _quotas.c.activity_id == offer.activity_id,
            _quotas.c.user_id == user_id,
            _quotas.c.bought + quantity <= offer.per_user_limit,
        )
        .values(bought=_quotas.c.bought + quantity)
    )
    if counted.rowcount != 1:
        raise limit_error(offer.per_user_limit)
    taken = db.session.execute(
        update(_fs)
        .where(_fs.c.id == offer.flash_sku_id, _fs.c.stock_left >= quantity)
        .values(stock_left=_fs.c.stock_left - quantity)
    )
    if taken.rowcount != 1:
        raise sold_out_error()
    db.session.execute(
        insert(_links).values(
            order_id=order_id,
            activity_id=offer.activity_id,
            flash_sku_id=offer.flash_sku_id,
            user_id=user_id,
            quantity=quantity,
            created_at=utcnow(),
        )
    )


def _link(order_id: int) -> Any:
    return db.session.execute(select(_links).where(_links.c.order_id == order_id)).first()


def give_back(order_id: int) -> None:
    """Inside the transaction ending unpaid order `order_id`: its activity stock and the
    user's quota come back (nothing for an order that is no flash sale's). The SKU's
    sold-out flag is cleared once it commits."""
    link = _link(order_id)
    if link is None:
        return
    db.session.execute(
        update(_quotas)
        .where(_quotas.c.activity_id == link.activity_id, _quotas.c.user_id == link.user_id)
        .values(bought=_quotas.c.bought - link.quantity)
    )
    db.session.execute(
        update(_fs)
        .where(_fs.c.id == link.flash_sku_id)
        .values(stock_left=_fs.c.stock_left + link.quantity)
    )
    soldout.clear_after_commit(db.session(), link.flash_sku_id)


def take_again(order_id: int) -> bool:
    """Inside a late payment's transaction reviving ended order `order_id`: take its
    activity stock and quota again. False (nothing taken) when either is short; True for
    an order that is no flash sale's. The limit is not checked again: the shopper paid."""
    link = _link(order_id)
    if link is None:
        return True
    taken = db.session.execute(
        update(_fs)
        .where(_fs.c.id == link.flash_sku_id, _fs.c.stock_left >= link.quantity)
        .values(stock_left=_fs.c.stock_left - link.quantity)
    )
    if taken.rowcount != 1:
        return False
    db.session.execute(
        update(_quotas)
        .where(_quotas.c.activity_id == link.activity_id, _quotas.c.user_id == link.user_id)
        .values(bought=_quotas.c.bought + link.quantity)
    )
    return True
