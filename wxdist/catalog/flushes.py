"""The catalogue's columns kept from ORM flushes (search terms and prices, covers) listen
to every session's flushes the same way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

Listener = Callable[[Session, Any], None]


def listen(after_flush: Listener, after_flush_postexec: Listener) -> None:
    """Call `after_flush` after every ORM flush's SQL (same connection and transaction) and
    `after_flush_postexec` once the flush is done (to set loaded objects' values).
    Idempotent."""
    for name, listener in (
        ("after_flush", after_flush),
        ("after_flush_postexec", after_flush_postexec),
    ):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
