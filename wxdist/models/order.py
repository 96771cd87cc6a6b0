"""Orders, their items, payment attempts and refunds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wxdist.core.extensions import db
from wxdist.models.types import BigId, Fen, UTCDateTime, utcnow


class OrderStatus:
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    SHIPPED = "shipped"
    COMPLETED = "completed"
    CANCELLED = "cancelled"  # by the shopper before paying
    CLOSED = "closed"  # by the sweep after the payment timeout
    REFUNDING = "refunding"  # a refund is with the gateway
    REFUNDED = "refunded"  # the whole paid amount went back

    ALL = (
        PENDING_PAYMENT,
        PAID,
        SHIPPED,
        COMPLETED,
        CANCELLED,
        CLOSED,
        REFUNDING,
        REFUNDED,
    )


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_user_created", "user_id", "created_at"),
        Index("ix_orders_status_expires", "status", "expires_at"),
        # The panel's order list, newest first (created_at, then id): unfiltered, by
        # status, and by the receiver's phone (exact match), each from its own index.
        Index("ix_orders_created", "created_at"),
        # The open API's "orders changed since a cursor" (wxdist.integrations.order_feed).
        Index("ix_orders_updated", "updated_at", "id"),
        Index("ix_orders_status_created", "status", "created_at"),
        Index("ix_orders_receiver_phone_created", "receiver_phone", "created_at"),
        # Sales bonuses and their leaderboards: each direct referrer's net sales in a
        # window, read from the index alone (wxdist.incentives.bonuses.net_sales).
        Index("ix_orders_paid_referrer", "paid_at", "referrer_l1_id", "paid_fen", "refunded_fen"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_no: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20), default=OrderStatus.PENDING_PAYMENT)
    # The status to return to when a partial refund settles.
    status_before_refund: Mapped[str | None] = mapped_column(String(20))
    goods_fen: Mapped[int] = mapped_column(Fen)
    shipping_fen: Mapped[int] = mapped_column(Fen, default=0)
    discount_fen: Mapped[int] = mapped_column(Fen, default=0)
    payable_fen: Mapped[int] = mapped_column(Fen)
    paid_fen: Mapped[int] = mapped_column(Fen, default=0)
    refunded_fen: Mapped[int] = mapped_column(Fen, default=0)
    pay_channel: Mapped[str | None] = mapped_column(String(16))
    # The coupon this order used (its items' shares are in order_adjustments).
    coupon_id: Mapped[int | None] = mapped_column(BigId)
    # The commission chain as it stood when the order was paid (snapshot; rebinding later
    # does not move earned commission).
    referrer_l1_id: Mapped[int | None] = mapped_column(BigId, index=True)
    referrer_l2_id: Mapped[int | None] = mapped_column(BigId, index=True)
    attributed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An activity holding the paid order back (e.g. "group": its group is forming or
    # failed): not shipped, not attributed while set (wxdist.shop.holds).
    held_by: Mapped[str | None] = mapped_column(String(16))
    commission_settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    receiver_name: Mapped[str] = mapped_column(String(64))
    receiver_phone: Mapped[str] = mapped_column(String(20))
    receiver_region: Mapped[str] = mapped_column(String(128))
    # The GB/T 2260 code of the address, when it had one (older and inline addresses may not).
    receiver_region_code: Mapped[str | None] = mapped_column(String(6))
    receiver_detail: Mapped[str] = mapped_column(String(255))
    remark: Mapped[str] = mapped_column(String(255), default="")
    carrier: Mapped[str | None] = mapped_column(String(64))
    tracking_no: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # cancelled or closed
    # Every change of the row moves it (an onupdate, filled by the ORM, Core and direct_sql).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    items: Mapped[list[OrderItem]] = relationship(order_by="OrderItem.id", back_populates="order")


class OrderItem(db.Model):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    title: Mapped[str] = mapped_column(String(128))  # snapshot at ordering
    sku_name: Mapped[str] = mapped_column(String(128))
    image_url: Mapped[str] = mapped_column(String(512), default="")
    price_fen: Mapped[int] = mapped_column(Fen)
    quantity: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(Fen)  # price x quantity
    paid_fen: Mapped[int] = mapped_column(Fen)  # amount_fen less every offer's share
    # What commission is computed on: paid_fen, or 0 under a "no commission" promotion.
    commission_base_fen: Mapped[int] = mapped_column(Fen)
    refunded_fen: Mapped[int] = mapped_column(Fen, default=0)

    order: Mapped[Order] = relationship(back_populates="items")


class PaymentStatus:
    OPEN = "open"  # prepaid at the gateway, not paid yet
    PAID = "paid"
    CLOSED = "closed"  # closed at the gateway; can no longer be paid


class Payment(db.Model):
    """One payment attempt of an order through one channel.

    `out_trade_no` is unique, so is (channel, transaction_id): a duplicate notify finds
    the row and changes nothing.
    """

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("channel", "transaction_id"),
        UniqueConstraint("order_id", "channel"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    channel: Mapped[str] = mapped_column(String(16))  # wechat | alipay
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    amount_fen: Mapped[int] = mapped_column(Fen)
    status: Mapped[str] = mapped_column(String(16), default=PaymentStatus.OPEN)
    prepay_id: Mapped[str | None] = mapped_column(String(64))
    transaction_id: Mapped[str | None] = mapped_column(String(64))
    payer_id: Mapped[str | None] = mapped_column(String(64))  # openid or Alipay buyer id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refunded_fen: Mapped[int] = mapped_column(Fen, default=0)


class RefundStatus:
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Refund(db.Model):
    """A refund of part or all of a payment; `out_refund_no` is stable across retries."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))
    order_item_id: Mapped[int | None] = mapped_column(ForeignKey("order_items.id"))
    out_refund_no: Mapped[str] = mapped_column(String(64), unique=True)
    amount_fen: Mapped[int] = mapped_column(Fen)
    reason: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16), default=RefundStatus.PROCESSING)
    gateway_refund_id: Mapped[str | None] = mapped_column(String(64))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
