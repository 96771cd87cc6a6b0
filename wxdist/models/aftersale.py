"""After-sales: a shopper's request to refund (or return and refund) part of an order line,
and the append-only log of its moves."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from wxdist.core.extensions import db
from wxdist.models.types import BigId, Fen, UTCDateTime, utcnow


class AfterSaleKind:
    REFUND_ONLY = "refund_only"  # 仅退款
    RETURN_REFUND = "return_refund"  # 退货退款 (only once the order shipped)

    ALL = (REFUND_ONLY, RETURN_REFUND)


class AfterSaleStatus:
    APPLIED = "applied"
    AGREED = "agreed"
    REFUSED = "refused"
    BUYER_SHIPPED = "buyer_shipped"
    RECEIVED = "received"
    RECEIPT_REFUSED = "receipt_refused"
    REFUNDING = "refunding"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"
    CLOSED = "closed"

    OPEN = (APPLIED, AGREED, BUYER_SHIPPED, RECEIVED, REFUNDING)
    FINAL = (REFUSED, RECEIPT_REFUSED, REFUNDED, CANCELLED, CLOSED)
    ALL = OPEN + FINAL


class AfterSale(db.Model):
    """One after-sale of one order line. `open_item_id` is the line's id while the after-sale
    is open and NULL once it ended: its unique key allows one open after-sale per line."""

    __tablename__ = "aftersales"
    __table_args__ = (
        Index("ix_aftersales_user_created", "user_id", "created_at"),
        Index("ix_aftersales_status_deadline", "status", "deadline_at"),
        Index("ix_aftersales_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    order_item_id: Mapped[int] = mapped_column(ForeignKey("order_items.id"), index=True)
    open_item_id: Mapped[int | None] = mapped_column(BigId, unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=AfterSaleStatus.APPLIED)
    quantity: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(Fen)
    refunded_fen: Mapped[int] = mapped_column(Fen, default=0)
    reason_code: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(500), default="")
    evidence: Mapped[list[str]] = mapped_column(JSON, default=list)
    refuse_reason: Mapped[str] = mapped_column(String(255), default="")
    carrier: Mapped[str | None] = mapped_column(String(64))
    tracking_no: Mapped[str | None] = mapped_column(String(64))
    sellable: Mapped[bool | None] = mapped_column(default=None)
    restocked_qty: Mapped[int] = mapped_column(Integer, default=0)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"), index=True)
    # When the current state times out (no merchant answer, or no return shipped); None
    # for states that wait on nobody's deadline.
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # reached a final state


class AfterSaleLog(db.Model):
    """One move of an after-sale (append-only): who (buyer, staff, system), from, to, note."""

    __tablename__ = "aftersale_logs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    aftersale_id: Mapped[int] = mapped_column(ForeignKey("aftersales.id"), index=True)
    actor: Mapped[str] = mapped_column(String(8))  # buyer | staff | system
    staff_id: Mapped[int | None] = mapped_column(BigId)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
