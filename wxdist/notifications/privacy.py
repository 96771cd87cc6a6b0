"""Notifications' part of account deletion and export (`core.events`).

On deletion the consents are dropped (they were the person's to give), messages not sent
yet are given up (`failed`, error "account deleted": the openid they would go to is gone)
and every message's data is emptied; the log keeps what was sent when, by kind. WeChat's
message pushes about the person's orders keep their facts but lose the openid they carry
(`FromUserName`). The export gives the consents left per template.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from wxdist.accounts.export import iso
from wxdist.core.extensions import db
from wxdist.models import (
    MessageLog,
    MessageStatus,
    Order,
    SubscribeConsent,
    User,
    WechatPushEvent,
)

UNSENT = (MessageStatus.QUEUED, MessageStatus.RETRY)


def anonymise(user_id: int) -> None:
    db.session.execute(delete(SubscribeConsent).where(SubscribeConsent.user_id == user_id))
    db.session.execute(
        update(MessageLog)
        .where(MessageLog.user_id == user_id, MessageLog.status.in_(UNSENT))
        .values(status=MessageStatus.FAILED, error="account deleted", next_attempt_at=None)
    )
    db.session.execute(update(MessageLog).where(MessageLog.user_id == user_id).values(data={}))
    _scrub_pushes(user_id)


def _scrub_pushes(user_id: int) -> None:
    """Blank every value equal to the user's openid (still on their row: `account_deleted`
    runs before accounts empties it) in the pushes about their orders."""
    openid = db.session.scalar(select(User.openid).where(User.id == user_id))
    orders = select(Order.id).where(Order.user_id == user_id).scalar_subquery()
    for event in db.session.scalars(
        select(WechatPushEvent).where(WechatPushEvent.order_id.in_(orders))
    ):
        if openid in (event.payload or {}).values():
            event.payload = {k: ("" if v == openid else v) for k, v in event.payload.items()}


def export(user_id: int) -> dict[str, Any]:
    rows = db.session.scalars(
        select(SubscribeConsent)
        .where(SubscribeConsent.user_id == user_id)
        .order_by(SubscribeConsent.id)
    ).all()
    return {
        "subscribe_consents": [
            {
                "template_id": c.template_id,
                "remaining": c.remaining,
                "accepted_total": c.accepted_total,
                "updated_at": iso(c.updated_at),
            }
            for c in rows
        ]
    }
