"""Helpers that act as merchant staff in the panel, through real forms with CSRF tokens."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from wxdist.accounts.staff import create_staff

PASSWORD = "correct horse battery"
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def make_staff(app: Flask, role: str, username: str | None = None) -> str:
    """Create a staff account with PASSWORD; returns the username."""
    username = username or f"{role}-user"
    with app.app_context():
        create_staff(
            username,
            PASSWORD,
            role,
            display_name={"owner": "王老板", "operator": "运营小李", "finance": "财务小张"}.get(
                role, "小王"
            ),
        )
    return username


def csrf_from(html: str) -> str:
    """The CSRF token of the first form in a page (fails the test if there is none)."""
    match = _TOKEN.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    """Post the login form as a browser would; returns the response (not followed)."""
    page = client.get("/panel/login")
    token = csrf_from(page.get_data(as_text=True))
    return client.post(
        "/panel/login", data={"username": username, "password": password, "csrf_token": token}
    )


def staff_client(app: Flask, role: str, username: str | None = None) -> FlaskClient:
    """A fresh test client signed in as a new staff member with `role`."""
    client = app.test_client()
    name = make_staff(app, role, username)
    response = sign_in(client, name)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def post_form(client: FlaskClient, page_url: str, action_url: str, **data: Any) -> Any:
    """Open `page_url`, take its CSRF token and post `data` to `action_url` (not followed)."""
    page = client.get(page_url)
    assert page.status_code == 200, page.status_code
    token = csrf_from(page.get_data(as_text=True))
    return client.post(action_url, data={**data, "csrf_token": token})
