"""Blocking a person: staff set a flag that stops them ordering and withdrawing.

The flag (`users.blocked_at`, `blocked_reason`) is read by the order and withdrawal
services in their own transaction (`refuse_blocked`), so a block committed before a
request is seen by it. Each change writes an audit entry in the same transaction.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from wxdist.accounts import audit
from wxdist.core.errors import ApiError, Forbidden, NotFound
from wxdist.core.extensions import db
from wxdist.models import User
from wxdist.models.staff import StaffUser
from wxdist.models.types import utcnow

MAX_REASON = 200


def blocked_error() -> Forbidden:
    """The 403 a blocked person gets."""
    return Forbidden(
        _("your account is blocked; contact the store"),
        code="account_blocked",
    )


def refuse_blocked(user_id: int) -> None:
    """Raise Forbidden `account_blocked` if `user_id` is blocked (read in the caller's
    transaction; the caller rolls back)."""
    blocked = db.session.scalar(select(User.blocked_at).where(User.id == user_id))
    if blocked is not None:
        raise blocked_error()


def _state(user: User) -> dict[str, object]:
    return {"blocked": user.blocked_at is not None, "reason": user.blocked_reason}


def block(user_id: int, reason: str, staff: StaffUser | None, ip: str = "") -> User:
    """Block `user_id` with `reason` (required); audited; commits. Blocking a blocked
    person updates the reason. Raises NotFound, ApiError naming `reason`."""
    reason = (reason or "").strip()
    if not reason:
        raise ApiError(_("a reason is required"), fields={"reason": _("required")})
    if len(reason) > MAX_REASON:
        raise ApiError(
            _("the reason is too long"),
            fields={"reason": _("at most %(count)s characters", count=MAX_REASON)},
        )
    user = db.session.get(User, user_id, with_for_update=True)
    if user is None or user.deleted_at is not None:
        db.session.rollback()
        raise NotFound(_("no such customer"))
    before = _state(user)
    user.blocked_at = user.blocked_at or utcnow()
    user.blocked_reason = reason
    audit.record(staff, "customer.block", "user", user_id, before, _state(user), ip=ip)
    db.session.commit()
    return user


def unblock(user_id: int, staff: StaffUser | None, ip: str = "") -> User:
    """Lift the block of `user_id`; audited; commits. Raises NotFound."""
    user = db.session.get(User, user_id, with_for_update=True)
    if user is None:
        db.session.rollback()
        raise NotFound(_("no such customer"))
    before = _state(user)
    user.blocked_at = None
    user.blocked_reason = ""
    audit.record(staff, "customer.unblock", "user", user_id, before, _state(user), ip=ip)
    db.session.commit()
    return user
