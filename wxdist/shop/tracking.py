"""Parcel tracking: a provider interface, providers registered by name (as `channels` does
for payment channels), and what the shop does with what they report.

A provider subscribes a shipment's parcel (pushes to our callback, `CALLBACK_PATH`),
queries it, and reads a pushed callback (verifying its signature: untrusted input). Steps
are stored as `TrackingEvent` (time, state, text), unique per shipment, so a repeated push
adds nothing. When every package of a shipped order is signed for, WeChat is told once
(`wxa/sec/order/notify_confirm_receive`): the first shipment's `receive_notified_at` is
claimed with a compare-and-set before sending, and released if the send fails.

The provider in use is the `TRACKING_PROVIDER` setting (`kuaidi100`, or `none`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from payments.errors import GatewayRejected, GatewayUnavailable, InvalidNotify
from payments.kuaidi100 import Tracking
from wxdist.core.clock import from_local
from wxdist.core.errors import ApiError
from wxdist.core.extensions import db
from wxdist.core.gateways import gateways
from wxdist.core.sql import insert_ignore
from wxdist.models import Order, OrderStatus, Shipment, ShipmentKind, TrackingEvent
from wxdist.models.types import utcnow
from wxdist.shop import shipping_info, shipping_payload
from wxdist.shop.shipments import company_names, order_shipments

log = logging.getLogger(__name__)

CALLBACK_PATH = "/notify/tracking/{name}"
CONFIRM_PATH = "wxa/sec/order/notify_confirm_receive"
SIGNED = "signed"


class TrackingProvider(Protocol):
    name: str

    def query(self, shipment: Shipment, phone: str) -> Tracking: ...

    def subscribe(self, shipment: Shipment, phone: str, callback_url: str) -> None: ...

    def parse_callback(self, form: Mapping[str, str]) -> Tracking:
        """Raises InvalidNotify for a bad signature or shape."""
        ...

    def callback_answer(self, ok: bool, message: str = "") -> dict[str, Any]: ...


class Kuaidi100Provider:
    name = "kuaidi100"

    def query(self, shipment: Shipment, phone: str) -> Tracking:
        return gateways().kuaidi100.query(
            shipment.delivery_id or "", shipment.tracking_no or "", phone
        )

    def subscribe(self, shipment: Shipment, phone: str, callback_url: str) -> None:
        gateways().kuaidi100.subscribe(
            shipment.delivery_id or "", shipment.tracking_no or "", callback_url, phone
        )

    def parse_callback(self, form: Mapping[str, str]) -> Tracking:
        return gateways().kuaidi100.parse_callback(form)

    def callback_answer(self, ok: bool, message: str = "") -> dict[str, Any]:
        return gateways().kuaidi100.callback_answer(ok, message)


_PROVIDERS: dict[str, TrackingProvider] = {}


def register(provider: TrackingProvider) -> None:
    _PROVIDERS[provider.name] = provider


def find(name: str) -> TrackingProvider | None:
    return _PROVIDERS.get(name)


def current() -> TrackingProvider | None:
    """The provider the settings choose, None when tracking is off."""
    return find(current_app.config.get("TRACKING_PROVIDER", "none"))


register(Kuaidi100Provider())


def _phone(shipment: Shipment) -> str:
    order = db.session.get(Order, shipment.order_id)
    return order.receiver_phone if order else ""


def _express(shipment_id: int) -> Shipment | None:
    shipment = db.session.get(Shipment, shipment_id)
    if shipment is None or shipment.kind != ShipmentKind.EXPRESS or not shipment.tracking_no:
        return None
    return shipment


def subscribe(shipment_id: int) -> bool:
    """Subscribe the shipment's parcel with the provider (job). True once subscribed; a
    provider failure raises so the job is retried."""
    provider, shipment = current(), _express(shipment_id)
    if provider is None or shipment is None or shipment.tracking_subscribed_at is not None:
        return False
    url = current_app.config["PUBLIC_BASE_URL"] + CALLBACK_PATH.format(name=provider.name)
    provider.subscribe(shipment, _phone(shipment), url)
    db.session.execute(
        update(Shipment)
        .where(Shipment.id == shipment_id, Shipment.tracking_subscribed_at.is_(None))
        .values(tracking_subscribed_at=utcnow())
    )
    db.session.commit()
    return True


def _event_time(text: str) -> datetime:
    try:
        return from_local(datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S"))
    except ValueError:
        return utcnow().replace(microsecond=0)


def record(shipment_id: int, tracking: Tracking) -> int:
    """Store the steps (duplicates ignored); a signed parcel marks the shipment delivered
    and may tell WeChat the order was received. Returns how many steps were new."""
    before = _count(shipment_id)
    for track in tracking.tracks:
        insert_ignore(
            TrackingEvent.__table__,
            shipment_id=shipment_id,
            event_time=_event_time(track.time),
            state=track.state[:16],
            text=track.text[:255],
            created_at=utcnow(),
        )
    signed = tracking.signed or any(t.state == SIGNED for t in tracking.tracks)
    if signed:
        db.session.execute(
            update(Shipment)
            .where(Shipment.id == shipment_id, Shipment.delivered_at.is_(None))
            .values(delivered_at=utcnow())
        )
    db.session.commit()
    shipment = db.session.get(Shipment, shipment_id)
    if signed and shipment is not None:
        confirm_receive(shipment.order_id)
    return _count(shipment_id) - before


def _count(shipment_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(TrackingEvent)
            .where(TrackingEvent.shipment_id == shipment_id)
        )
        or 0
    )


def refresh(shipment_id: int) -> int:
    """Query the provider for the shipment's steps now. Raises ApiError
    `tracking_unavailable` when the provider refuses or does not answer."""
    provider, shipment = current(), _express(shipment_id)
    if provider is None or shipment is None:
        return 0
    try:
        tracking = provider.query(shipment, _phone(shipment))
    except (GatewayRejected, GatewayUnavailable) as exc:
        log.warning("tracking query of shipment %s failed: %s", shipment_id, exc)
        raise ApiError(
            _("the parcel's tracking is unavailable right now"),
            code="tracking_unavailable",
            status=502,
        ) from exc
    return record(shipment_id, tracking)


def handle_callback(name: str, form: Mapping[str, str]) -> tuple[bool, dict[str, Any]]:
    """A provider's push: (accepted, the answer to give it). A bad signature is refused and
    changes nothing; a parcel we do not know is acknowledged and ignored."""
    provider = find(name)
    if provider is None:
        return False, {"result": False, "message": "unknown provider"}
    try:
        tracking = provider.parse_callback(form)
    except InvalidNotify as exc:
        log.warning("%s callback refused: %s", name, exc)
        return False, provider.callback_answer(False, "sign error")
    shipment_id = db.session.scalar(
        select(Shipment.id)
        .where(Shipment.tracking_no == tracking.number, Shipment.delivery_id == tracking.company)
        .order_by(Shipment.id.desc())
        .limit(1)
    )
    if shipment_id is None:
        log.info("%s callback for unknown parcel %s", name, tracking.number)
    else:
        record(shipment_id, tracking)
    return True, provider.callback_answer(True)


def confirm_receive(order_id: int) -> bool:
    """Tell WeChat the order was received, once: when the order has shipped and every
    express package is signed for. True when this call sent it."""
    order = db.session.get(Order, order_id)
    payment = shipping_info.wechat_payment(order_id)
    if order is None or payment is None or order.status == OrderStatus.PAID:
        return False
    rows = list(db.session.scalars(select(Shipment).where(Shipment.order_id == order_id)))
    if not rows or any(s.delivered_at is None for s in rows if s.kind == ShipmentKind.EXPRESS):
        return False
    first = min(rows, key=lambda s: s.seq)
    claimed = db.session.execute(
        update(Shipment)
        .where(Shipment.id == first.id, Shipment.receive_notified_at.is_(None))
        .values(receive_notified_at=utcnow())
    )
    db.session.commit()
    if claimed.rowcount != 1:
        return False
    body = {
        **_confirm_key(payment),
        "received_time": int(max(s.delivered_at or utcnow() for s in rows).timestamp()),
    }
    try:
        gateways().miniprogram.post_json(CONFIRM_PATH, body)
    except (GatewayRejected, GatewayUnavailable) as exc:
        log.warning("notify_confirm_receive for order %s failed: %s", order_id, exc)
        db.session.execute(
            update(Shipment).where(Shipment.id == first.id).values(receive_notified_at=None)
        )
        db.session.commit()
        return False
    return True


def _confirm_key(payment: Any) -> dict[str, Any]:
    key = shipping_payload.order_key(payment)
    if "transaction_id" in key:
        return {"transaction_id": key["transaction_id"]}
    return {"merchant_id": key["mchid"], "merchant_trade_no": key["out_trade_no"]}


def order_tracking(order_id: int) -> list[dict[str, Any]]:
    """The order's shipments with their steps, newest step first (for the shopper)."""
    rows = order_shipments(order_id)
    try:
        names = company_names() if rows else {}
    except ApiError:
        names = {}
    events = db.session.scalars(
        select(TrackingEvent)
        .where(TrackingEvent.shipment_id.in_([s.id for s in rows]))
        .order_by(TrackingEvent.event_time.desc(), TrackingEvent.id.desc())
    ).all()
    by_shipment: dict[int, list[dict[str, Any]]] = {}
    for event in events:
        by_shipment.setdefault(event.shipment_id, []).append(
            {"time": event.event_time, "state": event.state, "text": event.text}
        )
    return [
        {
            "id": s.id,
            "seq": s.seq,
            "kind": s.kind,
            "delivery_id": s.delivery_id,
            "carrier_name": names.get(s.delivery_id or "", s.delivery_id),
            "tracking_no": s.tracking_no,
            "items": [{"order_item_id": i.order_item_id, "quantity": i.quantity} for i in s.items],
            "shipped_at": s.created_at,
            "delivered_at": s.delivered_at,
            "events": by_shipment.get(s.id, []),
        }
        for s in rows
    ]
