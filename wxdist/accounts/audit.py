"""The audit log: every panel action that moves money or changes someone's rights.

`record()` adds the entry to the current transaction; callers commit it with the change
it describes, or write it right after a service call that commits on its own.
"""

from __future__ import annotations

import json
from typing import Any

from wxdist.core.extensions import db
from wxdist.models.staff import AuditEntry, StaffUser


def dump_state(state: dict[str, Any] | None) -> str:
    if not state:
        return ""
    return json.dumps(state, ensure_ascii=False, sort_keys=True, default=str)[:60000]


def record(
    staff: StaffUser | None,
    action: str,
    target_type: str,
    target_id: object,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    ip: str = "",
) -> AuditEntry:
    """Add one entry to the session (not committed)."""
    entry = AuditEntry(
        staff_id=staff.id if staff else None,
        staff_username=staff.username if staff else "system",
        action=action[:48],
        target_type=target_type[:32],
        target_id=str(target_id)[:64],
        before_json=dump_state(before),
        after_json=dump_state(after),
        ip=ip[:64],
    )
    db.session.add(entry)
    return entry


def decode(text: str) -> dict[str, Any]:
    """An entry's before/after as a dict ({} when empty)."""
    return json.loads(text) if text else {}
