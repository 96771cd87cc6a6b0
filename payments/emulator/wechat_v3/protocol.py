"""WeChat Pay APIv3 wire format: constants, RSA signing, the AES-GCM notify resource.

Nothing here touches emulator state; tests use `build_notify`, `encrypt_resource`,
`load_private_key` and `signed_headers` to craft genuine (and forged) notifies.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

CHINA_TZ = timezone(timedelta(hours=8))
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
AUTH_MAX_SKEW_SECONDS = 300
NOTIFY_TIMEOUT_SECONDS = 10.0
CANCEL_SETTLE_DELAY_SECONDS = 0.1
MIN_AMOUNT_FEN = 10  # 0.1 yuan
MAX_AMOUNT_FEN = 2_000_000  # the emulator's per-bill ceiling (20,000 yuan)
NAME_REQUIRED_FROM_FEN = 200_000  # a payee name is required from 2,000 yuan
REMARK_MAX_CHARS = 32
NOTIFY_EVENT = "MCHTRANSFER.BILL.FINISHED"
NOTIFY_SUMMARY = "商家转账单据终态通知"
NOTIFY_ASSOCIATED_DATA = "mch_payment"
FINAL_STATES = ("SUCCESS", "FAIL", "CANCELLED")
CANCELABLE_STATES = ("ACCEPTED", "WAIT_USER_CONFIRM")
# Scenes a merchant may have opened, and the report info types each one needs.
SCENE_REPORT_TYPES: dict[str, tuple[str, ...]] = {
    "1000": ("活动名称", "奖励说明"),  # 现金营销
    "1005": ("岗位类型", "报酬说明"),  # 佣金报酬
    "1009": ("采购商品名称",),  # 采购货款
    "1010": ("赔付原因",),  # 二手回收
    "1011": ("赔付原因",),  # 企业赔付
}
STATUS_BY_CODE = {
    "SIGN_ERROR": 401,
    "NO_AUTH": 403,
    "NOT_ENOUGH": 403,
    "NOT_FOUND": 404,
    "FREQUENCY_LIMITED": 429,
    "SYSTEM_ERROR": 500,
    "SYSTEMERROR": 500,
}
OUT_BILL_NO = re.compile(r"[0-9A-Za-z]{5,32}")
AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')


# --------------------------------------------------------------------------- crypto


def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


def sign_message(private_key: rsa.RSAPrivateKey, *lines: str) -> str:
    """WeChat Pay v3's signature: base64 RSA-SHA256 (PKCS#1 v1.5) of the lines, each
    followed by a newline."""
    message = "".join(f"{line}\n" for line in lines).encode()
    return base64.b64encode(private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def signed_headers(
    body: str, private_key: rsa.RSAPrivateKey, serial: str, timestamp: int | None = None
) -> dict[str, str]:
    """The headers WeChat signs an answer or a notify with (over `ts\\nnonce\\nbody\\n`)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = secrets.token_hex(16).upper()
    return {
        "Wechatpay-Timestamp": ts,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": sign_message(private_key, ts, nonce, body),
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": SIGNATURE_TYPE,
    }


def encrypt_resource(
    plain: Mapping[str, Any] | str,
    apiv3_key: str,
    associated_data: str = NOTIFY_ASSOCIATED_DATA,
    original_type: str = NOTIFY_ASSOCIATED_DATA,
) -> dict[str, str]:
    """A notify's `resource`: AEAD_AES_256_GCM with the APIv3 key, a 12-character nonce."""
    text = plain if isinstance(plain, str) else json.dumps(plain, ensure_ascii=False)
    nonce = secrets.token_hex(6)
    sealed = AESGCM(apiv3_key.encode()).encrypt(
        nonce.encode(), text.encode(), associated_data.encode()
    )
    return {
        "original_type": original_type,
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(sealed).decode(),
        "associated_data": associated_data,
        "nonce": nonce,
    }


def build_notify(
    resource: Mapping[str, Any],
    *,
    apiv3_key: str,
    platform_private_key: str | rsa.RSAPrivateKey,
    public_key_id: str,
    event_type: str = NOTIFY_EVENT,
    timestamp: int | None = None,
) -> tuple[dict[str, str], bytes]:
    """(headers, body) of a merchant-transfer notify carrying `resource` (the decrypted
    bill), encrypted with `apiv3_key` and signed with `platform_private_key` under the
    serial `public_key_id`. Pass other keys to forge one."""
    key = (
        load_private_key(platform_private_key)
        if isinstance(platform_private_key, str)
        else platform_private_key
    )
    body = json.dumps(
        {
            "id": str(uuid.uuid4()),
            "create_time": rfc3339(china_now()),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": NOTIFY_SUMMARY,
            "resource": encrypt_resource(resource, apiv3_key),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    headers = {
        "Content-Type": "application/json",
        **signed_headers(body, key, public_key_id, timestamp),
    }
    return headers, body.encode()


def china_now() -> datetime:
    return datetime.now(tz=CHINA_TZ)


def rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def random_digits(n: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(n))
