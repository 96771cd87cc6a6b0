"""Shipping information upload (发货信息管理): WeChat keeps a payment's funds frozen until
the merchant uploads how its order shipped (`wxa/sec/order/upload_shipping_info`).

One `ShippingSync` row per WeChat payment. Each shipment (or edit) bumps its `version`
(`bump`, inside the shipment's transaction); the job `upload(payment_id)` claims the row
with a lease (compare-and-set, so two workers never send the same version), sends every
shipment of the order as one payload, and records the outcome:

- accepted: `sent_version` = the version sent; `uploaded` when nothing newer is waiting;
- 10060001 (payment not known to WeChat yet), other retryable codes, 5xx and timeouts:
  `failed` with `next_attempt_at` after a backoff (30 s doubling, capped at an hour), for the
  sweep; after `SHIPPING_UPLOAD_MAX_ATTEMPTS` it waits for staff (`retry`);
- any other errcode: `failed` with no next attempt (staff look at `last_error`).

WeChat takes ONE re-upload after a complete upload: `guard_reupload` refuses a second change
before anything is sent (Conflict `shipping_reupload_limit`). Before re-sending after a
failure whose outcome is unknown, and in the sweep, `get_order` is asked: an order WeChat
already shows shipped with our packages is marked uploaded without sending again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from payments.errors import GatewayRejected, GatewayUnavailable
from wxdist.core.clock import to_local
from wxdist.core.errors import Conflict, NotFound
from wxdist.core.extensions import db
from wxdist.core.gateways import gateways
from wxdist.core.tasks import enqueue
from wxdist.models import (
    Order,
    OrderItem,
    OrderStatus,
    Payment,
    PaymentStatus,
    Shipment,
    ShipmentItem,
    ShipmentKind,
    ShippingSync,
    SyncState,
)
from wxdist.models.types import utcnow
from wxdist.shop import channels

log = logging.getLogger(__name__)

UPLOAD_PATH = "wxa/sec/order/upload_shipping_info"
GET_ORDER_PATH = "wxa/sec/order/get_order"
UPLOAD_JOB = "jobs.shipping.upload_shipping_info"
NOT_FOUND_YET = "10060001"  # the payment has not reached the shipping system yet
RETRYABLE = frozenset({NOT_FOUND_YET, "-1", "45009", "45011"})  # busy, rate limits
LOGISTICS_TYPE = {ShipmentKind.EXPRESS: 1, ShipmentKind.VIRTUAL: 3, ShipmentKind.PICKUP: 4}
UNIFIED, SPLIT = 1, 2
ITEM_DESC_MAX = 120
LEASE_SECONDS = 60
# Plain UPDATEs: the hot path needs no ORM session synchronisation (rows are re-read).
PLAIN = {"synchronize_session": False}


# ---- inside the shipment's transaction -------------------------------------------------


def wechat_payment(order_id: int) -> Payment | None:
    """The order's paid WeChat payment, if it has one."""
    return db.session.scalar(
        select(Payment).where(
            Payment.order_id == order_id,
            Payment.channel.in_(
                [c.name for c in channels.all_channels() if c.uploads_shipping_info]
            ),
            Payment.status == PaymentStatus.PAID,
        )
    )


def bump(order_id: int) -> int | None:
    """Note one more change to upload for the order's WeChat payment (creating its sync
    row); the payment id to queue the upload for, None without a WeChat payment. Call it
    with the order row locked."""
    payment = wechat_payment(order_id)
    if payment is None:
        return None
    now = utcnow()
    moved = db.session.execute(
        update(ShippingSync)
        .where(ShippingSync.payment_id == payment.id)
        .values(
            version=ShippingSync.version + 1,
            state=SyncState.PENDING,
            next_attempt_at=now,
        )
    )
    if moved.rowcount == 0:
        db.session.add(
            ShippingSync(
                payment_id=payment.id,
                order_id=order_id,
                state=SyncState.PENDING,
                version=1,
                next_attempt_at=now,
            )
        )
    return payment.id


def hurry(order_id: int | None) -> int | None:
    """WeChat reminded us to upload the shipping of the order's payment: an upload that is
    waiting out its backoff or failed is due now (not committed). The payment id to queue
    the upload for after commit (`queue_upload`), None when there is nothing to hurry (not
    shipped yet: staff must ship it; already uploaded)."""
    if order_id is None:
        return None
    payment = wechat_payment(order_id)
    if payment is None:
        return None
    moved = db.session.execute(
        update(ShippingSync)
        .where(
            ShippingSync.payment_id == payment.id,
            ShippingSync.state.in_((SyncState.PENDING, SyncState.FAILED)),
        )
        .values(state=SyncState.PENDING, next_attempt_at=utcnow(), lease_until=None)
    )
    return payment.id if moved.rowcount == 1 else None


def queue_upload(payment_id: int) -> None:
    """Queue the upload of the payment's shipping information (after commit)."""
    enqueue(UPLOAD_JOB, payment_id)


def guard_reupload(order_id: int) -> None:
    """Raises Conflict `shipping_reupload_limit` when WeChat already took the one re-upload
    it allows after a complete upload."""
    payment = wechat_payment(order_id)
    sync = payment and db.session.scalar(
        select(ShippingSync).where(ShippingSync.payment_id == payment.id)
    )
    if sync and sync.complete_sent and sync.reuploads >= 1:
        raise Conflict(
            _("WeChat takes one correction of shipping information; it was used"),
            code="shipping_reupload_limit",
        )


# ---- the payload -----------------------------------------------------------------------


def wechat_time(moment: datetime) -> str:
    """RFC 3339 in China time with milliseconds: 2026-12-03T14:05:00.000+08:00."""
    local = to_local(moment)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}+08:00"


def mask_phone(phone: str) -> str:
    """189****1234, as WeChat asks for SF's receiver contact."""
    phone = phone.strip()
    if len(phone) >= 7:
        return phone[:3] + "****" + phone[-4:]
    return "****" + phone[-4:]


def item_desc(lines: list[tuple[str, int]]) -> str:
    """ "title ×2; other ×1", cut to WeChat's 120 characters."""
    text = "; ".join(f"{title} ×{quantity}" for title, quantity in lines)
    return text if len(text) <= ITEM_DESC_MAX else text[: ITEM_DESC_MAX - 1] + "…"


def _packages(order_id: int) -> list[tuple[Shipment, list[tuple[str, int]]]]:
    """The order's shipments in order, each with its lines (name, quantity): one query."""
    rows = db.session.execute(
        select(Shipment, OrderItem.title, OrderItem.sku_name, ShipmentItem.quantity)
        .join(ShipmentItem, ShipmentItem.shipment_id == Shipment.id)
        .join(OrderItem, OrderItem.id == ShipmentItem.order_item_id)
        .where(Shipment.order_id == order_id)
        .order_by(Shipment.seq, ShipmentItem.id)
    ).all()
    packages: dict[int, tuple[Shipment, list[tuple[str, int]]]] = {}
    for shipment, title, sku_name, quantity in rows:
        name = f"{title} {sku_name}".strip() if sku_name else title
        packages.setdefault(shipment.id, (shipment, []))[1].append((name, quantity))
    return list(packages.values())


def order_key(payment: Payment) -> dict[str, Any]:
    if payment.transaction_id:
        return {"order_number_type": 2, "transaction_id": payment.transaction_id}
    return {
        "order_number_type": 1,
        "mchid": current_app.config["WECHAT_MCH_ID"],
        "out_trade_no": payment.out_trade_no,
    }


def build_payload(payment: Payment, now: datetime) -> dict[str, Any]:
    """The upload_shipping_info body for every shipment of the payment's order."""
    status, phone = db.session.execute(
        select(Order.status, Order.receiver_phone).where(Order.id == payment.order_id)
    ).one()
    packages = _packages(payment.order_id)
    all_delivered = status != OrderStatus.PAID
    kind = packages[0][0].kind if packages else ShipmentKind.EXPRESS
    shipping_list: list[dict[str, Any]] = []
    for shipment, lines in packages:
        entry: dict[str, Any] = {"item_desc": item_desc(lines)}
        if kind == ShipmentKind.EXPRESS:
            entry["tracking_no"] = shipment.tracking_no
            entry["express_company"] = shipment.delivery_id
            if shipment.delivery_id == "SF":
                entry["contact"] = {"receiver_contact": mask_phone(phone)}
        shipping_list.append(entry)
    mode = UNIFIED if len(packages) == 1 and all_delivered else SPLIT
    payload: dict[str, Any] = {
        "order_key": order_key(payment),
        "logistics_type": LOGISTICS_TYPE[kind],
        "delivery_mode": mode,
        "shipping_list": shipping_list,
        "upload_time": wechat_time(now),
        "payer": {"openid": payment.payer_id or ""},
    }
    if mode == SPLIT:
        payload["is_all_delivered"] = all_delivered
    return payload


# ---- the job ---------------------------------------------------------------------------


def _claim(payment_id: int) -> ShippingSync | None:
    """Take the row for this worker (lease); None when nothing is due or someone has it."""
    now = utcnow()
    claimed = db.session.execute(
        update(ShippingSync)
        .where(
            ShippingSync.payment_id == payment_id,
            ShippingSync.sent_version < ShippingSync.version,
            or_(ShippingSync.lease_until.is_(None), ShippingSync.lease_until < now),
        )
        .values(
            lease_until=now + timedelta(seconds=LEASE_SECONDS), attempts=ShippingSync.attempts + 1
        ),
        execution_options=PLAIN,
    )
    db.session.commit()
    if claimed.rowcount != 1:
        return None
    return db.session.scalar(
        select(ShippingSync)
        .where(ShippingSync.payment_id == payment_id)
        .execution_options(populate_existing=True)
    )


def upload(payment_id: int) -> str:
    """Upload the shipping information of WeChat payment `payment_id` if a change is
    waiting. Returns what happened: "uploaded", "reconciled", "retry", "failed" or
    "nothing". Never raises for a gateway's answer (it is recorded on the row)."""
    sync = _claim(payment_id)
    if sync is None:
        return "nothing"
    payment = db.session.get(Payment, payment_id)
    assert payment is not None
    version, attempts = sync.version, sync.attempts
    payload = build_payload(payment, utcnow())
    if attempts > 1 and _wechat_has(payment, payload):
        _record_success(sync, version, payload, sent=False)
        return "reconciled"
    try:
        gateways().miniprogram.post_json(UPLOAD_PATH, payload)
    except GatewayRejected as exc:
        return _record_failure(sync.id, attempts, f"{exc.code}: {exc}", exc.code in RETRYABLE)
    except GatewayUnavailable as exc:
        return _record_failure(sync.id, attempts, f"unavailable: {exc}", True)
    more = _record_success(sync, version, payload, sent=True)
    if more:
        enqueue(UPLOAD_JOB, payment_id)
    return "uploaded"


def _is_complete(payload: dict[str, Any]) -> bool:
    return payload["delivery_mode"] == UNIFIED or bool(payload.get("is_all_delivered"))


def _record_success(sync: ShippingSync, version: int, payload: dict[str, Any], sent: bool) -> bool:
    """Record version `version` as WeChat's (`sync` as claimed); True when a newer one is
    waiting."""
    sync_id, attempts = sync.id, sync.attempts
    # After a complete upload, whatever WeChat now holds (sent, or found by get_order) was
    # its one correction.
    again = 1 if sync.complete_sent else 0
    now = utcnow()
    db.session.execute(
        update(ShippingSync)
        .where(ShippingSync.id == sync_id, ShippingSync.attempts == attempts)
        .values(
            sent_version=version,
            uploads=ShippingSync.uploads + (1 if sent else 0),
            reuploads=ShippingSync.reuploads + again,
            complete_sent=1 if _is_complete(payload) or sync.complete_sent else 0,
            state=SyncState.UPLOADED,
            last_error=None,
            lease_until=None,
            next_attempt_at=None,
            attempts=0,
            uploaded_at=now,
        ),
        execution_options=PLAIN,
    )
    # A shipment recorded meanwhile bumped `version`: the row is pending again.
    waiting = db.session.execute(
        update(ShippingSync)
        .where(ShippingSync.id == sync_id, ShippingSync.version > version)
        .values(state=SyncState.PENDING, next_attempt_at=now),
        execution_options=PLAIN,
    )
    db.session.commit()
    return waiting.rowcount == 1


def backoff_seconds(attempts: int) -> int:
    return min(30 * 2 ** max(attempts - 1, 0), 3600)


def _record_failure(sync_id: int, attempts: int, error: str, retry: bool) -> str:
    limit = int(current_app.config.get("SHIPPING_UPLOAD_MAX_ATTEMPTS", 20))
    retry = retry and attempts < limit
    log.warning("shipping upload of sync %s failed (attempt %s): %s", sync_id, attempts, error)
    db.session.execute(
        update(ShippingSync)
        .where(ShippingSync.id == sync_id, ShippingSync.attempts == attempts)
        .values(
            state=SyncState.FAILED,
            last_error=error[:1000],
            lease_until=None,
            next_attempt_at=utcnow() + timedelta(seconds=backoff_seconds(attempts))
            if retry
            else None,
        )
    )
    db.session.commit()
    return "retry" if retry else "failed"


# ---- reconcile, sweep, retry -----------------------------------------------------------


def wechat_order(payment: Payment) -> dict[str, Any] | None:
    """WeChat's view of the payment (`get_order`), None when it cannot say."""
    key = order_key(payment)
    body = (
        {"transaction_id": key["transaction_id"]}
        if "transaction_id" in key
        else {"merchant_id": key["mchid"], "merchant_trade_no": key["out_trade_no"]}
    )
    try:
        answer = gateways().miniprogram.post_json(GET_ORDER_PATH, body)
    except (GatewayRejected, GatewayUnavailable) as exc:
        log.info("get_order for payment %s: %s", payment.id, exc)
        return None
    order = answer.get("order")
    return order if isinstance(order, dict) else None


def _wechat_has(payment: Payment, payload: dict[str, Any]) -> bool:
    """True when WeChat shows the order shipped with exactly these packages."""
    order = wechat_order(payment)
    if order is None or int(order.get("order_state") or 0) < 2:
        return False
    shipping = order.get("shipping") or {}
    theirs = sorted(str(s.get("tracking_no") or "") for s in shipping.get("shipping_list") or [])
    ours = sorted(str(s.get("tracking_no") or "") for s in payload["shipping_list"])
    finished = bool(shipping.get("finish_shipping"))
    return theirs == ours and finished == _is_complete(payload)


def due_payments(limit: int = 500) -> list[int]:
    """Payment ids whose upload is due (pending or failed with a next attempt passed)."""
    now = utcnow()
    return list(
        db.session.scalars(
            select(ShippingSync.payment_id)
            .where(
                ShippingSync.state.in_((SyncState.PENDING, SyncState.FAILED)),
                ShippingSync.next_attempt_at <= now,
                ShippingSync.sent_version < ShippingSync.version,
            )
            .order_by(ShippingSync.next_attempt_at)
            .limit(limit)
        )
    )


def sweep() -> int:
    """Periodic: queue the uploads that are due, and mark uploaded the given-up rows
    WeChat shows shipped (get_order). Returns how many rows it acted on."""
    acted = 0
    for payment_id in due_payments():
        enqueue(UPLOAD_JOB, payment_id)
        acted += 1
    stuck = db.session.scalars(
        select(ShippingSync)
        .where(ShippingSync.state == SyncState.FAILED, ShippingSync.next_attempt_at.is_(None))
        .limit(100)
    ).all()
    for sync in stuck:
        payment = db.session.get(Payment, sync.payment_id)
        if payment is None:
            continue
        payload = build_payload(payment, utcnow())
        if _wechat_has(payment, payload):
            _record_success(sync, sync.version, payload, sent=False)
            acted += 1
    return acted


def retry(payment_id: int) -> ShippingSync:
    """Staff: try a failed upload again now. Raises NotFound, Conflict (not failed)."""
    sync = db.session.scalar(select(ShippingSync).where(ShippingSync.payment_id == payment_id))
    if sync is None:
        raise NotFound(_("no shipping upload for this payment"))
    moved = db.session.execute(
        update(ShippingSync)
        .where(ShippingSync.id == sync.id, ShippingSync.state == SyncState.FAILED)
        .values(state=SyncState.PENDING, attempts=0, next_attempt_at=utcnow(), lease_until=None)
    )
    if moved.rowcount != 1:
        db.session.rollback()
        raise Conflict(_("only a failed upload can be retried"), code="invalid_status")
    db.session.commit()
    enqueue(UPLOAD_JOB, payment_id)
    db.session.refresh(sync)
    return sync


def order_syncs(order_id: int) -> list[ShippingSync]:
    return list(db.session.scalars(select(ShippingSync).where(ShippingSync.order_id == order_id)))
