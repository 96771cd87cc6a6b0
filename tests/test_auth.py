"""WeChat login through wechatpy and the emulator, bearer tokens, the access-token cache."""

from __future__ import annotations

import requests
from flask import Flask
from flask.testing import FlaskClient

from payments.emulator import EmulatorServer
from tests.shop import login
from wxdist.core.extensions import db
from wxdist.models import User


def test_login_creates_the_user_once_and_never_returns_the_session_key(
    client: FlaskClient, app: Flask
) -> None:
    first = client.post(
        "/api/v1/auth/login", json={"code": "code-abc", "nickname": "小明", "scene": "d42"}
    )
    assert first.status_code == 201
    body = first.get_json()
    assert body["created"] is True and body["token_type"] == "Bearer"
    assert body["user"]["nickname"] == "小明"
    assert "session_key" not in first.get_data(as_text=True)

    again = client.post("/api/v1/auth/login", json={"code": "code-abc"})
    assert again.status_code == 200
    assert again.get_json()["user"]["id"] == body["user"]["id"]  # same code, same user
    other = client.post("/api/v1/auth/login", json={"code": "code-xyz"})
    assert other.get_json()["user"]["id"] != body["user"]["id"]

    with app.app_context():
        user = db.session.get(User, body["user"]["id"])
        assert user.openid.startswith("o") and user.unionid
        assert user.first_scene == "d42"


def test_me_needs_a_valid_token(client: FlaskClient, app: Flask) -> None:
    headers = login(client, "code-me", nickname="阿花")
    me = client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200 and me.get_json()["nickname"] == "阿花"

    for bad in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = client.get("/api/v1/me", headers=bad)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] in ("unauthorized", "invalid_token")

    with app.app_context():  # revoking: bump the token version
        user = db.session.get(User, me.get_json()["id"])
        user.token_version += 1
        db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_token_signed_with_another_key_is_refused(client: FlaskClient, app: Flask) -> None:
    from itsdangerous import URLSafeTimedSerializer

    from wxdist.accounts.auth import TOKEN_SALT

    headers = login(client, "code-forge")
    uid = client.get("/api/v1/me", headers=headers).get_json()["id"]
    forged = URLSafeTimedSerializer("guessed-secret", salt=TOKEN_SALT).dumps({"uid": uid, "v": 1})
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


def test_a_refused_code_is_a_400_naming_the_field(client: FlaskClient) -> None:
    response = client.post("/api/v1/auth/login", json={"code": "invalid-code-1"})
    assert response.status_code == 400
    assert "code" in response.get_json()["error"]["fields"]


def test_malformed_login_bodies_are_400_with_the_field(client: FlaskClient) -> None:
    cases = [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (b'{"nickname": "x"}', "code"),
        (b'{"code": ""}', "code"),
        (b'{"code": "a", "admin": true}', "admin"),
        (b'{"code": "a", "scene": "' + b"s" * 33 + b'"}', "scene"),
    ]
    for raw, field in cases:
        response = client.post(
            "/api/v1/auth/login", data=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, raw
        assert field in response.get_json()["error"]["fields"], (raw, response.get_json())


def _stats(emulator: EmulatorServer) -> dict:
    return requests.get(f"{emulator.url}/_emulator/wechat/stats", timeout=5).json()


def test_access_token_is_cached_and_refreshed_once_when_expired(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    from wxdist.core.gateways import gateways

    login(client, "code-t1")
    before = _stats(emulator)["token_fetches"]
    for n in range(3):
        login(client, f"code-t{n + 2}")
    assert _stats(emulator)["token_fetches"] == before  # cached, not fetched per login

    requests.post(f"{emulator.url}/_emulator/wechat/expire-tokens", timeout=5)
    with app.app_context():  # an API that checks the token meets 40001, refreshes once
        png = gateways().miniprogram.get_unlimited_code("t9")
    assert png.startswith(b"\x89PNG")
    assert _stats(emulator)["token_fetches"] == before + 1
