"""Settings of WeChat's message push and subscribe messages (wxdist/notifications/).

- WECHAT_MESSAGE_TOKEN, WECHAT_MESSAGE_AES_KEY: the 消息推送 token and EncodingAESKey (43
  characters of base64, safe mode) set in the mini-program's console; the development
  defaults are shared with the emulator, and production refuses them.
- SUBSCRIBE_MINIPROGRAM_STATE: which version a message opens (developer / trial / formal);
  by default it follows MINIPROGRAM_ENV_VERSION (develop / trial / release).
- SUBSCRIBE_TEMPLATE_<KIND>: the template id of each notice (NOTICE_KINDS), chosen in the
  console's 订阅消息 library; development defaults are templates the emulator knows.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

DEV_WECHAT_MESSAGE_TOKEN = "wxdistEmulatorMessageToken2026"
DEV_WECHAT_MESSAGE_AES_KEY = "d3hkaXN0RW11bGF0b3JNZXNzYWdlQWVzS2V5MDAwMDE"  # 43 chars

NOTICE_KINDS = (
    "order_shipped",
    "aftersale_result",
    "commission_settled",
    "withdrawal_finished",
    "distributor_approved",
    "stock_alert",  # to staff who opted in (the panel's account page), not to shoppers
)

DEV_SUBSCRIBE_TEMPLATES = {
    "order_shipped": "wxdistDevTmplOrderShipped00000000000000001",
    "aftersale_result": "wxdistDevTmplAftersaleResult0000000000001",
    "commission_settled": "wxdistDevTmplCommissionSettled0000000001",
    "withdrawal_finished": "wxdistDevTmplWithdrawalFinished000000001",
    "distributor_approved": "wxdistDevTmplDistributorApproved00000001",
    "stock_alert": "wxdistDevTmplStockAlert000000000000000001",
}

MINIPROGRAM_STATES = ("developer", "trial", "formal")
_STATE_BY_ENV_VERSION = {"develop": "developer", "trial": "trial", "release": "formal"}


class MessageConfigError(ValueError):
    """A message setting is malformed (config.load_settings turns it into ConfigError)."""


def _aes_key(raw: str) -> str:
    if len(raw) != 43:
        raise MessageConfigError("WECHAT_MESSAGE_AES_KEY must be 43 characters (EncodingAESKey)")
    try:
        key = base64.b64decode(raw + "=", validate=True)
    except (binascii.Error, ValueError):
        raise MessageConfigError("WECHAT_MESSAGE_AES_KEY must be base64 text") from None
    if len(key) != 32:
        raise MessageConfigError("WECHAT_MESSAGE_AES_KEY must decode to 32 bytes")
    return raw


def _template_id(name: str, raw: str) -> str:
    value = raw.strip()
    if not value or len(value) > 64 or not value.isascii() or " " in value:
        raise MessageConfigError(f"{name} must be a template id (ASCII, up to 64 characters)")
    return value


def message_settings(get: Callable[..., str], env_version: str, production: bool) -> dict[str, Any]:
    """The message settings from `get(name, default)`. Raises MessageConfigError."""
    token = get("WECHAT_MESSAGE_TOKEN", DEV_WECHAT_MESSAGE_TOKEN)
    if not 3 <= len(token) <= 32 or not token.isalnum():
        raise MessageConfigError("WECHAT_MESSAGE_TOKEN must be 3 to 32 letters or digits")
    aes_key = _aes_key(get("WECHAT_MESSAGE_AES_KEY", DEV_WECHAT_MESSAGE_AES_KEY))
    if production and (token == DEV_WECHAT_MESSAGE_TOKEN or aes_key == DEV_WECHAT_MESSAGE_AES_KEY):
        raise MessageConfigError(
            "WXDIST_ENV=production needs WECHAT_MESSAGE_TOKEN and WECHAT_MESSAGE_AES_KEY"
        )
    state = get("SUBSCRIBE_MINIPROGRAM_STATE", _STATE_BY_ENV_VERSION.get(env_version, "formal"))
    if state not in MINIPROGRAM_STATES:
        raise MessageConfigError(
            f"SUBSCRIBE_MINIPROGRAM_STATE must be developer, trial or formal, got {state!r}"
        )
    templates = {}
    for kind in NOTICE_KINDS:
        name = f"SUBSCRIBE_TEMPLATE_{kind.upper()}"
        templates[kind] = _template_id(name, get(name, DEV_SUBSCRIBE_TEMPLATES[kind]))
    if len(set(templates.values())) != len(templates):
        raise MessageConfigError("each SUBSCRIBE_TEMPLATE_* must name a different template")
    return {
        "WECHAT_MESSAGE_TOKEN": token,
        "WECHAT_MESSAGE_AES_KEY": aes_key,
        "SUBSCRIBE_MINIPROGRAM_STATE": state,
        "SUBSCRIBE_TEMPLATES": templates,
    }
