"""Customers listen: the figures move inside the sender's transaction (see `core.events`);
deletion and export answer for tags and notes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wxdist.core import events
from wxdist.core.events import AttributedOrder
from wxdist.customers import privacy, stats
from wxdist.models import Order


def on_joined(_sender: Any, *, user_id: int, created_at: datetime) -> None:
    stats.joined(user_id, created_at)


def on_bound(_sender: Any, *, user_id: int, referrer_id: int, **_: Any) -> None:
    stats.bound(user_id, referrer_id)


def on_attributed(_sender: Any, *, orders: list[AttributedOrder]) -> None:
    stats.attributed(orders)


def on_refund(_sender: Any, *, order: Order, refund_fen: int, **_: Any) -> None:
    stats.refunded(order, refund_fen)


def connect() -> None:
    """Connect the customers' receivers (idempotent; `create_app` calls it)."""
    events.user_joined.connect(on_joined, weak=False)
    events.referral_bound.connect(on_bound, weak=False)
    events.orders_attributed.connect(on_attributed, weak=False)
    events.refund_applying.connect(on_refund, weak=False)
    events.connect_privacy(privacy)
