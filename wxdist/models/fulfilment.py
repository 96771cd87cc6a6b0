"""Fulfilment: WeChat's carrier list (cached), shipments and their items, the shipping
information upload's sync state per WeChat payment, and tracking events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wxdist.core.extensions import db
from wxdist.models.types import BigId, UTCDateTime, utcnow


class ShipmentKind:
    EXPRESS = "express"  # a carrier and a tracking number
    VIRTUAL = "virtual"  # virtual goods: nothing travels
    PICKUP = "pickup"  # the shopper collects it

    ALL = (EXPRESS, VIRTUAL, PICKUP)


class SyncState:
    PENDING = "pending"  # something to upload (or being uploaded)
    UPLOADED = "uploaded"  # WeChat has what we have
    FAILED = "failed"  # the last try failed; `next_attempt_at` set when it will be retried

    ALL = (PENDING, UPLOADED, FAILED)


class DeliveryCompany(db.Model):
    """WeChat's carrier list (`get_delivery_list`), refreshed when older than a day."""

    __tablename__ = "delivery_companies"

    delivery_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Shipment(db.Model):
    """One package of an order (a split delivery has several)."""

    __tablename__ = "shipments"
    __table_args__ = (
        UniqueConstraint("order_id", "seq"),
        Index("ix_shipments_delivery_tracking", "delivery_id", "tracking_no"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, … within the order
    kind: Mapped[str] = mapped_column(String(12), default=ShipmentKind.EXPRESS)
    delivery_id: Mapped[str | None] = mapped_column(String(32))  # WeChat's carrier code
    tracking_no: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Tracking: when the carrier said it was signed for, and when WeChat was told.
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    receive_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tracking_subscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list[ShipmentItem]] = relationship(order_by="ShipmentItem.id")


class ShipmentItem(db.Model):
    """How many of an order item went in a shipment."""

    __tablename__ = "shipment_items"
    __table_args__ = (UniqueConstraint("shipment_id", "order_item_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"))
    order_item_id: Mapped[int] = mapped_column(ForeignKey("order_items.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)


class ShippingSync(db.Model):
    """The shipping information upload of one WeChat payment (发货信息管理).

    `version` counts the changes to upload (each shipment or edit adds one); `sent_version`
    is the version WeChat last accepted. `uploads` counts accepted uploads; `reuploads`
    those after a complete one (WeChat allows one). `lease_until` keeps two workers from
    sending the same version.
    """

    __tablename__ = "shipping_syncs"
    __table_args__ = (Index("ix_shipping_syncs_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    state: Mapped[str] = mapped_column(String(12), default=SyncState.PENDING)
    version: Mapped[int] = mapped_column(Integer, default=0)
    sent_version: Mapped[int] = mapped_column(Integer, default=0)
    complete_sent: Mapped[int] = mapped_column(Integer, default=0)  # 1: all delivered sent
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    uploads: Mapped[int] = mapped_column(Integer, default=0)
    reuploads: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TrackingEvent(db.Model):
    """One step of a parcel as its carrier reported it; (shipment, time, state) is unique,
    so a repeated query or callback adds nothing."""

    __tablename__ = "tracking_events"
    __table_args__ = (UniqueConstraint("shipment_id", "event_time", "state"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"))
    event_time: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16))  # collected, in_transit, delivering, signed…
    text: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
