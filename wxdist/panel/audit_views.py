"""The audit log, newest first, filtered by action, staff member or target."""

from __future__ import annotations

from flask import render_template, request
from sqlalchemy import select

from wxdist.accounts.audit import decode
from wxdist.models.staff import AuditEntry
from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp
from wxdist.panel.ui import paginate


@panel_bp.get("/audit")
@area("audit")
def audit():  # type: ignore[no-untyped-def]
    statement = select(AuditEntry).order_by(AuditEntry.id.desc())
    action = request.args.get("action", "").strip()[:48]
    staff = request.args.get("staff", "").strip()[:64]
    target_type = request.args.get("target_type", "").strip()[:32]
    target_id = request.args.get("target_id", "").strip()[:64]
    if action:
        statement = statement.where(AuditEntry.action == action)
    if staff:
        statement = statement.where(AuditEntry.staff_username == staff)
    if target_type:
        statement = statement.where(AuditEntry.target_type == target_type)
        if target_id:
            statement = statement.where(AuditEntry.target_id == target_id)
    page = paginate(statement)
    return render_template(
        "panel/audit.html",
        page=page,
        decode=decode,
        filters={
            "action": action,
            "staff": staff,
            "target_type": target_type,
            "target_id": target_id,
        },
    )
