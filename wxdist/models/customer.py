"""Customer records (wxdist.customers): each shopper's figures kept denormalised for the
staff's customer list, staff-defined tags, staff notes, and bulk coupon issues.

`CustomerStat` is one row per user, kept in the transaction of each change that moves it
(account creation, referral binding, payment attribution, refunds); its indexes serve the
list's filters and sorts (see wxdist.customers).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wxdist.core.extensions import db
from wxdist.models.types import BigId, Fen, UTCDateTime, utcnow


class CustomerStat(db.Model):
    __tablename__ = "customer_stats"
    __table_args__ = (
        Index("ix_customer_stats_created", "created_at", "user_id"),
        Index("ix_customer_stats_last_order", "last_order_at", "user_id"),
        Index("ix_customer_stats_spend", "spend_fen", "user_id"),
        Index("ix_customer_stats_source_created", "source_id", "created_at", "user_id"),
        Index("ix_customer_stats_source_last_order", "source_id", "last_order_at", "user_id"),
        Index("ix_customer_stats_source_spend", "source_id", "spend_fen", "user_id"),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id"), primary_key=True, autoincrement=False
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # the user's
    # The distributor who brought them (their latest referral binding) and its channel.
    source_id: Mapped[int | None] = mapped_column(BigId)
    channel: Mapped[str] = mapped_column(String(16), default="", server_default="")
    # Net of refunds: paid orders not wholly refunded, paid minus refunded.
    orders: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    spend_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    first_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CustomerTag(db.Model):
    __tablename__ = "customer_tags"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UserTag(db.Model):
    """A customer's tag, with copies of their sort keys (kept with `customer_stats` in the
    same transactions), so a tag filter and its sort are one index range."""

    __tablename__ = "user_tags"
    __table_args__ = (
        Index("ix_user_tags_tag_last_order", "tag_id", "last_order_at", "user_id"),
        Index("ix_user_tags_tag_spend", "tag_id", "spend_fen", "user_id"),
        Index("ix_user_tags_tag_created", "tag_id", "created_at", "user_id"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("customer_tags.id"), primary_key=True)
    tagged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Copies of the customer's `customer_stats` row: its creation time, spend, last order.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    spend_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    last_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CustomerNote(db.Model):
    __tablename__ = "customer_notes"
    __table_args__ = (Index("ix_customer_notes_user", "user_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    staff_username: Mapped[str] = mapped_column(String(64), default="")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BulkCouponIssue(db.Model):
    """Staff issuing a coupon template to every customer a filter matched. Each coupon's
    claim key is `bulk:<id>`, unique per user, so a retried run gives nobody two."""

    __tablename__ = "bulk_coupon_issues"
    __table_args__ = (UniqueConstraint("request_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The panel form's one-time key: a resubmitted form finds this row.
    request_key: Mapped[str] = mapped_column(String(64))
    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_templates.id"))
    filter_json: Mapped[str] = mapped_column(Text, default="")
    staff_username: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(12), default="queued")  # queued|running|done
    cursor_user_id: Mapped[int] = mapped_column(BigId, default=0)  # last user handled
    matched: Mapped[int] = mapped_column(Integer, default=0)
    issued: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    refusals_json: Mapped[str] = mapped_column(Text, default="")  # {code: count}
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
