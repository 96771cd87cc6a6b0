"""Staff accounts in the panel: the owner adds accounts, changes roles, disables and
resets passwords; each change is audited and ends the account's sessions; the panel
always keeps an active owner."""

from __future__ import annotations

from flask import Flask

from tests.panel_helpers import PASSWORD, post_form, sign_in, staff_client
from wxdist.core.extensions import db
from wxdist.models.staff import AuditEntry, StaffUser


def account(app: Flask, username: str) -> StaffUser:
    with app.app_context():
        return db.session.query(StaffUser).filter_by(username=username).one()


def actions(app: Flask) -> list[tuple[str, str, str]]:
    with app.app_context():
        return [
            (e.action, e.before_json, e.after_json)
            for e in db.session.query(AuditEntry).order_by(AuditEntry.id)
        ]


def test_only_the_owner_manages_staff(app: Flask) -> None:
    assert staff_client(app, "owner").get("/panel/staff").status_code == 200
    for role in ("operator", "finance"):
        client = staff_client(app, role)
        assert client.get("/panel/staff").status_code == 403
        refused = client.post("/panel/staff", data={"username": "sneaky", "role": "owner"})
        assert refused.status_code in (400, 403)  # no CSRF token, and no right either way
    with app.app_context():
        assert db.session.query(StaffUser).filter_by(username="sneaky").count() == 0


def test_the_owner_adds_an_account_that_can_sign_in_with_its_role(app: Flask) -> None:
    owner = staff_client(app, "owner", "boss")
    response = post_form(
        owner,
        "/panel/staff",
        "/panel/staff",
        username="cashier2",
        display_name="出纳",
        role="finance",
        password="a long enough password",
    )
    assert response.status_code == 303
    newcomer = app.test_client()
    assert sign_in(newcomer, "cashier2", "a long enough password").status_code == 302
    assert newcomer.get("/panel/withdrawals").status_code == 200
    assert newcomer.get("/panel/products").status_code == 403
    created = actions(app)[-1]
    assert created[0] == "staff.create" and '"role": "finance"' in created[2]
    assert "a long enough password" not in " ".join(map(str, actions(app)))


def test_bad_new_accounts_are_refused_with_the_field_named(app: Flask) -> None:
    owner = staff_client(app, "owner", "boss")
    short = post_form(
        owner, "/panel/staff", "/panel/staff", username="x1y", role="finance", password="short"
    )
    assert short.status_code == 400 and "at least 10 characters" in short.get_data(as_text=True)
    taken = post_form(
        owner,
        "/panel/staff",
        "/panel/staff",
        username="boss",
        role="finance",
        password="a long enough password",
    )
    assert taken.status_code == 409 and "taken" in taken.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(StaffUser).count() == 1


def test_a_role_change_applies_at_once_and_is_audited(app: Flask) -> None:
    owner = staff_client(app, "owner", "boss")
    worker = staff_client(app, "operator", "ops")
    assert worker.get("/panel/orders").status_code == 200
    ops_id = account(app, "ops").id
    response = post_form(
        owner, "/panel/staff", f"/panel/staff/{ops_id}/role", **{f"r{ops_id}-role": "finance"}
    )
    assert response.status_code == 303
    assert worker.get("/panel/orders").status_code == 302  # the old session ended
    assert sign_in(worker, "ops").status_code == 302
    assert worker.get("/panel/orders").status_code == 403
    assert worker.get("/panel/withdrawals").status_code == 200
    action, before, after = actions(app)[-1]
    assert (action, before, after) == (
        "staff.role",
        '{"role": "operator"}',
        '{"role": "finance"}',
    )


def test_a_disabled_account_is_signed_out_and_cannot_sign_in_until_enabled(app: Flask) -> None:
    owner = staff_client(app, "owner", "boss")
    worker = staff_client(app, "finance", "cash")
    cash_id = account(app, "cash").id
    assert (
        post_form(owner, "/panel/staff", f"/panel/staff/{cash_id}/active", active="0").status_code
        == 303
    )
    assert worker.get("/panel/").status_code == 302
    assert sign_in(app.test_client(), "cash").status_code == 401
    assert (
        post_form(owner, "/panel/staff", f"/panel/staff/{cash_id}/active", active="1").status_code
        == 303
    )
    assert sign_in(app.test_client(), "cash").status_code == 302
    assert [a for a, _, _ in actions(app)][-2:] == ["staff.disable", "staff.enable"]


def test_the_last_owner_cannot_be_demoted_or_disabled(app: Flask) -> None:
    owner = staff_client(app, "owner", "boss")
    boss_id = account(app, "boss").id
    demote = post_form(
        owner, "/panel/staff", f"/panel/staff/{boss_id}/role", **{f"r{boss_id}-role": "finance"}
    )
    assert demote.status_code == 400 and "another account owner" in demote.get_data(as_text=True)
    itself = post_form(owner, "/panel/staff", f"/panel/staff/{boss_id}/active", active="0")
    assert itself.status_code == 400
    assert account(app, "boss").role == "owner" and account(app, "boss").active
    # With a second owner, the first may step down.
    staff_client(app, "owner", "boss2")
    stepped = post_form(
        owner, "/panel/staff", f"/panel/staff/{boss_id}/role", **{f"r{boss_id}-role": "finance"}
    )
    assert stepped.status_code == 303 and account(app, "boss").role == "finance"


def test_a_new_password_ends_the_accounts_sessions(app: Flask) -> None:
    owner = staff_client(app, "owner", "boss")
    worker = staff_client(app, "operator", "ops")
    ops_id = account(app, "ops").id
    short = post_form(owner, "/panel/staff", f"/panel/staff/{ops_id}/password", password="tiny")
    assert short.status_code == 400
    done = post_form(
        owner, "/panel/staff", f"/panel/staff/{ops_id}/password", password="another long one!"
    )
    assert done.status_code == 303
    assert worker.get("/panel/").status_code == 302
    assert sign_in(app.test_client(), "ops", PASSWORD).status_code == 401
    assert sign_in(app.test_client(), "ops", "another long one!").status_code == 302
    assert actions(app)[-1][0] == "staff.password"
