"""Pre-aggregated report rows (issue 16, 数据分析与报表), kept by `wxdist.reporting.insight`
inside the transaction of the change they count, so no report scans orders or order items.

Grain and what each serves (the index named is the one the report reads):

- `report_orders`: one row per attributed order: its level-1 distributor, the share code
  and channel of the binding that brought the buyer, its paid day, and the figures already
  counted for it (`state`, JSON). Never read by a report: the writer diffs the order's
  current figures against it, so attribution, each refund and each clawback add exactly
  their change, once.
- `report_daily` (day, distributor): orders, paid, refunds, refunded, commission earned and
  clawed back, new team members. The distributor's trend reads
  `ix_report_daily_distributor` (distributor, day); the merchant's distributor performance
  over arbitrary days reads the primary key range (day, distributor) and groups it.
- `report_monthly` (month, distributor): the same per calendar month; distributor
  performance for a period that starts on the 1st of a month and ends within it (本月, a
  whole month) reads one row per distributor from the primary key, no grouping.
  Merchant totals live in the same table under negative keys -1..-SHARDS (order id modulo
  SHARDS), so concurrent payments do not queue on one hot row.
- `report_channel_daily` (distributor, day, channel) and `report_product_daily`
  (distributor, day, product): the distributor's direct (level-1) sales per channel and per
  product with their level-1 commission (merchant shards: every order, all levels). Read
  by primary key range (distributor, day).
- `report_product_monthly` (month, product): the merchant's figures per product summed
  per calendar month (the shards' product rows, written by the same upserts): product
  contribution over a period reads the months mostly inside it from here and only the
  other days from the shards (a quarter of product days is about a million rows at
  5,000,000 order items a year; its months are about 60,000). One row per product and
  month is no hotter than the product's own `sales_count`, moved in the same transaction.
- `report_share_codes` (share code): orders and paid and refunded amounts brought by the
  code (its scans, opens and binds are on `share_codes`). Read by primary key.

Days are the merchant's calendar days (Asia/Shanghai). Paid amounts, orders and earned
commission count on the order's paid day; refunds and clawbacks on the day they happen.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wxdist.core.extensions import db
from wxdist.models.types import BigId, Fen

REPORT_SHARDS = 8  # merchant totals: distributor_id = -(1 + order_id % REPORT_SHARDS)

# Signed: merchant shards are negative.
SignedId = BigInteger().with_variant(Integer(), "sqlite")


class ReportOrder(db.Model):
    __tablename__ = "report_orders"

    order_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    distributor_id: Mapped[int | None] = mapped_column(BigId)
    share_code_id: Mapped[int | None] = mapped_column(BigId)
    channel: Mapped[str] = mapped_column(String(16), default="")
    paid_day: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(Text)


class ReportDaily(db.Model):
    __tablename__ = "report_daily"
    # Clustered by day: the merchant's performance report reads whole days for every
    # distributor in key order; one distributor's trend reads its index (≤ 90 rows).
    __table_args__ = (Index("ix_report_daily_distributor", "distributor_id", "day"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    distributor_id: Mapped[int] = mapped_column(SignedId, primary_key=True, autoincrement=False)
    orders: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    paid_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    refunds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    refunded_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    commission_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    commission_clawed_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    new_members: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ReportMonthly(db.Model):
    """`report_daily` summed per calendar month (`month` is its first day), written by the
    same upserts: a period starting on the 1st of a month and ending in it reads one row
    per distributor, no grouping."""

    __tablename__ = "report_monthly"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    distributor_id: Mapped[int] = mapped_column(SignedId, primary_key=True, autoincrement=False)
    orders: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    paid_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    refunds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    refunded_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    commission_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    commission_clawed_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    new_members: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ReportChannelDaily(db.Model):
    __tablename__ = "report_channel_daily"

    distributor_id: Mapped[int] = mapped_column(SignedId, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    orders: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    paid_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    refunds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    refunded_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    commission_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    commission_clawed_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")


class ReportProductDaily(db.Model):
    __tablename__ = "report_product_daily"

    distributor_id: Mapped[int] = mapped_column(SignedId, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    orders: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    paid_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    refunded_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    commission_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    commission_clawed_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")


class ReportProductMonthly(db.Model):
    """The merchant shards' `report_product_daily` rows summed per product and calendar
    month (`month` is its first day)."""

    __tablename__ = "report_product_monthly"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    orders: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    paid_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    refunded_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    commission_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    commission_clawed_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")


class ReportShareCode(db.Model):
    __tablename__ = "report_share_codes"

    share_code_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    orders: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    paid_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    refunded_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
