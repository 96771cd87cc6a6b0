"""A test ERP: signs open API requests the way the API document says, with its own code
(hmac and hashlib here, not the server's `request_signing.sign`), so a test fails if the
server's idea of the scheme drifts from what it publishes."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from wxdist.integrations import api_keys

PREFIX = "/open/v1"


def make_key(app: Flask, scopes: list[str], rate: int = 600, name: str = "ERP") -> tuple[str, str]:
    """A key as the owner makes it in the panel: (key id, secret)."""
    with app.app_context():
        made = api_keys.create(name, scopes, rate, None)
        return made.key.key_id, made.secret


def signed_headers(
    key_id: str,
    secret: str,
    method: str,
    path: str,
    body: bytes,
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_urlsafe(18)
    lines = "\n".join((method, path, stamp, nonce, hashlib.sha256(body).hexdigest()))
    mac = hmac.new(secret.encode(), lines.encode(), hashlib.sha256).hexdigest()
    return {
        "X-Wxdist-Key": key_id,
        "X-Wxdist-Timestamp": stamp,
        "X-Wxdist-Nonce": nonce,
        "X-Wxdist-Signature": f"v1={mac}",
    }


class Erp:
    """Calls the open API with one key."""

    def __init__(self, client: FlaskClient, key_id: str, secret: str) -> None:
        self.client, self.key_id, self.secret = client, key_id, secret

    def get(self, path: str, **params: Any) -> TestResponse:
        full = PREFIX + path + (f"?{urlencode(params)}" if params else "")
        headers = signed_headers(self.key_id, self.secret, "GET", full, b"")
        return self.client.get(full, headers=headers)

    def post(self, path: str, payload: Any, **signing: Any) -> TestResponse:
        body = json.dumps(payload).encode()
        headers = signed_headers(self.key_id, self.secret, "POST", PREFIX + path, body, **signing)
        return self.client.post(PREFIX + path, data=body, headers=headers,
                                content_type="application/json")  # fmt: skip
