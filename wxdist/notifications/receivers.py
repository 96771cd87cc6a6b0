"""Notifications listen (all after commit, see `core.events`): each event that owes a
shopper, a distributor or a staff member (stock alerts) a subscribe message queues it. A
deleted account's consents and message data go inside the deletion's transaction
(`privacy`). A receiver never raises into the sender: a database failure is logged and the
notice is lost (the event itself stands)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from wxdist.catalog.stock_alerts import warns
from wxdist.core import events
from wxdist.core.extensions import db
from wxdist.notifications import notices, privacy

log = logging.getLogger(__name__)


def _quietly(what: str, build: Callable[[], Any]) -> None:
    try:
        build()
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("the %s notice could not be queued", what)


def on_order_shipped(
    _sender: Any, *, order_id: int, shipment_id: int | None = None, **_extra: Any
) -> None:
    _quietly("order_shipped", lambda: notices.order_shipped(order_id, shipment_id))


def on_aftersale_changed(
    _sender: Any, *, aftersale_id: int, user_id: int, status: str, **_extra: Any
) -> None:
    _quietly("aftersale_result", lambda: notices.aftersale_result(aftersale_id, user_id, status))


def on_commission_settled(
    _sender: Any,
    *,
    beneficiary_id: int,
    amount_fen: int,
    order_id: int | None = None,
    **_extra: Any,
) -> None:
    _quietly(
        "commission_settled",
        lambda: notices.commission_settled(beneficiary_id, amount_fen, order_id),
    )


def on_withdrawal_finished(
    _sender: Any, *, withdrawal_id: int, user_id: int, status: str, **_extra: Any
) -> None:
    _quietly(
        "withdrawal_finished",
        lambda: notices.withdrawal_finished(withdrawal_id, user_id, status),
    )


def on_distributor_approved(_sender: Any, *, user_id: int, **_extra: Any) -> None:
    _quietly("distributor_approved", lambda: notices.distributor_approved(user_id))


def on_stock_alerted(
    _sender: Any, *, sku_id: int, state: str, previous: str, stock: int, threshold: int, **_: Any
) -> None:
    if warns(state, previous):
        _quietly("stock_alert", lambda: notices.stock_alert(sku_id, state, stock, threshold))


def connect() -> None:
    """Connect the notices (idempotent; `create_app` calls it)."""
    events.order_shipped.connect(on_order_shipped, weak=False)
    events.aftersale_changed.connect(on_aftersale_changed, weak=False)
    events.commission_settled.connect(on_commission_settled, weak=False)
    events.withdrawal_finished.connect(on_withdrawal_finished, weak=False)
    events.distributor_approved.connect(on_distributor_approved, weak=False)
    events.stock_alerted.connect(on_stock_alerted, weak=False)
    events.connect_privacy(privacy)
