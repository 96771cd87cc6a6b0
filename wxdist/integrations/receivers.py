"""Integrations listen inside the senders' transactions: each change a webhook reports
writes its outbox row there (`outbox.record`), so the event commits or rolls back with the
change. A failure here fails the change, as any write of its transaction would."""

from __future__ import annotations

from typing import Any

from wxdist.catalog.stock_alerts import OUT, warns
from wxdist.core import events
from wxdist.integrations import outbox, payloads


def order_paid(_sender: Any, *, order_id: int, **_: Any) -> None:
    outbox.record("order.paid", lambda: payloads.order(order_id))


def order_ended(_sender: Any, *, order_id: int, **_: Any) -> None:
    outbox.record("order.cancelled", lambda: payloads.order(order_id))


def refund_succeeded(_sender: Any, *, refund_id: int, **_: Any) -> None:
    outbox.record("refund.succeeded", lambda: payloads.refund(refund_id))


def distributor_approved(_sender: Any, *, user_id: int, **_: Any) -> None:
    outbox.record("distributor.approved", lambda: payloads.distributor(user_id))


def order_shipped(
    _sender: Any, *, order_id: int, shipment_id: int, all_delivered: bool, **_: Any
) -> None:
    outbox.record("order.shipped", lambda: payloads.shipment(order_id, shipment_id, all_delivered))


def order_completed(_sender: Any, *, order_id: int, **_: Any) -> None:
    outbox.record("order.completed", lambda: payloads.order(order_id))


def withdrawal_paid(_sender: Any, *, withdrawal_id: int, status: str, **_: Any) -> None:
    if status == "paid":
        outbox.record("withdrawal.paid", lambda: payloads.withdrawal(withdrawal_id))


def aftersale_changed(_sender: Any, *, aftersale_id: int, **_: Any) -> None:
    outbox.record("aftersale.changed", lambda: payloads.aftersale(aftersale_id))


def stock_alerting(
    _sender: Any, *, sku_id: int, state: str, previous: str, stock: int, threshold: int, **_: Any
) -> None:
    if not warns(state, previous):
        return
    event_type = "stock.out" if state == OUT else "stock.low"
    outbox.record(event_type, lambda: payloads.stock(sku_id, state, stock, threshold))


def connect() -> None:
    events.order_paying.connect(order_paid, weak=False)
    events.order_ending.connect(order_ended, weak=False)
    events.refund_applying.connect(refund_succeeded, weak=False)
    events.distributor_approving.connect(distributor_approved, weak=False)
    events.shipment_recording.connect(order_shipped, weak=False)
    events.order_completing.connect(order_completed, weak=False)
    events.withdrawal_finishing.connect(withdrawal_paid, weak=False)
    events.aftersale_moving.connect(aftersale_changed, weak=False)
    events.stock_alerting.connect(stock_alerting, weak=False)
    outbox.connect()
