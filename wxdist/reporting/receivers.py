"""Reporting listens: the daily figures and the report aggregates move with the changes
they count, inside the sender's transaction (see `core.events`)."""

from __future__ import annotations

from typing import Any

from wxdist.core import events
from wxdist.core.events import AttributedOrder
from wxdist.models import Order
from wxdist.reporting import daily_stats, insight


def count_attributed(_sender: Any, *, orders: list[AttributedOrder]) -> None:
    daily_stats.add_many(
        (
            order.paid_at,
            order.order_id,
            {
                "paid_orders": 1,
                "paid_fen": order.paid_fen,
                "commission_fen": order.commission_fen,
            },
        )
        for order in orders
    )
    insight.record_orders(order.order_id for order in orders)


def count_refund(_sender: Any, *, order: Order, refund_fen: int, **_: Any) -> None:
    daily_stats.add(None, order.id, refunds=1, refunded_fen=refund_fen)
    # Distribution's clawback ran before (receivers run in connection order): the order's
    # items and commission records already carry this refund.
    insight.record_orders([order.id])


def count_clawback(_sender: Any, *, order_id: int, taken_fen: int) -> None:
    daily_stats.add(None, order_id, commission_clawed_fen=taken_fen)


def count_new_distributor(_sender: Any, *, user_id: int) -> None:
    daily_stats.add(None, user_id, new_distributors=1)


def count_team_member(
    _sender: Any, *, user_id: int, referrer_id: int, share_code_id: int | None
) -> None:
    insight.count_member(referrer_id, user_id)


def connect() -> None:
    """Connect reporting's receivers (idempotent; `create_app` calls it)."""
    events.orders_attributed.connect(count_attributed, weak=False)
    events.refund_applying.connect(count_refund, weak=False)
    events.commission_clawed.connect(count_clawback, weak=False)
    events.distributor_approving.connect(count_new_distributor, weak=False)
    events.referral_bound.connect(count_team_member, weak=False)
