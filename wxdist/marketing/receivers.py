"""Marketing listens: it prices the shop's orders (an `OfferSource`) and follows each
order's coupon: used when the order is paid, back when an unpaid order ends, by policy on
a full refund; a flash sale's stock and quota come back when its unpaid order ends (and
are taken again if a late payment revives it); a group buy's group opens, fills and
succeeds with its orders' payments, and its seat and unit come back when an unpaid group
order ends (a late payment never revives one); it gives the person their coupons for an
export. Every other receiver runs inside the sender's transaction (see `core.events`)."""

from __future__ import annotations

from typing import Any

from wxdist.core import events
from wxdist.marketing import coupons, privacy
from wxdist.marketing.flash_sales import service as flash_sales
from wxdist.marketing.flash_sales import soldout
from wxdist.marketing.group_buys import progress as group_buys
from wxdist.marketing.group_buys.service import KIND as GROUP_HOLD
from wxdist.marketing.offer_source import MarketingOffers
from wxdist.models import Order
from wxdist.shop import offers


def coupon_used(_sender: Any, *, order_id: int, coupon_id: int | None, **_: Any) -> None:
    if coupon_id is not None:
        coupons.mark_used(order_id, coupon_id)


def coupon_back(_sender: Any, *, order_id: int) -> None:
    coupons.release(order_id)


def flash_back(_sender: Any, *, order_id: int) -> None:
    flash_sales.give_back(order_id)


def flash_again(_sender: Any, *, order_id: int) -> bool:
    return flash_sales.take_again(order_id)


def group_paid(_sender: Any, *, order_id: int, held_by: str | None, **_: Any) -> None:
    if held_by == GROUP_HOLD:  # a group order is held from its placing until success
        group_buys.paid(order_id)


def group_released(_sender: Any, *, order_id: int, repeated: bool) -> None:
    group_buys.after_paid(order_id)


def group_back(_sender: Any, *, order_id: int) -> None:
    group_buys.give_back(order_id)


def group_again(_sender: Any, *, order_id: int) -> bool:
    return group_buys.take_again(order_id)


def coupon_after_refund(_sender: Any, *, order: Order, refund_fen: int, **_: Any) -> None:
    if order.refunded_fen >= order.paid_fen:
        coupons.after_full_refund(order)


def connect() -> None:
    """Register the offer source and connect marketing's receivers (idempotent)."""
    offers.register(MarketingOffers())
    events.order_paying.connect(coupon_used, weak=False)
    events.order_ending.connect(coupon_back, weak=False)
    events.order_ending.connect(flash_back, weak=False)
    events.order_reviving.connect(flash_again, weak=False)
    events.order_paying.connect(group_paid, weak=False)
    events.order_paid.connect(group_released, weak=False)
    events.order_ending.connect(group_back, weak=False)
    events.order_reviving.connect(group_again, weak=False)
    soldout.connect()
    events.refund_applying.connect(coupon_after_refund, weak=False)
    events.connect_privacy(privacy)
