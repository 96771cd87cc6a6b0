"""Merchant staff who use the web panel, and the audit log of what they did."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wxdist.core.extensions import db
from wxdist.models.types import BigId, UTCDateTime, utcnow


class StaffRole:
    OWNER = "owner"  # everything, including staff accounts and settings
    OPERATOR = "operator"  # distributors, orders, products
    FINANCE = "finance"  # withdrawals, commission, reports

    ALL = (OWNER, OPERATOR, FINANCE)


class StaffUser(UserMixin, db.Model):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The panel's language ('zh_CN' or 'en'); '' follows the browser's Accept-Language.
    locale: Mapped[str] = mapped_column(String(8), default="", server_default="")
    # Part of the login session id: bumping it (new password, disabled) ends old sessions.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Stock alerts as a subscribe message to the staff member's own mini-program account
    # (opted in from the panel; the account must also have accepted the template).
    alert_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    stock_alerts: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    def get_id(self) -> str:
        """The login cookie's value: id and session version (see wxdist.accounts.staff)."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.active


class AuditEntry(db.Model):
    """Who did what, when, to which object, with the state before and after (JSON)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_target", "target_type", "target_id"),
        Index("ix_audit_log_staff_created", "staff_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    staff_username: Mapped[str] = mapped_column(String(64))  # as it was then
    action: Mapped[str] = mapped_column(String(48), index=True)
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    before_json: Mapped[str] = mapped_column(Text, default="")
    after_json: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
