"""Cookie sessions belong to the panel's browsers (wxdist.core.sessions): the mini-program
API and the gateways' notifies neither read nor set one."""

from __future__ import annotations

import pytest
from flask import Flask, session
from flask.testing import FlaskClient

from tests.shop import login


def test_api_answers_carry_no_session_cookie_and_do_not_vary_on_one(
    app: Flask, client: FlaskClient
) -> None:
    headers = login(client)
    client.set_cookie("session", "forged-or-stale")
    answer = client.get("/api/v1/me", headers=headers)
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers
    assert "Cookie" not in answer.headers.get("Vary", "")


@pytest.mark.parametrize("path", ["/api/v1/me", "/notify/wechat/pay"])
def test_a_machine_facing_request_has_no_session_to_write(app: Flask, path: str) -> None:
    with app.test_request_context(path), pytest.raises(RuntimeError):
        session["stray"] = 1


def test_a_panel_request_has_its_cookie_session(app: Flask) -> None:
    with app.test_request_context("/panel/login"):
        session["kept"] = 1
        assert session.modified
