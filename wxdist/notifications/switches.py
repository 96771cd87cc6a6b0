"""The merchant's switch per notice kind (a row per kind; no row: on)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select, update

from config.messages import NOTICE_KINDS
from wxdist.core.errors import ApiError
from wxdist.core.extensions import db
from wxdist.models import NoticeSwitch
from wxdist.models.types import utcnow


def is_enabled(kind: str) -> bool:
    enabled = db.session.scalar(select(NoticeSwitch.enabled).where(NoticeSwitch.kind == kind))
    return enabled is None or bool(enabled)


def all_switches() -> dict[str, bool]:
    """{kind: on} for every notice kind, in NOTICE_KINDS order."""
    rows = dict(db.session.execute(select(NoticeSwitch.kind, NoticeSwitch.enabled)).all())
    return {kind: bool(rows.get(kind, True)) for kind in NOTICE_KINDS}


def set_switches(wanted: dict[str, bool]) -> dict[str, bool]:
    """Switch notices on or off ({kind: on}); the caller commits (the panel's audit does).
    Returns the kinds that changed, with their new state. Raises ApiError naming an
    unknown kind."""
    unknown = [kind for kind in wanted if kind not in NOTICE_KINDS]
    if unknown:
        raise ApiError(
            _("no such notice"), code="invalid", fields={k: _("no such notice") for k in unknown}
        )
    before = all_switches()
    changed = {k: v for k, v in wanted.items() if before[k] != v}
    for kind, enabled in changed.items():
        moved = db.session.execute(
            update(NoticeSwitch)
            .where(NoticeSwitch.kind == kind)
            .values(enabled=enabled, updated_at=utcnow())
        )
        if not moved.rowcount:
            db.session.add(NoticeSwitch(kind=kind, enabled=enabled, updated_at=utcnow()))
    db.session.flush()
    return changed
