"""Promotion materials (素材): words and pictures staff publish for distributors to copy
and download, per product or per campaign. `used` counts copies and downloads and changes
only by an atomic `UPDATE … SET used = used + 1`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wxdist.core.extensions import db
from wxdist.models.types import BigId, UTCDateTime, utcnow

TITLE_MAX = 64
CAMPAIGN_MAX = 32
TEXT_MAX = 2000
MAX_MATERIAL_PICTURES = 9  # what a WeChat moments post carries


class Material(db.Model):
    __tablename__ = "materials"
    __table_args__ = (
        # The distributors' list: published, highest sort first (of one product or all).
        Index("ix_materials_published_sort", "published", "sort"),
        Index("ix_materials_product_published", "product_id", "published"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    text: Mapped[str] = mapped_column(Text, default="")
    # The picture URLs (/media/… as the catalogue stores them), in order, at most 9.
    pictures: Mapped[list[Any]] = mapped_column(JSON, default=list)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    campaign: Mapped[str] = mapped_column(String(CAMPAIGN_MAX), default="")
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    sort: Mapped[int] = mapped_column(Integer, default=0)
    used: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
