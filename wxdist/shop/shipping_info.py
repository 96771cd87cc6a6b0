"""Shipping information upload (发货信息管理): WeChat keeps a payment's funds frozen until
the merchant uploads how its order shipped (`wxa/sec/order/upload_shipping_info`).

One `ShippingSync` row per WeChat payment. Each shipment (or edit) bumps its `version`
(`bump`, inside the shipment's transaction) and, after commit, `queue_upload` starts the
upload. On RQ that is one drain job for any number of rows (`wxdist.core.drains`: one RQ
job's bookkeeping per upload cost more than the upload): it claims due rows a batch at a
time with a lease (FOR UPDATE SKIP LOCKED, so two workers never send one version), sends
each row's payload (every shipment of the order, `shipping_payload`), and records the
batch's outcomes in one transaction:

- accepted: `sent_version` = the version sent; `uploaded` when nothing newer is waiting;
- 10060001 (payment not known to WeChat yet), other retryable codes, 5xx and timeouts:
  `failed` with `next_attempt_at` after a backoff (30 s doubling, capped at an hour), for the
  sweep; after `SHIPPING_UPLOAD_MAX_ATTEMPTS` it waits for staff (`retry`); once WeChat is
  found unavailable the rest of the batch is not sent but given the same backoff;
- any other errcode: `failed` with no next attempt (staff look at `last_error`).

Inline (no Redis) the job `upload(payment_id)` uploads that payment in the caller's process.

WeChat takes ONE re-upload after a complete upload: `guard_reupload` refuses a second change
before anything is sent (Conflict `shipping_reupload_limit`). Before re-sending after a
failure whose outcome is unknown (a worker lost after sending, a timeout), and in the
sweep, `get_order` is asked: an order WeChat already shows shipped with our packages is
marked uploaded without sending again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from payments.errors import GatewayRejected, GatewayUnavailable
from wxdist.core.drains import Drain
from wxdist.core.errors import Conflict, NotFound
from wxdist.core.extensions import db
from wxdist.core.gateways import gateways
from wxdist.core.tasks import enqueue
from wxdist.models import Payment, PaymentStatus, ShippingSync, SyncState
from wxdist.models.types import utcnow
from wxdist.shop import channels
from wxdist.shop.shipping_payload import build_payloads, is_complete

log = logging.getLogger(__name__)

UPLOAD_PATH = "wxa/sec/order/upload_shipping_info"
GET_ORDER_PATH = "wxa/sec/order/get_order"
UPLOAD_JOB = "jobs.shipping.upload_shipping_info"  # one payment (inline jobs)
UPLOADS = Drain("shipping-upload", "jobs.shipping.upload_due")
BATCH = 20  # rows claimed at once; their outcomes are written in one transaction
NOT_FOUND_YET = "10060001"  # the payment has not reached the shipping system yet
RETRYABLE = frozenset({NOT_FOUND_YET, "-1", "45009", "45011"})  # busy, rate limits
LEASE_SECONDS = 60  # plus twice the gateway timeout per row claimed
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
    """Start the upload of the payment's shipping information (after the commit that
    bumped it): on RQ, the drain job (scheduled once for any number of rows); inline, this
    payment's upload now."""
    queue_uploads([payment_id])


def queue_uploads(payment_ids: Sequence[int]) -> None:
    """`queue_upload` of each payment: one drain job for them all on RQ; inline (or Redis
    away, when each job is left to the caller again), each payment's upload job."""
    if payment_ids and not UPLOADS.schedule():
        for payment_id in payment_ids:
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


# ---- the upload ------------------------------------------------------------------------


def _claimable(now: datetime) -> tuple[Any, ...]:
    """A row with a change WeChat has not been sent, that no live lease holds."""
    return (
        ShippingSync.sent_version < ShippingSync.version,
        or_(ShippingSync.lease_until.is_(None), ShippingSync.lease_until < now),
    )


def _due(now: datetime) -> tuple[Any, ...]:
    """A claimable row whose upload is due (pending, or failed with its backoff passed)."""
    return (
        *_claimable(now),
        ShippingSync.state.in_((SyncState.PENDING, SyncState.FAILED)),
        ShippingSync.next_attempt_at <= now,
    )


def _claim(payment_id: int | None = None, limit: int | None = None) -> list[ShippingSync]:
    """Take rows for this worker with a lease (committed): the due ones, oldest first, or
    the one of `payment_id` whatever its backoff. Rows another worker is claiming or holds
    are skipped (FOR UPDATE SKIP LOCKED, the lease), so two workers never share a row."""
    now = utcnow()
    query = select(ShippingSync.id)
    if payment_id is None:
        query = query.where(*_due(now)).order_by(ShippingSync.next_attempt_at)
    else:
        query = query.where(*_claimable(now), ShippingSync.payment_id == payment_id)
    query = query.limit(limit or BATCH).with_for_update(skip_locked=True)
    ids = list(db.session.scalars(query))
    if not ids:
        db.session.rollback()
        return []
    # Long enough for every call of the batch to time out twice (a token refresh).
    per_call = 2 * float(current_app.config["GATEWAY_TIMEOUT_SECONDS"])
    db.session.execute(
        update(ShippingSync)
        .where(ShippingSync.id.in_(ids))
        .values(
            lease_until=now + timedelta(seconds=LEASE_SECONDS + per_call * len(ids)),
            attempts=ShippingSync.attempts + 1,
        ),
        execution_options=PLAIN,
    )
    db.session.commit()
    return list(
        db.session.scalars(
            select(ShippingSync)
            .where(ShippingSync.id.in_(ids))
            .order_by(ShippingSync.id)
            .execution_options(populate_existing=True)
        )
    )


def upload(payment_id: int) -> str:
    """Upload the shipping information of WeChat payment `payment_id` if a change is
    waiting. Returns what happened: "uploaded", "reconciled", "retry", "failed" or
    "nothing". Never raises for a gateway's answer (it is recorded on the row)."""
    claimed = _claim(payment_id, limit=1)
    if not claimed:
        return "nothing"
    return _upload_claimed(claimed)[payment_id]


def upload_batch() -> int:
    """Claim up to BATCH due rows and upload them; how many were claimed."""
    claimed = _claim()
    if claimed:
        _upload_claimed(claimed)
    return len(claimed)


def drain(helper_slot: int = 0) -> int:
    """The drain job's work: upload every due row, a batch at a time (wxdist.core.drains);
    how many rows it claimed."""
    return UPLOADS.run(upload_batch, lambda: bool(due_payments(limit=1)), BATCH, helper_slot)


@dataclass(frozen=True)
class Claim:
    """What the upload needs of a claimed row, read before its transaction ends."""

    id: int
    payment_id: int
    version: int
    attempts: int
    complete_sent: int

    @classmethod
    def of(cls, sync: ShippingSync) -> Claim:
        return cls(sync.id, sync.payment_id, sync.version, sync.attempts, sync.complete_sent)


def _upload_claimed(syncs: list[ShippingSync]) -> dict[int, str]:
    """Send each claimed row's payload and record the outcomes in one short transaction at
    the end (the rows stay unlocked meanwhile, so shipments are never held up by WeChat).
    After WeChat is found unavailable, the rest of the batch is not sent but scheduled for
    a retry. Returns the outcome per payment id."""
    claims = [Claim.of(sync) for sync in syncs]
    payloads = _payloads(claims)
    db.session.rollback()  # no transaction stays open while WeChat answers
    record = _Record()
    unavailable: str | None = None
    for sync in claims:
        payload = payloads[sync.payment_id]
        if unavailable is not None:
            record.failure(sync, f"not sent, WeChat unavailable: {unavailable}", retry=True)
        elif sync.attempts > 1 and _wechat_has(payload):
            record.success(sync, payload, sent=False)
        else:
            try:
                gateways().miniprogram.post_json(UPLOAD_PATH, payload)
            except GatewayRejected as exc:
                record.failure(sync, f"{exc.code}: {exc}", exc.code in RETRYABLE)
            except GatewayUnavailable as exc:
                unavailable = str(exc)
                record.failure(sync, f"unavailable: {exc}", retry=True)
            else:
                record.success(sync, payload, sent=True)
    for payment_id in record.commit():
        queue_upload(payment_id)
    return record.outcomes


def _payloads(claims: list[Claim]) -> dict[int, dict[str, Any]]:
    """The payload of each claimed row, by payment id (a batch's worth of queries)."""
    payments = db.session.scalars(
        select(Payment).where(Payment.id.in_([claim.payment_id for claim in claims]))
    )
    return build_payloads(list(payments), utcnow())


class _Record:
    """A batch's outcomes, written in one transaction by `commit`. Each write is guarded by
    the attempt it records, so a row re-claimed after its lease ended is not overwritten."""

    def __init__(self) -> None:
        self.statements: list[Any] = []
        self.uploaded: list[int] = []
        self.outcomes: dict[int, str] = {}
        self.now = utcnow()

    def _guarded(self, sync: Claim) -> Any:
        return update(ShippingSync).where(
            ShippingSync.id == sync.id, ShippingSync.attempts == sync.attempts
        )

    def success(self, sync: Claim, payload: dict[str, Any], sent: bool) -> None:
        """WeChat holds `sync.version`: sent now, or found by get_order."""
        # After a complete upload, whatever WeChat now holds was its one correction.
        again = 1 if sync.complete_sent else 0
        self.statements.append(
            self._guarded(sync).values(
                sent_version=sync.version,
                uploads=ShippingSync.uploads + (1 if sent else 0),
                reuploads=ShippingSync.reuploads + again,
                complete_sent=1 if is_complete(payload) or sync.complete_sent else 0,
                state=SyncState.UPLOADED,
                last_error=None,
                lease_until=None,
                next_attempt_at=None,
                attempts=0,
                uploaded_at=self.now,
            )
        )
        self.uploaded.append(sync.id)
        self.outcomes[sync.payment_id] = "uploaded" if sent else "reconciled"

    def failure(self, sync: Claim, error: str, retry: bool) -> None:
        limit = int(current_app.config.get("SHIPPING_UPLOAD_MAX_ATTEMPTS", 20))
        retry = retry and sync.attempts < limit
        log.warning(
            "shipping upload of sync %s failed (attempt %s): %s", sync.id, sync.attempts, error
        )
        later = self.now + timedelta(seconds=backoff_seconds(sync.attempts))
        self.statements.append(
            self._guarded(sync).values(
                state=SyncState.FAILED,
                last_error=error[:1000],
                lease_until=None,
                next_attempt_at=later if retry else None,
            )
        )
        self.outcomes[sync.payment_id] = "retry" if retry else "failed"

    def commit(self) -> list[int]:
        """Write the outcomes; the payment ids whose rows a newer shipment bumped meanwhile
        (pending again, to be uploaded)."""
        for statement in self.statements:
            db.session.execute(statement, execution_options=PLAIN)
        waiting: list[int] = []
        if self.uploaded:
            newer = (
                ShippingSync.id.in_(self.uploaded),
                ShippingSync.version > ShippingSync.sent_version,
            )
            waiting = list(db.session.scalars(select(ShippingSync.payment_id).where(*newer)))
            if waiting:
                db.session.execute(
                    update(ShippingSync)
                    .where(*newer)
                    .values(state=SyncState.PENDING, next_attempt_at=self.now),
                    execution_options=PLAIN,
                )
        db.session.commit()
        return waiting


def backoff_seconds(attempts: int) -> int:
    return min(30 * 2 ** max(attempts - 1, 0), 3600)


# ---- reconcile, sweep, retry -----------------------------------------------------------


def wechat_order(key: dict[str, Any]) -> dict[str, Any] | None:
    """WeChat's view of the payment with this `order_key` (`get_order`), None when it
    cannot say."""
    body = (
        {"transaction_id": key["transaction_id"]}
        if "transaction_id" in key
        else {"merchant_id": key["mchid"], "merchant_trade_no": key["out_trade_no"]}
    )
    try:
        answer = gateways().miniprogram.post_json(GET_ORDER_PATH, body)
    except (GatewayRejected, GatewayUnavailable) as exc:
        log.info("get_order for %s: %s", key, exc)
        return None
    order = answer.get("order")
    return order if isinstance(order, dict) else None


def _wechat_has(payload: dict[str, Any]) -> bool:
    """True when WeChat shows the payload's order shipped with exactly its packages."""
    order = wechat_order(payload["order_key"])
    if order is None or int(order.get("order_state") or 0) < 2:
        return False
    shipping = order.get("shipping") or {}
    theirs = sorted(str(s.get("tracking_no") or "") for s in shipping.get("shipping_list") or [])
    ours = sorted(str(s.get("tracking_no") or "") for s in payload["shipping_list"])
    finished = bool(shipping.get("finish_shipping"))
    return theirs == ours and finished == is_complete(payload)


def due_payments(limit: int = 500) -> list[int]:
    """Payment ids whose upload is due and not held by a worker, oldest first."""
    now = utcnow()
    return list(
        db.session.scalars(
            select(ShippingSync.payment_id)
            .where(*_due(now))
            .order_by(ShippingSync.next_attempt_at)
            .limit(limit)
        )
    )


def sweep() -> int:
    """Periodic: start the upload of the rows that are due (backoff passed, a lost
    worker's lease ended), and mark uploaded the given-up rows WeChat shows shipped
    (get_order). Returns how many rows it acted on."""
    due = due_payments()
    queue_uploads(due)
    stuck = [
        Claim.of(sync)
        for sync in db.session.scalars(
            select(ShippingSync)
            .where(ShippingSync.state == SyncState.FAILED, ShippingSync.next_attempt_at.is_(None))
            .limit(100)
        )
    ]
    payloads = _payloads(stuck)
    db.session.rollback()
    record = _Record()
    for sync in stuck:
        if sync.payment_id in payloads and _wechat_has(payload := payloads[sync.payment_id]):
            record.success(sync, payload, sent=False)
    record.commit()
    return len(due) + len(record.uploaded)


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
    queue_upload(payment_id)
    db.session.refresh(sync)
    return sync


def order_syncs(order_id: int) -> list[ShippingSync]:
    return list(db.session.scalars(select(ShippingSync).where(ShippingSync.order_id == order_id)))
