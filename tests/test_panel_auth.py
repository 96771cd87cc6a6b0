"""Panel sign-in, sessions, CSRF, roles and the audit trail of the foundation."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.panel_helpers import PASSWORD, csrf_from, make_staff, sign_in, staff_client
from wxdist.accounts.staff import set_password
from wxdist.core.extensions import db
from wxdist.models.staff import StaffUser


def test_sign_in_lands_on_the_dashboard_and_sign_out_ends_the_session(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/panel/").status_code == 302  # to the login page
    make_staff(app, "owner", "boss")
    response = sign_in(client, "boss")
    assert response.status_code == 302 and response.headers["Location"].endswith("/panel/")
    dashboard = client.get("/panel/")
    assert dashboard.status_code == 200
    assert "Dashboard" in dashboard.get_data(as_text=True)
    token = csrf_from(dashboard.get_data(as_text=True))
    assert client.post("/panel/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/panel/").status_code == 302


def test_a_wrong_password_is_refused_and_repeated_failures_are_rate_limited(app: Flask) -> None:
    make_staff(app, "owner", "boss")
    client = app.test_client()
    assert sign_in(client, "boss", "wrong password!").status_code == 401
    assert sign_in(client, "nobody", "wrong password!").status_code == 401
    statuses = [sign_in(client, "boss", "still wrong!!").status_code for _ in range(12)]
    assert statuses[-1] == 429
    # Even the right password waits until the window passes.
    assert sign_in(client, "boss", PASSWORD).status_code == 429


def test_the_login_redirect_never_leaves_the_panel(app: Flask) -> None:
    make_staff(app, "owner", "boss")
    client = app.test_client()
    token = csrf_from(client.get("/panel/login").get_data(as_text=True))
    response = client.post(
        "/panel/login?next=https://evil.example/",
        data={"username": "boss", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"].endswith("/panel/")


def test_a_form_without_its_csrf_token_is_refused(app: Flask) -> None:
    make_staff(app, "owner", "boss")
    client = app.test_client()
    response = client.post("/panel/login", data={"username": "boss", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/panel/").status_code == 302  # not signed in
    signed_in = staff_client(app, "owner", "boss2")
    assert signed_in.post("/panel/logout").status_code == 400
    assert signed_in.get("/panel/").status_code == 200  # still signed in


def test_a_new_password_ends_other_sessions(app: Flask) -> None:
    client = staff_client(app, "finance", "cashier")
    assert client.get("/panel/").status_code == 200
    with app.app_context():
        staff = db.session.query(StaffUser).filter_by(username="cashier").one()
        set_password(staff.id, "a brand new password")
    assert client.get("/panel/").status_code == 302


def test_a_disabled_account_cannot_sign_in(app: Flask) -> None:
    make_staff(app, "operator", "temp")
    with app.app_context():
        staff = db.session.query(StaffUser).filter_by(username="temp").one()
        staff.active = False
        db.session.commit()
    assert sign_in(app.test_client(), "temp").status_code == 401


def test_create_admin_makes_an_owner_and_refuses_a_short_password(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["create-admin", "--username", "root-owner", "--password", "long enough pw"]
    )
    assert result.exit_code == 0, result.output
    assert sign_in(app.test_client(), "root-owner", "long enough pw").status_code == 302
    short = runner.invoke(args=["create-admin", "--username", "x-owner", "--password", "short"])
    assert short.exit_code != 0 and "password" in short.output


def test_an_operator_is_refused_the_audit_log(app: Flask) -> None:
    assert staff_client(app, "operator").get("/panel/audit").status_code == 403
    assert staff_client(app, "owner").get("/panel/audit").status_code == 200


def test_seed_gives_a_development_database_a_demo_owner_and_production_none(app: Flask) -> None:
    from wxdist.cli.commands import DEMO_OWNER

    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed"]).exit_code == 0  # the test environment: no account
    assert sign_in(app.test_client(), *DEMO_OWNER).status_code == 401
    app.config["WXDIST_ENV"] = "development"
    try:
        result = runner.invoke(args=["seed"])
    finally:
        app.config["WXDIST_ENV"] = "test"
    assert result.exit_code == 0 and DEMO_OWNER[0] in result.output
    assert sign_in(app.test_client(), *DEMO_OWNER).status_code == 302


def _from(app: Flask, address: str) -> FlaskClient:
    """A browser at another address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_a_stranger_cannot_lock_the_owner_out(app: Flask) -> None:
    make_staff(app, "owner", "admin")
    stranger = _from(app, "203.0.113.66")
    statuses = [sign_in(stranger, "admin", "guessing!!").status_code for _ in range(12)]
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
    assert sign_in(stranger, "admin", PASSWORD).status_code == 429  # this address waits
    # The owner, at an address that has not failed, signs in at once.
    assert sign_in(_from(app, "198.51.100.7"), "admin", PASSWORD).status_code == 302


def test_a_username_under_attack_from_many_addresses_is_slowed_not_locked(app: Flask) -> None:
    make_staff(app, "owner", "admin")
    for i in range(10):  # a botnet: one wrong guess from each of ten addresses
        assert sign_in(_from(app, f"203.0.113.{i}"), "admin", "guessing!!").status_code == 401
    # Under attack, each further address gets three wrong guesses, not ten.
    another = _from(app, "203.0.113.200")
    statuses = [sign_in(another, "admin", "guessing!!").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    # An address that has not failed is never refused: the owner signs in.
    assert sign_in(_from(app, "198.51.100.7"), "admin", PASSWORD).status_code == 302
    # Other accounts are not slowed by the attack on this one.
    make_staff(app, "finance", "cashier")
    assert sign_in(another, "cashier", PASSWORD).status_code == 302


def test_one_address_guessing_many_usernames_is_stopped(app: Flask) -> None:
    make_staff(app, "owner", "admin")
    sprayer = _from(app, "203.0.113.9")
    statuses = [sign_in(sprayer, f"user{i}", "guessing!!").status_code for i in range(31)]
    assert statuses[:30] == [401] * 30 and statuses[30] == 429
    assert sign_in(sprayer, "admin", PASSWORD).status_code == 429
    assert sign_in(_from(app, "198.51.100.7"), "admin", PASSWORD).status_code == 302
