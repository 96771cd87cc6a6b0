"""Sharing: the share codes distributors hand out, and the poster templates.

A `ShareCode` names (distributor, optional product, optional channel tag) with a short
scene (≤ 32 characters, what `getwxacodeunlimit` takes). Its counters (scans, opens,
binds) change only by atomic `UPDATE … SET n = n + 1`; who it brought is in
`referral_bindings.share_code_id`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wxdist.core.extensions import db
from wxdist.models.types import BigId, UTCDateTime, utcnow

SCENE_MAX = 32  # getwxacodeunlimit's limit
CHANNEL_MAX = 16  # referral_bindings.channel


class ShareCode(db.Model):
    __tablename__ = "share_codes"
    __table_args__ = (
        # product_key is product_id or 0: a NULL would not be unique on MySQL or SQLite.
        # coupon_key is the coupon template a code carries, or 0.
        UniqueConstraint("distributor_id", "product_key", "channel", "coupon_key"),
        Index("ix_share_codes_distributor_created", "distributor_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    scene: Mapped[str] = mapped_column(String(SCENE_MAX), unique=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    product_key: Mapped[int] = mapped_column(BigId, default=0)
    channel: Mapped[str] = mapped_column(String(CHANNEL_MAX), default="")
    # A shareable coupon template the code hands out (distributor coupons).
    coupon_template_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_templates.id"))
    coupon_key: Mapped[int] = mapped_column(BigId, default=0)
    scans: Mapped[int] = mapped_column(Integer, default=0)
    opens: Mapped[int] = mapped_column(Integer, default=0)
    binds: Mapped[int] = mapped_column(Integer, default=0)
    claims: Mapped[int] = mapped_column(Integer, default=0)  # coupons claimed through it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PosterTemplateRecord(db.Model):
    """The merchant's changes to a poster template (`invite` or `product`), as JSON over
    the defaults of `wxdist.sharing.posters.PosterTemplate`."""

    __tablename__ = "poster_templates"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    data: Mapped[str] = mapped_column(Text, default="{}")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
