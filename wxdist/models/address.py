"""A shopper's address book: up to 20 addresses, one of them the default."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from wxdist.core.extensions import db
from wxdist.models.types import BigId, UTCDateTime, utcnow


class Address(db.Model):
    """`region_code` is a GB/T 2260 county-level code (or a city or region without
    districts); the names are read from it, never stored apart."""

    __tablename__ = "addresses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(20))
    region_code: Mapped[str] = mapped_column(String(6))
    detail: Mapped[str] = mapped_column(String(255))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
