"""Shopping cart lines: a shopper's SKUs and quantities, with no price (read at list time)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wxdist.core.extensions import db
from wxdist.models.types import BigId, UTCDateTime, utcnow


class CartLine(db.Model):
    """One SKU in a shopper's cart. (user, sku) is unique, so adding a SKU twice, even
    concurrently, adds to one line's quantity. No price is stored: the cart always shows
    and checks out at the current price."""

    __tablename__ = "cart_lines"
    __table_args__ = (UniqueConstraint("user_id", "sku_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    selected: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
