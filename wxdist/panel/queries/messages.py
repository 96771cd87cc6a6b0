"""The subscribe-message log, newest first, by status and notice kind."""

from __future__ import annotations

from sqlalchemy import select

from wxdist.models import MessageLog
from wxdist.panel.queries.paging import Page, fetch_page


def message_page(page: int, status: str, kind: str) -> Page:
    """Log rows newest first; an empty filter is not applied."""
    statement = select(MessageLog).order_by(MessageLog.id.desc())
    if status:
        statement = statement.where(MessageLog.status == status)
    if kind:
        statement = statement.where(MessageLog.kind == kind)
    return fetch_page(statement, page)
