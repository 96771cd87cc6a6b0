"""Withdrawals of a distributor's available balance, and their payouts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wxdist.core.extensions import db
from wxdist.models.types import BigId, Fen, UTCDateTime, utcnow


class WithdrawalStatus:
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"  # waiting for a payout job (or, for bank, for staff)
    PAYING = "paying"  # a payout is with the gateway; its result may be unknown
    WAITING_CONFIRM = "waiting_confirm"  # v3 bill: the distributor must confirm receipt
    PAID = "paid"
    FAILED = "failed"  # definite failure: the money went back to available
    REJECTED = "rejected"  # by staff: the money went back
    CANCELLED = "cancelled"  # by the distributor while in review: the money went back

    OPEN = (PENDING_REVIEW, APPROVED, PAYING, WAITING_CONFIRM)
    ENDED = (PAID, FAILED, REJECTED, CANCELLED)


class Withdrawal(db.Model):
    __tablename__ = "withdrawals"
    __table_args__ = (
        Index("ix_withdrawals_user_created", "user_id", "created_at"),
        Index("ix_withdrawals_status_created", "status", "created_at"),
        # The panel's list: newest first, unfiltered or by method (and status).
        Index("ix_withdrawals_created", "created_at"),
        Index("ix_withdrawals_method_created", "method", "created_at"),
        Index("ix_withdrawals_method_status_created", "method", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    amount_fen: Mapped[int] = mapped_column(Fen)  # taken from the balance
    fee_fen: Mapped[int] = mapped_column(Fen, default=0)
    net_fen: Mapped[int] = mapped_column(Fen)  # paid out: amount - fee
    method: Mapped[str] = mapped_column(String(8))  # wechat | alipay | bank
    payout_api: Mapped[str | None] = mapped_column(String(8))  # v2 | v3 for wechat
    account_encrypted: Mapped[str] = mapped_column(Text, default="")
    account_masked: Mapped[str] = mapped_column(String(128), default="")
    status: Mapped[str] = mapped_column(String(16), default=WithdrawalStatus.PENDING_REVIEW)
    # The one idempotency number sent on every try (partner_trade_no / out_bill_no /
    # out_biz_no).
    payout_no: Mapped[str] = mapped_column(String(32), unique=True)
    gateway_ref: Mapped[str | None] = mapped_column(String(64))
    package_info: Mapped[str | None] = mapped_column(Text)
    failure_reason: Mapped[str | None] = mapped_column(String(255))
    review_note: Mapped[str] = mapped_column(String(255), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # payout tries of this number
    # Times staff retried after a definite failure (each with a new payout number); it
    # keeps the ledger keys of each round apart.
    retries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The token of the payout job whose lease this is (one per job run): a batch leases all
    # its rows with one UPDATE and reads back those carrying its token.
    payout_lease_owner: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
