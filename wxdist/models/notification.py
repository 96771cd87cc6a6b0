"""Subscribe messages: the consent ledger, the message log, the merchant's notice switches,
and the events WeChat's message push delivered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wxdist.core.extensions import db
from wxdist.models.types import BigId, UTCDateTime, utcnow


class SubscribeConsent(db.Model):
    """How many messages of one template a user has allowed and we have not sent: each
    "accept" of `wx.requestSubscribeMessage` adds one, each send spends one (WeChat has no
    API to read the count). Changed only by conditional atomic updates."""

    __tablename__ = "subscribe_consents"
    __table_args__ = (UniqueConstraint("user_id", "template_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    template_id: Mapped[str] = mapped_column(String(64))
    remaining: Mapped[int] = mapped_column(Integer, default=0)
    accepted_total: Mapped[int] = mapped_column(Integer, default=0)  # every accept, ever
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageStatus:
    QUEUED = "queued"  # waiting for its send job
    SENDING = "sending"  # a send job holds it (a consent is spent)
    RETRY = "retry"  # a send failed for a reason that may pass; the sweep sends it again
    SENT = "sent"
    NO_CONSENT = "no_consent"  # no consent left: nothing was sent
    REFUSED = "refused"  # WeChat answered 43101: the user has no consent (count zeroed)
    FAILED = "failed"  # given up: a definite refusal, bad data, or too many tries

    ALL = (QUEUED, SENDING, RETRY, SENT, NO_CONSENT, REFUSED, FAILED)


class MessageLog(db.Model):
    """One notice to one user: what was (or would have been) sent and how it ended."""

    __tablename__ = "message_log"
    __table_args__ = (
        Index("ix_message_log_status_next", "status", "next_attempt_at"),
        Index("ix_message_log_kind_created", "kind", "created_at"),
        Index("ix_message_log_user_created", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))  # a notice kind (order_shipped, ...)
    template_id: Mapped[str] = mapped_column(String(64))
    page: Mapped[str] = mapped_column(String(255), default="")
    data: Mapped[dict] = mapped_column(JSON)  # {keyword: value}, validated
    # One notice per event: a signal delivered twice finds the row (NULL: no natural key).
    dedupe_key: Mapped[str | None] = mapped_column(String(96), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=MessageStatus.QUEUED)
    consent_spent: Mapped[bool] = mapped_column(Boolean, default=False)
    errcode: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NoticeSwitch(db.Model):
    """The merchant's switch for one notice kind (no row: on)."""

    __tablename__ = "notice_switches"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WechatPushEvent(db.Model):
    """An event WeChat's message push delivered (after its signature and decryption held):
    `trade_manage_remind_shipping` records that WeChat reminded us to ship a payment."""

    __tablename__ = "wechat_push_events"
    __table_args__ = (Index("ix_wechat_push_events_event_received", "event", "received_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event: Mapped[str] = mapped_column(String(64))
    transaction_id: Mapped[str | None] = mapped_column(String(64), index=True)
    merchant_trade_no: Mapped[str | None] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(BigId)
    outcome: Mapped[str] = mapped_column(String(32), default="logged")
    payload: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
