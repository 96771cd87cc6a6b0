"""Secrets kept at rest in the database, sealed with Fernet (AES-128-CBC + HMAC-SHA256).

The key is derived from `DATA_ENCRYPTION_KEY` (or `SECRET_KEY` when that is not set) and
a `purpose`, so a value sealed for one purpose never opens as another's.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


def _fernet(purpose: str) -> Fernet:
    secret = current_app.config.get("DATA_ENCRYPTION_KEY") or current_app.config["SECRET_KEY"]
    digest = hashlib.sha256(f"wxdist-{purpose}:{secret}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(purpose: str, value: bytes) -> str:
    return _fernet(purpose).encrypt(value).decode()


def unseal(purpose: str, token: str) -> bytes:
    """Raises ValueError if `token` was not sealed for `purpose` with this key."""
    try:
        return _fernet(purpose).decrypt(token.encode())
    except InvalidToken:
        raise ValueError(f"a {purpose} value cannot be decrypted with this key") from None
