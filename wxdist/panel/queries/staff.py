"""Staff accounts as the staff page reads them."""

from __future__ import annotations

from wxdist.core.extensions import db
from wxdist.models.staff import StaffUser


def staff_user(staff_id: int) -> StaffUser | None:
    return db.session.get(StaffUser, staff_id)
