"""The subscribe-message log, newest first, by status and notice kind; the latest pushes."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from wxdist.core.extensions import db
from wxdist.models import MessageLog, WechatPushEvent
from wxdist.panel.queries.paging import Page, fetch_page


def message_page(page: int, status: str, kind: str) -> Page:
    """Log rows newest first; an empty filter is not applied."""
    statement = select(MessageLog).order_by(MessageLog.id.desc())
    if status:
        statement = statement.where(MessageLog.status == status)
    if kind:
        statement = statement.where(MessageLog.kind == kind)
    return fetch_page(statement, page)


def recent_pushes(limit: int = 20) -> Sequence[WechatPushEvent]:
    """The newest events WeChat's message push delivered."""
    return db.session.scalars(
        select(WechatPushEvent).order_by(WechatPushEvent.id.desc()).limit(limit)
    ).all()
