"""Shipping fee templates (运费模板): what a product's delivery costs, by region."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from wxdist.core.extensions import db
from wxdist.models.types import BigId, Fen, UTCDateTime, utcnow


class ShippingTemplate(db.Model):
    """By piece (units are items) or by weight (units are grams): the first `first_unit`
    cost `first_fen`, each further `extra_unit` (or part of one) `extra_fen`.

    `rules`: [{"codes": [GB/T 2260 codes], "first_unit", "first_fen", "extra_unit",
    "extra_fen"}], the most specific code matching the address wins over the defaults
    above; `undelivered`: codes not delivered to. Free when the goods of the template
    (after discounts) reach `free_above_fen`, or its items `free_count`."""

    __tablename__ = "shipping_templates"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    by_weight: Mapped[bool] = mapped_column(Boolean, default=False)
    first_unit: Mapped[int] = mapped_column(Integer, default=1)
    first_fen: Mapped[int] = mapped_column(Fen, default=0)
    extra_unit: Mapped[int] = mapped_column(Integer, default=1)
    extra_fen: Mapped[int] = mapped_column(Fen, default=0)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    undelivered: Mapped[list[str]] = mapped_column(JSON, default=list)
    free_above_fen: Mapped[int | None] = mapped_column(Fen)
    free_count: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
