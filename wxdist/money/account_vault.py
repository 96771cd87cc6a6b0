"""Payout account details (Alipay login, bank card numbers, names) encrypted at rest.

Sealed by `wxdist.core.sealing` (Fernet, a key from `DATA_ENCRYPTION_KEY` or `SECRET_KEY`).
Only the payout job decrypts; everything shown to people is the masked form.
"""

from __future__ import annotations

import json
from typing import Any

from wxdist.core import sealing

PURPOSE = "account-vault"


def seal(account: dict[str, Any]) -> str:
    return sealing.seal(PURPOSE, json.dumps(account, ensure_ascii=False).encode())


def unseal(token: str) -> dict[str, Any]:
    """Raises ValueError if the token was not sealed with this key."""
    if not token:
        return {}
    return json.loads(sealing.unseal(PURPOSE, token))


def mask_account(number: str) -> str:
    """6222 0212 3456 7890 → ****7890; alice@example.com → al***@example.com."""
    number = number.replace(" ", "")
    if "@" in number:
        name, _, domain = number.partition("@")
        return f"{name[:2]}***@{domain}"
    if len(number) <= 4:
        return "*" * len(number)
    return f"****{number[-4:]}"
