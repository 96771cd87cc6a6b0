"""Refunds, whole or part, through the channel that took the money.

A refund row (with a stable `out_refund_no`) is committed before the gateway is asked, so a
crash or a timeout leaves a record that `resend_processing_refunds` sends again with the
same number; the gateway refunds a given number once. Settlement (the gateway's notify, or
Alipay's synchronous answer) moves the amounts under a compare-and-set on the refund row.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from payments.errors import GatewayRejected, GatewayUnavailable
from wxdist.catalog import sales
from wxdist.core.errors import ApiError, Conflict, NotFound
from wxdist.core.events import refund_applying, send_required
from wxdist.core.extensions import db
from wxdist.core.money import split_by_weight
from wxdist.models import (
    Order,
    OrderItem,
    OrderStatus,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from wxdist.models.types import utcnow
from wxdist.shop import aftersale_refund as aftersale_follow
from wxdist.shop import channels
from wxdist.shop.orders import lock_order

log = logging.getLogger(__name__)

REFUNDABLE = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED)


def request_refund(
    order_id: int, amount_fen: int, reason: str = "", order_item_id: int | None = None
) -> Refund:
    """Refund part or all of a paid order. Raises NotFound, ApiError (amount), Conflict
    (status, or another refund in flight). A gateway that does not answer leaves the refund
    processing, to be sent again."""
    try:
        refund = prepare_refund(order_id, amount_fen, reason, order_item_id)
    except ApiError:
        db.session.rollback()
        raise
    db.session.commit()
    send_refund(refund.id)
    db.session.refresh(refund)
    return refund


def prepare_refund(
    order_id: int, amount_fen: int, reason: str = "", order_item_id: int | None = None
) -> Refund:
    """The refund row, added (and flushed) in the caller's transaction with the order row
    locked and moved to refunding; nothing is committed or sent. The caller commits, then
    calls `send_refund`. Raises what `request_refund` raises (the caller rolls back)."""
    order = lock_order(order_id)
    if order is None:
        raise NotFound(_("no such order"))
    if order.status not in REFUNDABLE:
        raise Conflict(
            _("an order that is %(status)s cannot be refunded", status=order.status),
            code="invalid_status",
        )
    if amount_fen <= 0 or amount_fen > order.paid_fen - order.refunded_fen:
        raise ApiError(
            _("refund amount out of range"),
            fields={
                "amount_fen": _(
                    "between %(low)s and %(high)s", low=1, high=order.paid_fen - order.refunded_fen
                )
            },
        )
    if order_item_id is not None:
        item = db.session.get(OrderItem, order_item_id)
        if item is None or item.order_id != order.id:
            raise ApiError(
                _("no such item in the order"), fields={"order_item_id": _("not in this order")}
            )
        if amount_fen > item.paid_fen - item.refunded_fen:
            raise ApiError(
                _("refund amount exceeds the item"),
                fields={
                    "amount_fen": _(
                        "at most %(count)s for this item", count=item.paid_fen - item.refunded_fen
                    )
                },
            )
    payment = db.session.scalar(
        select(Payment).where(
            Payment.order_id == order.id,
            Payment.channel == order.pay_channel,
            Payment.status == PaymentStatus.PAID,
        )
    )
    if payment is None:
        raise Conflict(_("the order has no payment to refund"), code="invalid_status")
    sequence = (
        db.session.scalar(
            select(func.count()).select_from(Refund).where(Refund.order_id == order.id)
        )
        or 0
    ) + 1
    refund = Refund(
        order_id=order.id,
        payment_id=payment.id,
        order_item_id=order_item_id,
        out_refund_no=f"{payment.out_trade_no}R{sequence:02d}",
        amount_fen=amount_fen,
        reason=reason[:255],
    )
    db.session.add(refund)
    order.status_before_refund = order.status
    order.status = OrderStatus.REFUNDING
    db.session.flush()
    return refund


def send_refund(refund_id: int) -> None:
    """Ask the gateway to refund (again, with the same number). Safe to repeat."""
    refund = db.session.get(Refund, refund_id)
    if refund is None or refund.status != RefundStatus.PROCESSING:
        return
    payment = db.session.get(Payment, refund.payment_id)
    assert payment is not None
    try:
        sent = channels.get(payment.channel).refund(
            payment.out_trade_no, refund.out_refund_no, payment.amount_fen, refund.amount_fen
        )
        if sent.settled:
            settle_refund(
                refund.out_refund_no, succeeded=True, gateway_refund_id=sent.gateway_refund_id
            )
        else:
            refund.gateway_refund_id = sent.gateway_refund_id
            db.session.commit()  # settles when the gateway's refund notify arrives
    except GatewayRejected as exc:
        db.session.rollback()
        settle_refund(refund.out_refund_no, succeeded=False, failure=f"{exc.code}: {exc.message}")
    except GatewayUnavailable as exc:
        db.session.rollback()
        log.warning(
            "refund %s: gateway did not answer (%s); will send again", refund.out_refund_no, exc
        )


def settle_refund(
    out_refund_no: str,
    succeeded: bool,
    gateway_refund_id: str | None = None,
    failure: str | None = None,
    amount_fen: int | None = None,
) -> bool:
    """Apply the gateway's final word on a refund, once. Returns False for a repeat.

    Raises NotFound for an unknown number, ApiError if `amount_fen` disagrees with ours.
    """
    refund = db.session.scalar(select(Refund).where(Refund.out_refund_no == out_refund_no))
    if refund is None:
        raise NotFound(_("no refund %(number)s", number=out_refund_no))
    if amount_fen is not None and amount_fen != refund.amount_fen:
        raise ApiError(
            _(
                "refund %(number)s: gateway says %(theirs)s, we asked %(ours)s",
                number=out_refund_no,
                theirs=amount_fen,
                ours=refund.amount_fen,
            )
        )
    order = lock_order(refund.order_id)
    assert order is not None
    moved = db.session.execute(
        update(Refund)
        .where(Refund.id == refund.id, Refund.status == RefundStatus.PROCESSING)
        .values(
            status=RefundStatus.SUCCEEDED if succeeded else RefundStatus.FAILED,
            gateway_refund_id=gateway_refund_id or refund.gateway_refund_id,
            failure_reason=failure,
            settled_at=utcnow(),
        )
    )
    if moved.rowcount != 1:
        db.session.rollback()
        return False
    payment = db.session.get(Payment, refund.payment_id)
    assert payment is not None
    # Orphan payments (late or second ones) never counted towards the order.
    counted = payment.channel == order.pay_channel and payment.status == PaymentStatus.PAID
    if succeeded:
        payment.refunded_fen += refund.amount_fen
    if counted and order.status == OrderStatus.REFUNDING:
        if succeeded:
            counted_before = _lines_still_sold(order)
            order.refunded_fen += refund.amount_fen
            _spread_over_items(order, refund)
            gone = counted_before - _lines_still_sold(order)
            sales.count_refunded(sales.units(i for i in order.items if i.id in gone))
            db.session.flush()
            # Commission goes back (and the refund is counted) in the same transaction.
            send_required(
                refund_applying, __name__, order=order, refund_fen=refund.amount_fen,
                refund_id=refund.id,
            )  # fmt: skip
        fully = order.refunded_fen >= order.paid_fen
        order.status = (
            OrderStatus.REFUNDED if fully else order.status_before_refund or OrderStatus.PAID
        )
    # An after-sale waiting on this refund follows it (refunded, or still refunding).
    moved_sale = aftersale_follow.follow_refund(refund, order, succeeded, failure)
    db.session.commit()
    aftersale_follow.announce(moved_sale)
    return True


def _lines_still_sold(order: Order) -> set[int]:
    """Ids of the order's lines that still count as sold: not wholly refunded (a line whose
    paid amount all went back, or any line once the whole order is refunded)."""
    if order.paid_fen > 0 and order.refunded_fen >= order.paid_fen:
        return set()
    return {i.id for i in order.items if i.paid_fen <= 0 or i.refunded_fen < i.paid_fen}


def _spread_over_items(order: Order, refund: Refund) -> None:
    """Charge the refund to its item, or across items in proportion to what is left on
    each (largest remainder, so the parts sum exactly to the refund)."""
    if refund.order_item_id is not None:
        item = next(i for i in order.items if i.id == refund.order_item_id)
        item.refunded_fen += refund.amount_fen
        return
    left = [max(0, item.paid_fen - item.refunded_fen) for item in order.items]
    if sum(left) <= 0:
        return
    amount = min(refund.amount_fen, sum(left))
    for item, share in zip(order.items, split_by_weight(amount, left), strict=True):
        item.refunded_fen += share


def refund_orphan_payment(payment_id: int) -> None:
    """Refund a payment that its order could not take (late or second payment). Safe to
    run twice at once: the refund's unique number makes one row, which both send."""
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.status != PaymentStatus.PAID:
        return
    existing = db.session.scalar(select(Refund).where(Refund.payment_id == payment.id))
    if existing is None:
        existing = Refund(
            order_id=payment.order_id,
            payment_id=payment.id,
            out_refund_no=f"{payment.out_trade_no}X",
            amount_fen=payment.amount_fen,
            reason="payment arrived for an order that could not take it",
        )
        db.session.add(existing)
        try:
            db.session.commit()
        except IntegrityError:  # a concurrent run made it first
            db.session.rollback()
            existing = db.session.scalars(
                select(Refund).where(Refund.payment_id == payment.id)
            ).one()
    send_refund(existing.id)


def resend_processing_refunds(older_than_minutes: int = 5, limit: int = 100) -> int:
    """Send again every refund still processing after a while (timeouts, lost notifies)."""
    cutoff = utcnow() - timedelta(minutes=older_than_minutes)
    ids = db.session.scalars(
        select(Refund.id)
        .where(Refund.status == RefundStatus.PROCESSING, Refund.created_at <= cutoff)
        .limit(limit)
    ).all()
    for refund_id in ids:
        send_refund(refund_id)
    return len(ids)
