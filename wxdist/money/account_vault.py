"""Payout account details (Alipay login, bank card numbers, names) encrypted at rest.

Fernet (AES-128-CBC + HMAC-SHA256) with a key derived from `DATA_ENCRYPTION_KEY`, or from
`SECRET_KEY` when that is not set. Only the payout job decrypts; everything shown to people
is the masked form.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


def _fernet() -> Fernet:
    secret = current_app.config.get("DATA_ENCRYPTION_KEY") or current_app.config["SECRET_KEY"]
    digest = hashlib.sha256(f"wxdist-account-vault:{secret}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(account: dict[str, Any]) -> str:
    return _fernet().encrypt(json.dumps(account, ensure_ascii=False).encode()).decode()


def unseal(token: str) -> dict[str, Any]:
    """Raises ValueError if the token was not sealed with this key."""
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise ValueError("account details cannot be decrypted with this key") from None


def mask_account(number: str) -> str:
    """6222 0212 3456 7890 → ****7890; alice@example.com → al***@example.com."""
    number = number.replace(" ", "")
    if "@" in number:
        name, _, domain = number.partition("@")
        return f"{name[:2]}***@{domain}"
    if len(number) <= 4:
        return "*" * len(number)
    return f"****{number[-4:]}"
