"""The shop listens to account deletion and export (see `core.events` and `shop.privacy`):
it names the orders and after-sales still open, masks the orders' receiver inside the
deletion's transaction, and gives the person their orders."""

from __future__ import annotations

from wxdist.core import events
from wxdist.shop import privacy


def connect() -> None:
    """Connect the shop's receivers (idempotent; `create_app` calls it)."""
    events.connect_privacy(privacy)
