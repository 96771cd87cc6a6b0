"""Paying for orders: starting a payment, applying a gateway's word that it was paid, and
making sure an unpaid order can no longer be paid before it is cancelled or closed.

Every order has at most one payment attempt per channel (`out_trade_no` = order number plus
a channel letter). A payment is applied by compare-and-set updates under a row lock on the
order (on SQLite, which has no row locks, as the database's only writer), so duplicate and
concurrent notifies, of one channel or of both, and a notify racing the closing sweep,
record one payment for the order. A payment that arrives for an order that can no longer
take it (cancelled and its stock sold, or already paid through the other channel) is kept
and refunded, never lost.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.util import identity_key

from payments.errors import GatewayUnavailable
from wxdist.catalog import sales
from wxdist.core import direct_sql
from wxdist.core.errors import Conflict, GatewayFailed
from wxdist.core.events import order_paid, order_paying, send_required
from wxdist.core.extensions import db
from wxdist.core.sql import serialise_writers
from wxdist.core.tasks import enqueue
from wxdist.models import Order, OrderStatus, Payment, PaymentStatus, User
from wxdist.models.types import utcnow
from wxdist.shop import channels
from wxdist.shop import orders as order_service

log = logging.getLogger(__name__)


class Outcome(enum.Enum):
    PAID = "paid"  # the order is now paid
    DUPLICATE = "duplicate"  # this payment was already recorded
    REFUNDING = "refunding"  # recorded, but the order could not take it: refund started


class UnknownPayment(Exception):
    """No payment attempt has this out_trade_no (or it belongs to another channel)."""


class PaymentMismatch(Exception):
    """The gateway's amount or transaction id disagrees with what we recorded."""


@dataclass(frozen=True)
class PaymentStart:
    channel: str
    out_trade_no: str
    wechat_params: dict[str, str] | None = None
    alipay_url: str | None = None


def start_payment(user: User, order: Order, channel: str, client_ip: str) -> PaymentStart:
    """Open (or reopen) the gateway payment of a pending order.

    Raises ApiError 400 for an unknown channel, Conflict if the order is not waiting for
    payment or has expired, GatewayFailed when the gateway refuses or does not answer.
    """
    pay_channel = channels.require(channel)
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise Conflict(
            _("the order is %(status)s, not waiting for payment", status=order.status),
            code="invalid_status",
        )
    now = utcnow()
    if order.expires_at <= now:
        raise Conflict(_("the order has expired; place it again"), code="order_expired")

    minutes_left = max(1, int((order.expires_at - now).total_seconds() // 60))
    payment = _payment_attempt(order, pay_channel)
    checkout = pay_channel.start(payment, _subject(order), user.openid, client_ip, minutes_left)
    return PaymentStart(
        channel,
        payment.out_trade_no,
        wechat_params=checkout.wechat_params,
        alipay_url=checkout.alipay_url,
    )


def _subject(order: Order) -> str:
    first = order.items[0].title if order.items else "order"
    more = f" 等{len(order.items)}件" if len(order.items) > 1 else ""
    return f"{first}{more}"[:120]


def _payment_attempt(order: Order, pay_channel: channels.PayChannel) -> Payment:
    channel = pay_channel.name
    payment = db.session.scalar(
        select(Payment).where(Payment.order_id == order.id, Payment.channel == channel)
    )
    if payment is not None:
        if payment.status != PaymentStatus.OPEN:
            raise Conflict(_("this payment can no longer be made"), code="invalid_status")
        return payment
    payment = Payment(
        order_id=order.id,
        channel=channel,
        out_trade_no=order.order_no + pay_channel.suffix,
        amount_fen=order.payable_fen,
    )
    db.session.add(payment)
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent pay request created it first
        db.session.rollback()
        payment = db.session.scalar(
            select(Payment).where(Payment.order_id == order.id, Payment.channel == channel)
        )
        if payment is None:
            raise
    return payment


_orders, _payments = Order.__table__, Payment.__table__
_ORDER_COLUMNS = (_orders.c.id, _orders.c.status, _orders.c.coupon_id, _orders.c.held_by)
_LOCK_ORDER_BY_NO = (
    select(*_ORDER_COLUMNS).where(_orders.c.order_no == bindparam("order_no")).with_for_update()
)
_LOCK_ORDER_BY_ID = select(*_ORDER_COLUMNS).where(_orders.c.id == bindparam("id")).with_for_update()
_PAYMENT_BY_NO = select(
    _payments.c.id,
    _payments.c.order_id,
    _payments.c.channel,
    _payments.c.amount_fen,
    _payments.c.status,
    _payments.c.transaction_id,
).where(_payments.c.out_trade_no == bindparam("out_trade_no"))
_LOCK_PAYMENT_BY_NO = _PAYMENT_BY_NO.with_for_update()
_MARK_PAYMENT_PAID = (
    update(_payments)
    .where(_payments.c.id == bindparam("payment_id"), _payments.c.status != PaymentStatus.PAID)
    .values(
        status=PaymentStatus.PAID,
        transaction_id=bindparam("transaction_id"),
        payer_id=bindparam("payer_id"),
        paid_at=bindparam("paid_at"),
    )
)
_MARK_ORDER_PAID = (
    update(_orders)
    .where(_orders.c.id == bindparam("order_id"), _orders.c.status == bindparam("was"))
    .values(
        status=OrderStatus.PAID,
        paid_fen=bindparam("paid_fen"),
        paid_at=bindparam("paid_at"),
        pay_channel=bindparam("channel"),
        ended_at=None,
    )
)


def _lock_order_and_payment(channel: str, out_trade_no: str) -> tuple[Row[Any], Row[Any]]:
    """The order and the payment of `out_trade_no`, row-locked in that order (the order
    first, as everything else that changes an order does), read as committed now.

    An out_trade_no is its order's number plus the channel letter, so the order is locked
    straight by its number: two round trips. On SQLite, which has no row locks, the locking
    reads take the database's write lock (wxdist.core.sqlite_locks), and the fallback takes it
    before its plain lookup (sql.serialise_writers). Raises
    UnknownPayment (after a rollback) when no payment of `channel` has that number.
    """
    conn = db.session.connection()
    order = None
    known = channels.find(channel)
    if known is not None and out_trade_no.endswith(known.suffix):
        order = conn.execute(_LOCK_ORDER_BY_NO, {"order_no": out_trade_no[:-1]}).first()
    payment = None
    if order is not None:
        payment = conn.execute(_LOCK_PAYMENT_BY_NO, {"out_trade_no": out_trade_no}).first()
    if payment is None or order is None or payment.order_id != order.id:
        # Not the usual shape: find the order through the payment, then lock as above.
        db.session.rollback()
        serialise_writers(_payments)
        conn = db.session.connection()
        found = conn.execute(_PAYMENT_BY_NO, {"out_trade_no": out_trade_no}).first()
        if found is None or found.channel != channel:
            db.session.rollback()
            raise UnknownPayment(out_trade_no)
        order = conn.execute(_LOCK_ORDER_BY_ID, {"id": found.order_id}).first()
        payment = conn.execute(_LOCK_PAYMENT_BY_NO, {"out_trade_no": out_trade_no}).first()
        assert order is not None and payment is not None
    if payment.channel != channel:
        db.session.rollback()
        raise UnknownPayment(out_trade_no)
    return order, payment


def apply_payment(
    channel: str,
    out_trade_no: str,
    transaction_id: str,
    amount_fen: int,
    payer_id: str | None = None,
    paid_at: datetime | None = None,
) -> Outcome:
    """Record that the gateway took `amount_fen` for `out_trade_no`; commit before returning.

    Raises UnknownPayment and PaymentMismatch without changing anything. Core statements
    under row locks: two locking reads, two updates and the commit. Every compare-and-set
    is checked: one that finds the row moved meanwhile rolls back and decides again from
    what is committed now (the order taken by the other channel: this payment is refunded).
    """
    order, payment = _lock_order_and_payment(channel, out_trade_no)
    if payment.status == PaymentStatus.PAID:
        db.session.rollback()
        if payment.transaction_id == transaction_id:
            # A repeat: re-queue attribution if its first push was lost (Redis was down).
            send_required(order_paid, __name__, order_id=order.id, repeated=True)
            return Outcome.DUPLICATE
        raise PaymentMismatch(f"{out_trade_no} already paid by {payment.transaction_id}")
    if amount_fen != payment.amount_fen:
        db.session.rollback()
        raise PaymentMismatch(
            f"{out_trade_no}: gateway says {amount_fen}, we asked {payment.amount_fen}"
        )

    paid_at = paid_at or utcnow()
    moved = direct_sql.execute(
        _MARK_PAYMENT_PAID,
        {
            "payment_id": payment.id,
            "transaction_id": transaction_id,
            "payer_id": payer_id,
            "paid_at": paid_at,
        },
    )
    if moved.rowcount != 1:  # paid meanwhile: read again (a duplicate, or a mismatch)
        db.session.rollback()
        return apply_payment(channel, out_trade_no, transaction_id, amount_fen, payer_id, paid_at)

    takes_it = order.status == OrderStatus.PENDING_PAYMENT or (
        order.status in (OrderStatus.CANCELLED, OrderStatus.CLOSED)
        and order_service.reserve_again(order.id)
    )
    if takes_it:
        marked = direct_sql.execute(
            _MARK_ORDER_PAID,
            {
                "order_id": order.id,
                "was": order.status,
                "paid_fen": amount_fen,
                "paid_at": paid_at,
                "channel": channel,
            },
        )
        if marked.rowcount != 1:  # the order moved since it was read: decide again
            db.session.rollback()
            return apply_payment(
                channel, out_trade_no, transaction_id, amount_fen, payer_id, paid_at
            )
        sales.count_paid_order(order.id)
        order_paying.send(
            __name__, order_id=order.id, coupon_id=order.coupon_id, held_by=order.held_by
        )
        db.session.commit()
        _expire_loaded(order.id, payment.id)
        send_required(order_paid, __name__, order_id=order.id, repeated=False)
        return Outcome.PAID

    db.session.commit()
    _expire_loaded(order.id, payment.id)
    log.warning(
        "payment %s arrived for order %s in %s: refunding", out_trade_no, order.id, order.status
    )
    enqueue("jobs.refunds.refund_orphan_payment", payment.id)
    return Outcome.REFUNDING


def _expire_loaded(order_id: int, payment_id: int) -> None:
    """Objects of this order or payment that the session had loaded (a caller's) read the
    new state on next access; Core updates do not touch them."""
    session = db.session()
    for key in (identity_key(Order, order_id), identity_key(Payment, payment_id)):
        loaded = session.identity_map.get(key)
        if loaded is not None:
            session.expire(loaded)


def settle_unpaid(order: Order) -> bool:
    """Make sure no gateway can still take money for `order`; apply any payment found.

    Returns True if the order may be ended (every attempt closed, nothing paid), False if a
    payment was found and applied. Raises GatewayUnavailable when a gateway cannot tell, in
    which case the order must stay as it is.
    """
    attempts = db.session.scalars(
        select(Payment).where(Payment.order_id == order.id, Payment.status == PaymentStatus.OPEN)
    ).all()
    return all(not _settle_attempt(payment) for payment in attempts)


def _settle_attempt(payment: Payment) -> bool:
    """Query, then close, one open attempt. True if it turned out to be paid."""
    pay_channel = channels.get(payment.channel)
    found = pay_channel.query(payment.out_trade_no)
    if found.state == "paid":
        _apply_queried(payment, found.transaction_id, found.amount_fen)
        return True
    if found.state == "open" and not pay_channel.close(payment.out_trade_no):
        found = pay_channel.query(payment.out_trade_no)
        _apply_queried(payment, found.transaction_id, found.amount_fen)
        return True
    db.session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.status == PaymentStatus.OPEN)
        .values(status=PaymentStatus.CLOSED)
    )
    db.session.commit()
    return False


def _apply_queried(payment: Payment, transaction_id: str | None, amount_fen: int | None) -> None:
    if not transaction_id or amount_fen is None:
        raise GatewayUnavailable("the gateway says paid but gives no transaction")
    try:
        apply_payment(payment.channel, payment.out_trade_no, transaction_id, amount_fen)
    except PaymentMismatch:
        log.error("queried payment %s disagrees with our record", payment.out_trade_no)
        raise


def cancel_by_user(user: User, order_id: int) -> Order:
    """The shopper cancels an unpaid order. Raises NotFound, Conflict (not pending, or it
    turned out to be paid), GatewayFailed (a gateway could not confirm it is unpaid)."""
    order = order_service.get_user_order(user.id, order_id)
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise Conflict(
            _(
                "the order is %(status)s; only an unpaid order can be cancelled",
                status=order.status,
            ),
            code="invalid_status",
        )
    try:
        may_end = settle_unpaid(order)
    except GatewayUnavailable:
        db.session.rollback()
        raise GatewayFailed(_("the payment gateway did not answer; try again")) from None
    if not may_end or not order_service.end_unpaid_order(order.id, OrderStatus.CANCELLED):
        db.session.refresh(order)
        raise Conflict(
            _("the order is already %(status)s", status=order.status), code="invalid_status"
        )
    db.session.refresh(order)
    return order


def close_expired_orders(limit: int = 200) -> dict[str, int]:
    """The sweep: close orders past their payment timeout, after asking each gateway.

    Returns counts; an order whose gateway does not answer stays pending for the next run.
    """
    now = utcnow()
    ids = db.session.scalars(
        select(Order.id)
        .where(Order.status == OrderStatus.PENDING_PAYMENT, Order.expires_at <= now)
        .order_by(Order.expires_at)
        .limit(limit)
    ).all()
    counts = {"closed": 0, "paid_late": 0, "unreachable": 0}
    for order_id in ids:
        order = db.session.get(Order, order_id)
        if order is None or order.status != OrderStatus.PENDING_PAYMENT:
            continue
        try:
            may_end = settle_unpaid(order)
        except GatewayUnavailable:
            db.session.rollback()
            counts["unreachable"] += 1
            continue
        if not may_end:
            counts["paid_late"] += 1
        elif order_service.end_unpaid_order(order_id, OrderStatus.CLOSED):
            counts["closed"] += 1
    db.session.remove()
    return counts
