"""Money listens to account deletion and export (see `core.events` and `money.privacy`):
an unfinished withdrawal blocks a deletion, a deleted account's payout accounts are
forgotten inside the deletion's transaction, and the person gets their withdrawals."""

from __future__ import annotations

from wxdist.core import events
from wxdist.money import privacy


def connect() -> None:
    """Connect money's receivers (idempotent; `create_app` calls it)."""
    events.connect_privacy(privacy)
