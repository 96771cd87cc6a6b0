"""Distribution listens: a paid order is queued for commission attribution (after commit),
a refund claws its commission back (inside the refund's transaction); a deleted
account's profile is emptied and its team detached (`privacy`). See `core.events`."""

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


def claw_back(_sender: Any, *, order: Order, refund_fen: int) -> None:
    clawback_locked(order)


def account_deleted(_sender: Any, *, user_id: int) -> None:
    privacy.anonymise(user_id)


def export_sections(_sender: Any, *, user_id: int) -> dict[str, Any]:
    return privacy.export(user_id)


def connect() -> None:
    """Connect distribution's receivers (idempotent; `create_app` calls it)."""
    events.order_paid.connect(queue_attribution, weak=False)
    events.refund_applying.connect(claw_back, weak=False)
    events.account_deleted.connect(account_deleted, weak=False)
    events.export_sections.connect(export_sections, weak=False)
