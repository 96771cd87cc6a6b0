"""Shipments an ERP records (the open API's `POST /shipments`): the panel's own path
(`shop.shipments.ship`), so the order moves, the WeChat shipping upload is queued and the
`order.shipped` webhook goes out exactly as when staff ship; once per request id."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from wxdist.core.errors import NotFound
from wxdist.core.extensions import db
from wxdist.integrations import idempotency
from wxdist.models import Order, Shipment, ShipmentItem
from wxdist.shop import shipments
from wxdist.shop.shipments import Package

OPERATION = "shipment.create"


def create(
    key_pk: int, request_id: str, order_no: str, package: Package, body: bytes
) -> tuple[int, Any]:
    """Ship `package` of the order `order_no` (committed); (201, answer), or the first
    answer again for a request id already applied. Raises what `shipments.ship` raises,
    NotFound naming `order_no`, ApiError naming `request_id`, Conflict
    `request_id_reused`."""
    idempotency.check_request_id(request_id)
    order_id = db.session.scalar(select(Order.id).where(Order.order_no == order_no))
    if order_id is None:
        raise NotFound(_("no such order"), fields={"order_no": _("not found")})
    stored = idempotency.claim(key_pk, request_id, OPERATION, body)
    if stored is not None:
        return stored

    answered: dict[str, Any] = {}

    def store(shipment: Shipment) -> None:
        db.session.flush()
        answered.update(_answer(request_id, order_no, shipment))
        idempotency.answer(key_pk, request_id, 201, answered)

    shipments.ship(order_id, package, before_commit=store)
    return 201, answered


def _answer(request_id: str, order_no: str, shipment: Shipment) -> dict[str, Any]:
    """The shipment as recorded, in the transaction recording it."""
    lines = db.session.execute(
        select(ShipmentItem.order_item_id, ShipmentItem.quantity)
        .where(ShipmentItem.shipment_id == shipment.id)
        .order_by(ShipmentItem.id)
    )
    status = db.session.scalar(select(Order.status).where(Order.id == shipment.order_id))
    return {
        "request_id": request_id,
        "order_no": order_no,
        "order_status": status,
        "shipment": {
            "id": shipment.id, "seq": shipment.seq, "kind": shipment.kind,
            "delivery_id": shipment.delivery_id, "tracking_no": shipment.tracking_no,
            "items": [{"order_item_id": i, "quantity": q} for i, q in lines],
        },
    }  # fmt: skip
