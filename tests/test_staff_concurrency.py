"""Two owners taking each other's rights at the same instant: the panel must still have an
active owner afterwards. Each round releases the two changes together (a barrier), on
SQLite and on MariaDB."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from tests.shop import storm
from wxdist.accounts.staff import create_staff, set_active, set_role
from wxdist.core.errors import ApiError
from wxdist.core.extensions import db
from wxdist.models.staff import StaffRole, StaffUser

ROUNDS = 15


def _owners(app: Flask) -> tuple[int, int]:
    with app.app_context():
        first = create_staff("owner-a", "a long enough password", StaffRole.OWNER).id
        second = create_staff("owner-b", "a long enough password", StaffRole.OWNER).id
        return first, second


def _reset(app: Flask, ids: tuple[int, int]) -> None:
    with app.app_context():
        db.session.execute(
            update(StaffUser).where(StaffUser.id.in_(ids)).values(role=StaffRole.OWNER, active=True)
        )
        db.session.commit()


def _active_owners(app: Flask) -> int:
    with app.app_context():
        count = db.session.scalar(
            select(func.count())
            .select_from(StaffUser)
            .where(StaffUser.role == StaffRole.OWNER, StaffUser.active.is_(True))
        )
        db.session.remove()
        return int(count)


def _change(app: Flask, call: Callable[[int], object], staff_id: int) -> str:
    with app.app_context():
        try:
            call(staff_id)
        except ApiError as exc:
            return f"refused {sorted(exc.fields)}"
        finally:
            db.session.remove()
        return "done"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda staff_id: set_role(staff_id, StaffRole.OPERATOR), id="demote"),
        pytest.param(lambda staff_id: set_active(staff_id, False), id="disable"),
        pytest.param(
            lambda staff_id: (
                set_role(staff_id, StaffRole.FINANCE)
                if staff_id % 2
                else set_active(staff_id, False)
            ),
            id="demote-and-disable",
        ),
    ],
)
def test_two_owners_removing_each_other_at_once_leave_an_active_owner(
    app: Flask, change: Callable[[int], object]
) -> None:
    ids = _owners(app)
    for _ in range(ROUNDS):
        _reset(app, ids)
        outcomes = storm(2, lambda i: _change(app, change, ids[i]))
        assert _active_owners(app) == 1, outcomes
        assert sorted(outcomes)[0] == "done", outcomes
        assert sorted(outcomes)[1].startswith("refused"), outcomes
