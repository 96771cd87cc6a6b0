"""Money listens to account deletion and export (see `core.events` and `money.privacy`):
an unfinished withdrawal blocks a deletion, a deleted account's payout accounts are
forgotten inside the deletion's transaction, and the person gets their withdrawals."""

from __future__ import annotations

from typing import Any

from wxdist.core import events
from wxdist.core.events import DeletionBlocker
from wxdist.money import privacy


def deletion_blockers(_sender: Any, *, user_id: int) -> list[DeletionBlocker]:
    return privacy.blockers(user_id)


def account_deleted(_sender: Any, *, user_id: int) -> None:
    privacy.anonymise(user_id)


def export_sections(_sender: Any, *, user_id: int) -> dict[str, Any]:
    return privacy.export(user_id)


def connect() -> None:
    """Connect money's receivers (idempotent; `create_app` calls it)."""
    events.deletion_blockers.connect(deletion_blockers, weak=False)
    events.account_deleted.connect(account_deleted, weak=False)
    events.export_sections.connect(export_sections, weak=False)
