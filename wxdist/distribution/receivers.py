"""Distribution listens: a paid order, or a paid order an activity released from its hold,
is queued for commission attribution (after commit), a refund claws its commission back
(inside the refund's transaction); a deleted account's profile is emptied and its team
detached (`privacy`). See `core.events`."""

from __future__ import annotations

from typing import Any

from wxdist.core import events
from wxdist.distribution import attribution_queue, privacy
from wxdist.distribution.settlement import clawback_locked
from wxdist.models import Order


def queue_attribution(_sender: Any, *, order_id: int, repeated: bool) -> None:
    if repeated:
        attribution_queue.paid_again(order_id)
    else:
        attribution_queue.order_paid(order_id)


def queue_released(_sender: Any, *, order_ids: list[int]) -> None:
    for order_id in order_ids:
        attribution_queue.order_paid(order_id)


def claw_back(_sender: Any, *, order: Order, refund_fen: int, **_: Any) -> None:
    clawback_locked(order)


def connect() -> None:
    """Connect distribution's receivers (idempotent; `create_app` calls it)."""
    events.order_paid.connect(queue_attribution, weak=False)
    events.orders_released.connect(queue_released, weak=False)
    events.refund_applying.connect(claw_back, weak=False)
    events.connect_privacy(privacy)
