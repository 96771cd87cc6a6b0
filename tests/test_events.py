"""core.events: receivers run in the order they were connected (lower domains first, the
lock order the money flow relies on), and a required signal refuses to go unheard."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from wxdist.core import events


def test_receivers_run_in_the_order_they_were_connected() -> None:
    signal = events.signals.signal("test_order_of_receivers")
    heard: list[str] = []

    def make(name: str) -> Any:
        def receiver(_sender: Any, **_kwargs: Any) -> None:
            heard.append(name)

        return receiver

    receivers = [make(name) for name in ("zeta", "alpha", "mid", "beta", "omega")]
    for receiver in receivers:
        signal.connect(receiver, weak=False)
    signal.connect(receivers[1], weak=False)  # connecting again keeps the first place
    signal.send("test")
    assert heard == ["zeta", "alpha", "mid", "beta", "omega"]


def test_a_required_signal_with_nobody_listening_is_refused() -> None:
    signal = events.signals.signal("test_unheard")
    with pytest.raises(events.NobodyListening):
        events.send_required(signal, "test", order_id=1)


def test_the_app_connects_distribution_before_reporting(app: Flask) -> None:
    """A refund's clawback (ledger rows) runs before its count (the daily row), the order
    attribution takes those locks in; the coupon goes back (marketing, the same layer as
    distribution) between them; the customer's figures (customers, beside reporting) last."""
    names = [
        f"{receiver.__module__}.{receiver.__name__}"
        for receiver in events.refund_applying.receivers_for("wxdist.shop.refunds")
    ]
    assert names == [
        "wxdist.distribution.receivers.claw_back",
        "wxdist.marketing.receivers.coupon_after_refund",
        "wxdist.reporting.receivers.count_refund",
        "wxdist.customers.receivers.on_refund",  # the customer's row last, as attribution
        "wxdist.integrations.receivers.refund_succeeded",  # the webhook sees it all done
    ]
