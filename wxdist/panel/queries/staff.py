"""Staff accounts as the staff and account pages read them."""

from __future__ import annotations

from sqlalchemy import select

from wxdist.core.extensions import db
from wxdist.models import SubscribeConsent, User
from wxdist.models.staff import StaffUser


def staff_user(staff_id: int) -> StaffUser | None:
    return db.session.get(StaffUser, staff_id)


def alert_account(user_id: int | None, template_id: str) -> tuple[str, int] | None:
    """(nickname, consents left for `template_id`) of the mini-program account a staff
    member's stock alerts go to, or None when there is none (or it was deleted)."""
    if user_id is None:
        return None
    row = db.session.execute(
        select(User.nickname, SubscribeConsent.remaining)
        .outerjoin(
            SubscribeConsent,
            (SubscribeConsent.user_id == User.id) & (SubscribeConsent.template_id == template_id),
        )
        .where(User.id == user_id, User.deleted_at.is_(None))
    ).first()
    return None if row is None else (row.nickname or "", int(row.remaining or 0))
