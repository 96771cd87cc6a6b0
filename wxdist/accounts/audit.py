"""The audit log: every panel action that moves money or changes someone's rights.

`record()` adds the entry to the current transaction; callers commit it with the change
it describes, or write it right after a service call that commits on its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
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


class AuditNote:
    """What `audited_action` yields: the caller sets `after` once the service has acted."""

    def __init__(self) -> None:
        self.after: dict[str, Any] = {}
        self.target_id: object | None = None  # set when the target is created by the call


@contextmanager
def audited_action(
    staff: StaffUser | None,
    action: str,
    target_type: str,
    target_id: object,
    before: dict[str, Any] | None = None,
    ip: str = "",
) -> Iterator[AuditNote]:
    """Audit one staff action. The entry joins the session before the service runs, so the
    service's own commit writes it with the change; `after` is filled in and committed
    once the block ends. If the block raises, the transaction is rolled back (dropping the
    entry and whatever the service left unfinished) and the exception goes on."""
    entry = record(staff, action, target_type, target_id, before=before, ip=ip)
    note = AuditNote()
    try:
        yield note
    except BaseException:
        db.session.rollback()
        raise
    entry.after_json = dump_state(note.after)
    if note.target_id is not None:
        entry.target_id = str(note.target_id)[:64]
    db.session.add(entry)
    db.session.commit()


def decode(text: str) -> dict[str, Any]:
    """An entry's before/after as a dict ({} when empty)."""
    return json.loads(text) if text else {}
