"""Shipments: an order ships in one or more packages (split delivery), each express (a
carrier from WeChat's list and a tracking number), virtual or pickup, holding some of the
order's items. The order moves paid → shipped (compare-and-set) with its last unshipped
item; until then it stays paid with its shipments listed.

Every shipment (and an edit of one) bumps the order's WeChat payment's shipping sync row
(`shipping_info`), and after commit queues its upload and sends `order_shipped`.

Carriers: WeChat's `get_delivery_list`, cached in `delivery_companies` for
`SHIPPING_CARRIERS_TTL_SECONDS` (a day by default). There is no default carrier: an
unknown code is refused, naming `delivery_id`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from payments.errors import GatewayRejected, GatewayUnavailable
from wxdist.core.errors import ApiError, Conflict, GatewayFailed, NotFound
from wxdist.core.events import order_shipped, shipment_recording
from wxdist.core.extensions import db
from wxdist.core.gateways import gateways
from wxdist.core.tasks import enqueue
from wxdist.models import (
    DeliveryCompany,
    Order,
    OrderItem,
    OrderStatus,
    Shipment,
    ShipmentItem,
    ShipmentKind,
)
from wxdist.models.types import utcnow
from wxdist.shop import holds, shipping_info
from wxdist.shop.orders import lock_order

log = logging.getLogger(__name__)

DELIVERY_LIST_PATH = "cgi-bin/express/delivery/open_msg/get_delivery_list"
TRACKING_JOB = "jobs.tracking.subscribe_tracking"
MAX_TRACKING_NO = 64


@dataclass
class Package:
    """What staff ship in one package. `items`: order item id → quantity; empty means every
    item not shipped yet."""

    kind: str = ShipmentKind.EXPRESS
    delivery_id: str | None = None
    tracking_no: str | None = None
    items: dict[int, int] = field(default_factory=dict)


# ---- carriers --------------------------------------------------------------------------


def company_names(refresh: bool = False) -> dict[str, str]:
    """WeChat's carriers, delivery_id → name, from the cache unless it is older than the
    TTL (or `refresh`). A refresh writes through its own connection, so the caller's session
    (an audit entry waiting for the service's commit) is left alone, and answers from what
    WeChat sent (the session's snapshot may predate the write). Raises GatewayFailed when
    there is no list and WeChat does not give one."""
    ttl = int(current_app.config.get("SHIPPING_CARRIERS_TTL_SECONDS", 86400))
    with db.session.no_autoflush:
        cached = {
            row.delivery_id: (row.name, row.fetched_at)
            for row in db.session.scalars(select(DeliveryCompany))
        }
    newest = max((fetched for _, fetched in cached.values()), default=None)
    if refresh or newest is None or newest < utcnow() - timedelta(seconds=ttl):
        fresh = _refresh_companies(have_some=bool(cached))
        if fresh:
            return fresh
    return {code: name for code, (name, _) in sorted(cached.items())}


def _refresh_companies(have_some: bool) -> dict[str, str] | None:
    try:
        answer = gateways().miniprogram.post_json(DELIVERY_LIST_PATH, {})
    except (GatewayRejected, GatewayUnavailable) as exc:
        log.warning("get_delivery_list failed: %s", exc)
        if have_some:
            return None  # keep using the stale list rather than refuse every shipment
        raise GatewayFailed(_("WeChat's carrier list is unavailable; try again")) from exc
    listed = {
        str(row.get("delivery_id", ""))[:32]: str(row.get("delivery_name", ""))[:64]
        for row in answer.get("delivery_list") or []
        if isinstance(row, dict) and row.get("delivery_id")
    }
    if not listed:
        return None
    now = utcnow()
    table = DeliveryCompany.__table__
    try:
        with db.engine.begin() as conn:
            conn.execute(delete(table))
            conn.execute(
                table.insert(),
                [{"delivery_id": i, "name": n, "fetched_at": now} for i, n in listed.items()],
            )
    except (IntegrityError, OperationalError) as exc:  # another process refreshed it
        log.info("carrier cache not written: %s", exc)
    return dict(sorted(listed.items()))


# ---- shipping --------------------------------------------------------------------------


def _check_package(package: Package) -> Package:
    """The package with its text trimmed; raises ApiError naming each bad field."""
    errors: dict[str, str] = {}
    kind = (package.kind or "").strip()
    delivery_id = (package.delivery_id or "").strip() or None
    tracking_no = (package.tracking_no or "").strip() or None
    if kind not in ShipmentKind.ALL:
        errors["kind"] = _("must be one of %(choices)s", choices=", ".join(ShipmentKind.ALL))
    elif kind == ShipmentKind.EXPRESS:
        if delivery_id is None:
            errors["delivery_id"] = _("required")
        elif delivery_id not in company_names():
            errors["delivery_id"] = _("not a carrier on WeChat's list")
        if tracking_no is None:
            errors["tracking_no"] = _("required")
        elif len(tracking_no) > MAX_TRACKING_NO:
            errors["tracking_no"] = _("at most %(count)s characters", count=MAX_TRACKING_NO)
    else:
        delivery_id = tracking_no = None  # nothing travels with a carrier
    for item_id, quantity in package.items.items():
        if not isinstance(quantity, int) or quantity < 0:
            errors[f"items.{item_id}"] = _("must be a whole number, 0 or more")
    if errors:
        raise ApiError(_("the shipment is incomplete or wrong"), fields=errors)
    items = {i: q for i, q in package.items.items() if q > 0}
    return Package(kind, delivery_id, tracking_no, items)


def _lock_order(order_id: int) -> Order:
    order = lock_order(order_id)
    if order is None:
        raise NotFound(_("no such order"))
    return order


def shipped_quantity(order_item_id: int) -> int:
    """How many of the order item have left in a package."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(ShipmentItem.quantity), 0)).where(
            ShipmentItem.order_item_id == order_item_id
        )
    )
    return int(total or 0)


def unshipped(order_id: int) -> dict[int, int]:
    """Order item id → quantity still to ship (an item refunded in full needs none)."""
    shipped = dict(
        db.session.execute(
            select(ShipmentItem.order_item_id, func.sum(ShipmentItem.quantity))
            .join(Shipment, Shipment.id == ShipmentItem.shipment_id)
            .where(Shipment.order_id == order_id)
            .group_by(ShipmentItem.order_item_id)
        ).all()
    )
    items = db.session.scalars(select(OrderItem).where(OrderItem.order_id == order_id))
    return {
        item.id: item.quantity - int(shipped.get(item.id) or 0)
        for item in items
        if not (item.paid_fen > 0 and item.refunded_fen >= item.paid_fen)
    }


def _choose_items(order_id: int, wanted: dict[int, int]) -> tuple[dict[int, int], bool]:
    """The items of this package and whether it ships the last of the order. Raises
    ApiError naming `items` or an item, Conflict when nothing is left to ship."""
    remaining = {i: q for i, q in unshipped(order_id).items() if q > 0}
    if not remaining:
        raise Conflict(_("every item of this order has shipped"), code="nothing_to_ship")
    chosen = dict(wanted) if wanted else dict(remaining)
    errors = {
        f"items.{item_id}": _("at most %(count)s left to ship", count=remaining.get(item_id, 0))
        for item_id, quantity in chosen.items()
        if quantity > remaining.get(item_id, 0)
    }
    if errors:
        raise ApiError(_("more than is left to ship"), fields=errors)
    if not chosen:
        raise ApiError(_("choose what goes in the package"), fields={"items": _("required")})
    last = all(chosen.get(i, 0) == q for i, q in remaining.items())
    return chosen, last


def ship(
    order_id: int, package: Package, before_commit: Callable[[Shipment], None] | None = None
) -> Shipment:
    """Record one package of paid order `order_id`; with its last item the order moves
    paid → shipped. `before_commit` writes in the same transaction (the open API stores its
    answer). After commit: the shipping information upload is queued and `order_shipped`
    sent. Raises ApiError (fields named), NotFound, Conflict (`invalid_status` when not
    paid, `nothing_to_ship`, `mixed_shipment_kinds`), each after rolling back."""
    package = _check_package(package)
    try:
        shipment, last, sync_payment = _record_package(order_id, package)
        if before_commit is not None:
            before_commit(shipment)
    except ApiError:
        db.session.rollback()
        raise
    db.session.commit()
    _after_commit(order_id, shipment.id, last, sync_payment, package.kind == ShipmentKind.EXPRESS)
    return shipment


def _record_package(order_id: int, package: Package) -> tuple[Shipment, bool, int | None]:
    """Inside the transaction: the shipment, whether it was the order's last, and the
    WeChat payment whose upload to queue."""
    order = _lock_order(order_id)
    if order.status != OrderStatus.PAID:
        raise Conflict(
            _("only a paid order can ship; this one is %(status)s", status=order.status),
            code="invalid_status",
        )
    holds.refuse_if_held(order)
    previous = list(db.session.scalars(select(Shipment).where(Shipment.order_id == order_id)))
    if any(s.kind != package.kind for s in previous):
        raise ApiError(
            _("every package of an order ships the same way"),
            code="mixed_shipment_kinds",
            fields={"kind": _("must be %(kind)s like the earlier packages", kind=previous[0].kind)},
        )
    chosen, last = _choose_items(order_id, package.items)
    shipment = Shipment(
        order_id=order_id,
        seq=len(previous) + 1,
        kind=package.kind,
        delivery_id=package.delivery_id,
        tracking_no=package.tracking_no,
    )
    db.session.add(shipment)
    db.session.flush()
    db.session.add_all(
        ShipmentItem(shipment_id=shipment.id, order_item_id=i, quantity=q)
        for i, q in sorted(chosen.items())
    )
    if last:
        _mark_shipped(order, package)
    shipment_recording.send(__name__, order_id=order_id, shipment_id=shipment.id,
                            all_delivered=last)  # fmt: skip
    return shipment, last, shipping_info.bump(order_id)


def _mark_shipped(order: Order, package: Package) -> None:
    moved = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == OrderStatus.PAID)
        .values(
            status=OrderStatus.SHIPPED,
            carrier=package.delivery_id or package.kind,
            tracking_no=package.tracking_no,
            shipped_at=utcnow(),
        )
    )
    if moved.rowcount != 1:  # the row is locked: only a bug gets here
        raise Conflict(_("the order changed; reload and retry"), code="invalid_status")


def _after_commit(
    order_id: int, shipment_id: int, last: bool, payment_id: int | None, express: bool
) -> None:
    if payment_id is not None:
        shipping_info.queue_upload(payment_id)
    if express and current_app.config.get("TRACKING_PROVIDER", "none") != "none":
        enqueue(TRACKING_JOB, shipment_id)
    order_shipped.send(None, order_id=order_id, shipment_id=shipment_id, all_delivered=last)


def ship_whole_order(order_id: int, delivery_id: str, tracking_no: str) -> Shipment:
    """Ship everything left of `order_id` in one express package (the CLI and the demo)."""
    return ship(order_id, Package(ShipmentKind.EXPRESS, delivery_id, tracking_no))


def edit_shipment(shipment_id: int, delivery_id: str, tracking_no: str) -> Shipment:
    """Correct an express shipment's carrier or tracking number. WeChat takes one re-upload
    of a complete upload: a second is refused (Conflict `shipping_reupload_limit`) and not
    sent. Raises ApiError (fields), NotFound, Conflict."""
    shipment = db.session.get(Shipment, shipment_id)
    if shipment is None:
        raise NotFound(_("no such shipment"))
    checked = _check_package(Package(shipment.kind, delivery_id, tracking_no))
    _lock_order(shipment.order_id)
    try:
        shipping_info.guard_reupload(shipment.order_id)
    except ApiError:
        db.session.rollback()
        raise
    db.session.execute(
        update(Shipment)
        .where(Shipment.id == shipment_id)
        .values(
            delivery_id=checked.delivery_id,
            tracking_no=checked.tracking_no,
            tracking_subscribed_at=None,  # the new number is subscribed afresh
        )
    )
    sync_payment = shipping_info.bump(shipment.order_id)
    db.session.commit()
    if sync_payment is not None:
        shipping_info.queue_upload(sync_payment)
    if shipment.kind == ShipmentKind.EXPRESS:
        enqueue(TRACKING_JOB, shipment_id)
    db.session.refresh(shipment)
    return shipment


def order_shipments(order_id: int) -> list[Shipment]:
    """The order's shipments in order, their items loaded."""
    from sqlalchemy.orm import selectinload

    return list(
        db.session.scalars(
            select(Shipment)
            .where(Shipment.order_id == order_id)
            .options(selectinload(Shipment.items))
            .order_by(Shipment.seq)
        )
    )
