"""Shoppers (and later distributors) identified by their mini-program openid."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from wxdist.core.extensions import db
from wxdist.models.types import BigId, Fen, UTCDateTime, utcnow


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64), index=True)
    nickname: Mapped[str] = mapped_column(String(64), default="")
    avatar_url: Mapped[str] = mapped_column(String(512), default="")
    # The number WeChat's getPhoneNumber gave (purePhoneNumber) and its country code; shown
    # masked (accounts.phone.mask_phone) everywhere but the staff's audited reveal.
    phone: Mapped[str | None] = mapped_column(String(24))
    phone_country_code: Mapped[str | None] = mapped_column(String(8))
    # Bumped to revoke every token issued before (logout everywhere).
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    # The first referral scene seen at login; the distribution issue resolves it.
    first_scene: Mapped[str | None] = mapped_column(String(32))
    # Own purchases, for the "spend" distributor rule and level conditions.
    paid_orders: Mapped[int] = mapped_column(Integer, default=0)
    paid_spend_fen: Mapped[int] = mapped_column(Fen, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the person deleted their account (accounts.deletion): the row stays for the
    # books, its personal fields are gone and its openid is a tombstone.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by staff (accounts.blocking): a blocked person cannot order or withdraw.
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    blocked_reason: Mapped[str] = mapped_column(String(200), default="", server_default="")
