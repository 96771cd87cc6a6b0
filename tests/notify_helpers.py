"""Helpers of the subscribe-message tests: consents through the API, what the emulator
received, the message log."""

from __future__ import annotations

from typing import Any

import requests
from flask import Flask
from flask.testing import FlaskClient

from wxdist.core.extensions import db
from wxdist.models import MessageLog, SubscribeConsent, User


def template(app: Flask, kind: str) -> str:
    return app.config["SUBSCRIBE_TEMPLATES"][kind]


def user_of(client: FlaskClient, headers: dict[str, str]) -> int:
    return client.get("/api/v1/me", headers=headers).get_json()["id"]


def openid_of(app: Flask, user_id: int) -> str:
    with app.app_context():
        return db.session.get(User, user_id).openid


def accept(
    client: FlaskClient, app: Flask, headers: dict[str, str], kind: str, times: int = 1
) -> list[dict[str, Any]]:
    """The shopper allows `times` messages of `kind`'s template, one request each."""
    items: list[dict[str, Any]] = []
    for _ in range(times):
        body = {"errMsg": "requestSubscribeMessage:ok", template(app, kind): "accept"}
        response = client.post("/api/v1/me/subscriptions", json=body, headers=headers)
        assert response.status_code == 200, response.get_json()
        items = response.get_json()["items"]
    return items


def remaining(app: Flask, user_id: int, kind: str) -> int:
    with app.app_context():
        row = (
            db.session.query(SubscribeConsent)
            .filter_by(user_id=user_id, template_id=template(app, kind))
            .one_or_none()
        )
        return 0 if row is None else row.remaining


def sent(emulator_url: str, openid: str | None = None) -> list[dict[str, Any]]:
    found = requests.get(f"{emulator_url}/_emulator/wechat/subscribe/sent", timeout=5).json()
    return [m for m in found["sent"] if openid is None or m["touser"] == openid]


def refuse(emulator_url: str, openid: str) -> None:
    response = requests.post(
        f"{emulator_url}/_emulator/wechat/subscribe/refuse", json={"openid": openid}, timeout=5
    )
    assert response.status_code == 200


def log_rows(app: Flask, user_id: int | None = None, kind: str | None = None) -> list[Any]:
    with app.app_context():
        query = db.session.query(MessageLog).order_by(MessageLog.id)
        if user_id is not None:
            query = query.filter_by(user_id=user_id)
        if kind is not None:
            query = query.filter_by(kind=kind)
        rows = query.all()
        for row in rows:
            db.session.expunge(row)
        return rows
