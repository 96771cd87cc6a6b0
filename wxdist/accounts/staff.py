"""Staff accounts of the merchant panel: create, authenticate, change role or password.

Passwords are stored as salted scrypt hashes (werkzeug). Raises ApiError naming the field
for bad input, Conflict for a username already taken.
"""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from wxdist.core.errors import ApiError, Conflict, NotFound
from wxdist.core.extensions import db
from wxdist.models import User
from wxdist.models.staff import StaffRole, StaffUser
from wxdist.models.types import utcnow

USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{3,64}$")
MIN_PASSWORD = 10
# Checked when the username is unknown, so a wrong username costs as much time as a wrong
# password and the two cannot be told apart by timing.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ApiError(
            _("password too short"),
            fields={"password": _("at least %(count)s characters", count=MIN_PASSWORD)},
        )


def _bad_role() -> ApiError:
    return ApiError(
        _("bad role"), fields={"role": _("one of %(choices)s", choices=", ".join(StaffRole.ALL))}
    )


def create_staff(username: str, password: str, role: str, display_name: str = "") -> StaffUser:
    """Create an account; commits."""
    username = username.strip()
    if not USERNAME.match(username):
        raise ApiError(_("bad username"), fields={"username": _("3-64 letters, digits or _ . @ -")})
    if role not in StaffRole.ALL:
        raise _bad_role()
    _check_password(password)
    taken = db.session.scalar(
        select(func.count()).select_from(StaffUser).where(StaffUser.username == username)
    )
    if taken:
        raise Conflict(_("that username is taken"), code="username_taken")
    staff = StaffUser(
        username=username,
        display_name=display_name.strip()[:64] or username,
        password_hash=generate_password_hash(password),
        role=role,
    )
    db.session.add(staff)
    db.session.commit()
    return staff


def authenticate(username: str, password: str) -> StaffUser | None:
    """The active account with this username and password, else None; records the login."""
    staff = db.session.scalar(select(StaffUser).where(StaffUser.username == username.strip()))
    if staff is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(staff.password_hash, password) or not staff.active:
        return None
    staff.last_login_at = utcnow()
    db.session.commit()
    return staff


def set_password(staff_id: int, password: str) -> StaffUser:
    """New password; ends the account's other sessions. Commits."""
    _check_password(password)
    staff = db.session.get(StaffUser, staff_id)
    if staff is None:
        raise NotFound(_("no such staff account"))
    staff.password_hash = generate_password_hash(password)
    staff.session_version += 1
    db.session.commit()
    return staff


def load_session(value: str) -> StaffUser | None:
    """The account behind a login cookie value, if it is still active and current."""
    try:
        staff_id, version = (int(part) for part in value.split(":"))
    except ValueError:
        return None
    staff = db.session.get(StaffUser, staff_id)
    if staff is None or not staff.active or staff.session_version != version:
        return None
    return staff


def list_staff() -> list[StaffUser]:
    return list(db.session.scalars(select(StaffUser).order_by(StaffUser.id)))


def _lock_owners() -> list[int]:
    """Serialise every change that can take an active owner away, and return the ids of
    the active owners as committed now.

    Two owners demoting each other at once must not both see the other as the owner who
    remains. A no-op UPDATE of the active owners' rows comes first: on MySQL it takes their
    row locks (a scan in id order, so two changes queue on the first row, never deadlock),
    on SQLite the database's write lock. The locking read after it sees every change
    committed before, and none can commit until this transaction ends.
    """
    owners = (StaffUser.role == StaffRole.OWNER) & StaffUser.active.is_(True)
    db.session.execute(
        update(StaffUser).where(owners).values(session_version=StaffUser.session_version),
        execution_options={"synchronize_session": False},
    )
    return list(
        db.session.scalars(
            select(StaffUser.id).where(owners).order_by(StaffUser.id).with_for_update()
        )
    )


def _keep_an_owner(staff: StaffUser, field: str, owners: list[int]) -> None:
    """Before `staff` stops being an active owner: roll back and raise ApiError naming
    `field` if no other active owner would remain (`owners` from `_lock_owners`)."""
    if staff.role == StaffRole.OWNER and staff.active and not set(owners) - {staff.id}:
        db.session.rollback()
        raise ApiError(
            _("the panel needs an active owner"),
            fields={field: _("make another account owner first")},
        )


def _account(staff_id: int) -> tuple[StaffUser, list[int]]:
    """The account, locked for the change (owner rows first, see `_lock_owners`) and read
    fresh, with the ids of the active owners. Raises NotFound."""
    owners = _lock_owners()
    staff = db.session.scalar(
        select(StaffUser)
        .where(StaffUser.id == staff_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if staff is None:
        db.session.rollback()
        raise NotFound(_("no such staff account"))
    return staff, owners


def set_role(staff_id: int, role: str) -> StaffUser:
    """Change an account's role; its sessions end (rights change at once). Commits.

    Raises ApiError (field `role`) for an unknown role or for taking away the last active
    owner, NotFound."""
    if role not in StaffRole.ALL:
        raise _bad_role()
    staff, owners = _account(staff_id)
    if staff.role == role:
        db.session.rollback()
        return staff
    _keep_an_owner(staff, "role", owners)
    staff.role = role
    staff.session_version += 1
    db.session.commit()
    return staff


def set_active(staff_id: int, active: bool) -> StaffUser:
    """Disable (its sessions end, it cannot sign in) or enable an account. Commits.

    Raises ApiError (field `active`) for disabling the last active owner, NotFound."""
    staff, owners = _account(staff_id)
    if staff.active == active:
        db.session.rollback()
        return staff
    if not active:
        _keep_an_owner(staff, "active", owners)
    staff.active = active
    staff.session_version += 1
    db.session.commit()
    return staff


def set_stock_alerts(staff_id: int, alert_user_id: int | None, on: bool) -> StaffUser:
    """Set the mini-program account (a user id) that receives the staff member's stock
    alerts, and switch them on or off; the caller commits (the panel's audit does). Raises
    ApiError naming `alert_user_id` for no such account (or a deleted one), or for alerts
    on without an account; NotFound for an unknown staff account."""
    if alert_user_id is not None:
        found = db.session.scalar(
            select(User.id).where(User.id == alert_user_id, User.deleted_at.is_(None))
        )
        if found is None:
            raise ApiError(
                _("no such mini-program account"),
                code="invalid",
                fields={"alert_user_id": _("no shopper has this id")},
            )
    elif on:
        raise ApiError(
            _("stock alerts need an account"),
            code="invalid",
            fields={"alert_user_id": _("give the user id of your mini-program account")},
        )
    staff = db.session.get(StaffUser, staff_id)
    if staff is None:
        raise NotFound(_("no such staff account"))
    staff.alert_user_id, staff.stock_alerts = alert_user_id, on
    return staff


PANEL_LANGUAGES = ("", "zh_CN", "en")  # '' follows the browser's Accept-Language


def set_language(staff_id: int, language: str) -> StaffUser:
    """Set the staff member's panel language. Raises ApiError (field `language`) for one
    the panel does not speak, NotFound for an unknown account."""
    if language not in PANEL_LANGUAGES:
        raise ApiError(
            _("unknown language"), code="invalid", fields={"language": _("zh_CN, en or empty")}
        )
    staff = db.session.get(StaffUser, staff_id)
    if staff is None:
        raise NotFound(_("no such staff account"))
    staff.locale = language
    db.session.commit()
    return staff
