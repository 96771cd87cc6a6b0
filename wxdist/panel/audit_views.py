"""The audit log, newest first, filtered by action, staff member or target (action and
target type are chosen from their labelled codes)."""

from __future__ import annotations

from flask import render_template, request

from wxdist.accounts.audit import decode
from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp
from wxdist.panel.labels import AUDIT_ACTIONS, AUDIT_TARGETS
from wxdist.panel.queries.audit import audit_page
from wxdist.panel.ui import page_arg


@panel_bp.get("/audit")
@area("audit")
def audit():  # type: ignore[no-untyped-def]
    action = request.args.get("action", "").strip()[:48]
    staff = request.args.get("staff", "").strip()[:64]
    target_type = request.args.get("target_type", "").strip()[:32]
    target_id = request.args.get("target_id", "").strip()[:64]
    page = audit_page(page_arg(), action, staff, target_type, target_id)
    return render_template(
        "panel/audit.html",
        page=page,
        decode=decode,
        actions=list(AUDIT_ACTIONS),
        targets=list(AUDIT_TARGETS),
        filters={
            "action": action,
            "staff": staff,
            "target_type": target_type,
            "target_id": target_id,
        },
    )
