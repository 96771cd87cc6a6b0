"""Daily aggregates the dashboard reads instead of scanning orders.

One row per (day, shard): writers add to the row of their shard (the order id modulo
`SHARDS`) with an upsert, so concurrent payments rarely wait on one hot row; readers sum
the shards of the days they show. `day` is the merchant's calendar day (Asia/Shanghai).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Integer, SmallInteger
from sqlalchemy.orm import Mapped, mapped_column

from wxdist.core.extensions import db
from wxdist.models.types import Fen

SHARDS = 8


class DailyStat(db.Model):
    __tablename__ = "daily_stats"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    paid_orders: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    paid_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    refunds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    refunded_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    new_distributors: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    commission_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    commission_clawed_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
