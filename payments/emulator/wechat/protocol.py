"""WeChat Pay v2 wire format: constants, signing, XML, the refund-notify cipher.

Nothing here touches emulator state; tests use `sign_notify`, `to_xml` and
`encrypt_refund_info` to craft genuine (and forged) notifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from flask import Response

CHINA_TZ = timezone(timedelta(hours=8))
TOKEN_TTL_SECONDS = 7200
NOTIFY_TIMEOUT_SECONDS = 10.0
REFUND_SETTLE_DELAY_SECONDS = 0.1
SIGN_TYPES = ("MD5", "HMAC-SHA256")
PAID_STATES = ("SUCCESS", "REFUND")
DEFAULT_PAGE = "pages/index/index"
ENV_VERSIONS = ("release", "trial", "develop")
TRANSFER_MIN_FEN = 30  # WeChat's minimum enterprise payment: 0.3 yuan
TRANSFER_MAX_FEN = 2_000_000  # the emulator's per-payment ceiling (20,000 yuan)
TRANSFER_CHECK_NAMES = ("NO_CHECK", "FORCE_CHECK")
TRANSFER_STATUSES = ("SUCCESS", "FAILED", "PROCESSING")
WRONG_NAME = "错误姓名"  # FORCE_CHECK with this re_user_name answers NAME_MISMATCH
BUSY = "系统繁忙,请稍后再试."


# --------------------------------------------------------------------------- signing / XML


def sign_fields(fields: Mapping[str, Any], api_key: str, sign_type: str = "MD5") -> str:
    """The WeChat Pay v2 signature: sorted non-empty `k=v` pairs (without `sign`), joined
    by `&`, then `&key=<api_key>`, hashed with MD5 or HMAC-SHA256, upper-case hex."""
    pairs = sorted(
        (str(k), str(v)) for k, v in fields.items() if k != "sign" and v not in (None, "")
    )
    text = "&".join(f"{k}={v}" for k, v in pairs) + f"&key={api_key}"
    if sign_type == "HMAC-SHA256":
        digest = hmac.new(api_key.encode(), text.encode(), hashlib.sha256).hexdigest()
    else:
        digest = hashlib.md5(text.encode()).hexdigest()
    return digest.upper()


def to_xml(fields: Mapping[str, Any], root: str = "xml") -> bytes:
    """Render flat fields as WeChat does: digits bare, everything else in CDATA."""
    parts = [f"<{root}>"]
    for key, value in fields.items():
        if value is None:
            continue
        text = str(value)
        if text.isdigit():
            parts.append(f"<{key}>{text}</{key}>")
        else:
            text = text.replace("]]>", "]]]]><![CDATA[>")
            parts.append(f"<{key}><![CDATA[{text}]]></{key}>")
    parts.append(f"</{root}>")
    return "".join(parts).encode()


def sign_notify(fields: dict[str, Any], api_key: str) -> bytes:
    """A notify body signed exactly as WeChat signs one (`sign_type` in `fields` picks
    HMAC-SHA256, default MD5). Any `sign` already in `fields` is replaced."""
    body = {k: v for k, v in fields.items() if k != "sign"}
    body["sign"] = sign_fields(body, api_key, str(body.get("sign_type") or "MD5"))
    return to_xml(body)


def encrypt_refund_info(inner: Mapping[str, Any], api_key: str) -> str:
    """`req_info` of a refund notify: base64(AES-256-ECB(PKCS7(<root>…</root>))) keyed by
    the lower-case hex MD5 of the API key."""
    key = hashlib.md5(api_key.encode()).hexdigest().encode()
    padder = padding.PKCS7(128).padder()
    plain = padder.update(to_xml(inner, root="root")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def fail_xml(message: str) -> Response:
    return Response(
        to_xml({"return_code": "FAIL", "return_msg": message}),
        content_type="text/xml; charset=utf-8",
    )


def random_digits(n: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(n))


def china_now() -> datetime:
    return datetime.now(tz=CHINA_TZ)
