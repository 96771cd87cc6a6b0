"""The audit log page and one target's history."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from wxdist.core.extensions import db
from wxdist.models.staff import AuditEntry
from wxdist.panel.queries.paging import Page, fetch_page


def audit_page(page: int, action: str, staff: str, target_type: str, target_id: str) -> Page:
    """Entries newest first; an empty filter is not applied (target_id only with a type)."""
    statement = select(AuditEntry).order_by(AuditEntry.id.desc())
    if action:
        statement = statement.where(AuditEntry.action == action)
    if staff:
        statement = statement.where(AuditEntry.staff_username == staff)
    if target_type:
        statement = statement.where(AuditEntry.target_type == target_type)
        if target_id:
            statement = statement.where(AuditEntry.target_id == target_id)
    return fetch_page(statement, page)


def history(target_type: str, target_id: str, limit: int = 50) -> Sequence[AuditEntry]:
    """The newest `limit` entries about one target."""
    return db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.target_type == target_type, AuditEntry.target_id == target_id)
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    ).all()
