"""Phone number binding: the getPhoneNumber code goes to WeChat (the emulator), the number
is kept and shown masked; a wrong or used code is a 400; staff see it whole only through
the audited reveal."""

from __future__ import annotations

from typing import Any

import requests
from flask import Flask
from flask.testing import FlaskClient

from tests.panel_helpers import staff_client
from tests.shop import become_distributor, login
from wxdist.core.extensions import db
from wxdist.models import AuditEntry, User

NUMBER = "13812345678"


def register_code(emulator: Any, code: str, phone: str = NUMBER, **extra: Any) -> None:
    response = requests.post(
        f"{emulator.url}/_emulator/wechat/phone-code",
        json={"code": code, "phone": phone, **extra},
        timeout=5,
    )
    assert response.status_code == 200, response.text


def test_phone_bound_and_masked(app: Flask, client: FlaskClient, emulator: Any) -> None:
    headers = login(client, "phone-1")
    register_code(emulator, "pc-1")
    response = client.post("/api/v1/me/phone", json={"code": "pc-1"}, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["phone"] == "138****5678"
    me = client.get("/api/v1/me", headers=headers)
    assert me.get_json()["phone"] == "138****5678"
    assert NUMBER not in me.get_data(as_text=True)
    with app.app_context():
        user = db.session.get(User, me.get_json()["id"])
        assert (user.phone, user.phone_country_code) == (NUMBER, "86")


def test_unknown_and_used_codes_are_refused(app: Flask, client: FlaskClient, emulator: Any) -> None:
    headers = login(client, "phone-2")
    unknown = client.post("/api/v1/me/phone", json={"code": "never-issued"}, headers=headers)
    assert unknown.status_code == 400
    assert unknown.get_json()["error"]["code"] == "invalid_phone_code"
    assert "code" in unknown.get_json()["error"]["fields"]

    register_code(emulator, "pc-2")
    assert (
        client.post("/api/v1/me/phone", json={"code": "pc-2"}, headers=headers).status_code == 200
    )
    again = client.post("/api/v1/me/phone", json={"code": "pc-2"}, headers=headers)
    assert again.status_code == 400
    assert again.get_json()["error"]["code"] == "invalid_phone_code"

    blank = client.post("/api/v1/me/phone", json={"code": " "}, headers=headers)
    assert blank.status_code == 400 and "code" in blank.get_json()["error"]["fields"]
    anonymous = client.post("/api/v1/me/phone", json={"code": "pc-2"})
    assert anonymous.status_code == 401


def test_answer_for_another_appid_is_not_kept(
    app: Flask, client: FlaskClient, emulator: Any
) -> None:
    headers = login(client, "phone-3")
    register_code(emulator, "pc-3", appid="wx0000000000000000")
    response = client.post("/api/v1/me/phone", json={"code": "pc-3"}, headers=headers)
    assert response.status_code == 502
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert me["phone"] is None


def test_wechat_fault_is_a_502(app: Flask, client: FlaskClient, emulator: Any) -> None:
    headers = login(client, "phone-4")
    register_code(emulator, "pc-4")
    armed = requests.post(
        f"{emulator.url}/_emulator/faults",
        json={"key": "/wxa/business/getuserphonenumber", "mode": "error500"},
        timeout=5,
    )
    assert armed.status_code == 200, armed.text
    response = client.post("/api/v1/me/phone", json={"code": "pc-4"}, headers=headers)
    assert response.status_code == 502


def test_panel_shows_masked_and_audits_the_reveal(
    app: Flask, client: FlaskClient, emulator: Any
) -> None:
    who = become_distributor(client, "phone-5")
    register_code(emulator, "pc-5")
    assert (
        client.post("/api/v1/me/phone", json={"code": "pc-5"}, headers=who["headers"]).status_code
        == 200
    )
    staff = staff_client(app, "owner")
    page = staff.get(f"/panel/distributors/{who['user_id']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "138****5678" in html and NUMBER not in html

    from tests.panel_helpers import post_form

    shown = post_form(
        staff,
        f"/panel/distributors/{who['user_id']}",
        f"/panel/distributors/{who['user_id']}/phone",
    )
    assert shown.status_code == 200 and NUMBER in shown.get_data(as_text=True)
    with app.app_context():
        entries = db.session.query(AuditEntry).filter_by(action="account.phone_reveal").all()
        assert [(e.target_type, e.target_id) for e in entries] == [("user", str(who["user_id"]))]
        assert NUMBER not in entries[0].before_json + entries[0].after_json
