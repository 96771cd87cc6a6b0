"""Regressions found reviewing the panel: odd input answered with a 4xx (never a 500),
redirects and back links that never leave the panel, honest audit of bulk actions."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.panel_helpers import csrf_from, post_form, staff_client
from tests.shop import become_distributor


def test_an_id_no_row_can_have_is_not_found(app: Flask) -> None:
    owner = staff_client(app, "owner")
    token = csrf_from(owner.get("/panel/settings").get_data(as_text=True))
    huge = 10**30
    for url in (
        f"/panel/withdrawals/{huge}",
        f"/panel/orders/{huge}",
        f"/panel/distributors/{huge}",
    ):
        assert owner.get(url).status_code == 404, url
    for url in (f"/panel/withdrawals/{huge}/approve", f"/panel/distributors/{huge}/level"):
        assert owner.post(url, data={"csrf_token": token}).status_code == 404, url


def test_a_referrer_id_beyond_64_bits_is_refused_naming_the_field(
    client: FlaskClient, app: Flask
) -> None:
    user_id = become_distributor(client, "rv-big")["user_id"]
    owner = staff_client(app, "owner")
    page = f"/panel/distributors/{user_id}"
    response = post_form(owner, page, f"{page}/referrer", referrer_id=str(2**63))
    assert response.status_code == 400
    assert "New referrer: enter a user id between 1 and" in response.get_data(as_text=True)


def test_searches_and_bulk_ids_in_non_ascii_digits_are_not_ids(app: Flask) -> None:
    owner = staff_client(app, "owner")
    for url in (
        "/panel/withdrawals?q=²",
        "/panel/withdrawals.csv?q=²",
        f"/panel/withdrawals?q={'9' * 30}",
        "/panel/distributors?q=²",
        "/panel/orders?q=²",
    ):
        response = owner.get(url)
        assert response.status_code == 200 and response.get_data(), url
    for ids in ("²", "9" * 30):
        response = post_form(
            owner, "/panel/withdrawals", "/panel/withdrawals/bulk", action="approve", ids=ids
        )
        assert response.status_code == 400 and "(ids)" in response.get_data(as_text=True)


def test_dates_at_the_ends_of_the_calendar_are_ignored(app: Flask) -> None:
    owner = staff_client(app, "owner")
    for url in (
        "/panel/commissions?since=0001-01-01&until=9999-12-31",
        "/panel/commissions.csv?since=0001-01-01&until=9999-12-31",
        "/panel/orders?from=0001-01-01&to=9999-12-31",
    ):
        response = owner.get(url)
        assert response.status_code == 200 and response.get_data(), url


def test_the_bulk_redirect_and_the_back_link_never_leave_the_panel(app: Flask) -> None:
    owner = staff_client(app, "owner")
    token = csrf_from(owner.get("/panel/withdrawals").get_data(as_text=True))
    form = {"csrf_token": token, "action": "approve", "ids": "987654"}
    evil = {"Referer": "https://evil.example/panel/withdrawals"}
    response = owner.post("/panel/withdrawals/bulk", data=form, headers=evil)
    assert response.status_code == 303
    assert response.headers["Location"] == "/panel/withdrawals"
    own = {"Referer": "http://localhost/panel/withdrawals?status=pending_review"}
    response = owner.post("/panel/withdrawals/bulk", data=form, headers=own)
    assert response.headers["Location"] == "/panel/withdrawals?status=pending_review"
    missing = owner.get("/panel/orders/987654", headers=evil)
    assert missing.status_code == 404
    assert "evil.example" not in missing.get_data(as_text=True)
