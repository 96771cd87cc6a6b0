"""Who brought whom.

`Referral` holds each user's current referrer with the two levels above them denormalised
(`parent_id`, `grandparent_id`) and the whole ancestry as a materialised path, so a buyer's
commission chain is one primary-key read and a cycle check is one string test, whatever
the size of the forest. `ReferralBinding` records every binding as it happened.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from wxdist.core.extensions import db
from wxdist.models.types import BigId, UTCDateTime, utcnow


class Referral(db.Model):
    __tablename__ = "referrals"
    __table_args__ = (
        # The team page and its count are answered from these alone (user_id keeps the
        # order index-only; expires_at lets the count skip lapsed bindings without rows).
        Index("ix_referrals_parent_team", "parent_id", "bound_at", "user_id", "expires_at"),
        Index(
            "ix_referrals_grandparent_team", "grandparent_id", "bound_at", "user_id", "expires_at"
        ),
        Index("ix_referrals_path", "path"),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id"), primary_key=True, autoincrement=False
    )
    parent_id: Mapped[int | None] = mapped_column(BigId)
    grandparent_id: Mapped[int | None] = mapped_column(BigId)
    # "/<root id>/…/<parent id>/": every ancestor, nearest last; "/" for a root.
    path: Mapped[str] = mapped_column(String(760), default="/")
    depth: Mapped[int] = mapped_column(Integer, default=0)  # number of ancestors
    bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # valid_days mode


class ReferralBinding(db.Model):
    """One binding event: who, to whom, when, from which scene, code and channel."""

    __tablename__ = "referral_bindings"
    __table_args__ = (Index("ix_referral_bindings_referrer_created", "referrer_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    referrer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    previous_referrer_id: Mapped[int | None] = mapped_column(BigId)
    scene: Mapped[str] = mapped_column(String(32), default="")
    share_code_id: Mapped[int | None] = mapped_column(BigId)
    channel: Mapped[str] = mapped_column(String(16), default="")
    source: Mapped[str] = mapped_column(String(16))  # login | bind | admin | coupon
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReferralLock(db.Model):
    """One row whose update serialises re-parenting, so concurrent binds cannot close a
    cycle (on MySQL a row lock; on SQLite the write lock)."""

    __tablename__ = "referral_lock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
