"""Alipay open-platform wire format: constants, parameter patterns and RSA2 signing.

Nothing here touches emulator state; tests use `sign_content`, `rsa2_sign` and
`sign_notify` to craft genuine (and forged) notifies.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from datetime import timedelta, timezone
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

EXTENSION = "emulator_alipay"
CN_TZ = timezone(timedelta(hours=8))  # Asia/Shanghai, no DST
PAGE_METHODS = frozenset({"alipay.trade.wap.pay"})
SELLER_ID = "2088621000000001"
MAX_TOTAL_FEN = 100_000_000 * 100  # Alipay caps a trade at 100,000,000.00 yuan
NOTIFY_TIMEOUT_SECONDS = 5.0

WAIT_BUYER_PAY = "WAIT_BUYER_PAY"
TRADE_SUCCESS = "TRADE_SUCCESS"
TRADE_CLOSED = "TRADE_CLOSED"
TRADE_FINISHED = "TRADE_FINISHED"

TRANSFER_PRODUCT_CODE = "TRANS_ACCOUNT_NO_PWD"
TRANSFER_BIZ_SCENE = "DIRECT_TRANSFER"
TRANSFER_MIN_FEN = 10  # Alipay: at least 0.1 yuan a transfer
TRANSFER_MAX_FEN = 5_000_000  # the emulated contract's limit: 50,000.00 yuan a transfer
TRANSFER_STATUSES = ("SUCCESS", "DEALING", "FAIL", "REFUND")
WRONG_PAYEE_NAME = "错误姓名"
MISSING_PAYEE = "nobody@example.com"
FROZEN_PAYEE = "frozen@example.com"
FUND_INVALID = "INVALID_PARAMETER"  # the fund.trans methods' sub_code (no ACQ. prefix)

MESSAGES = {
    "10000": "Success",
    "20000": "Service Currently Unavailable",
    "40001": "Missing Required Arguments",
    "40002": "Invalid Arguments",
    "40004": "Business Failed",
}
METHOD_NAME = re.compile(r"[a-z]+(?:\.[a-z]+)+")
OUT_NO = re.compile(r"[A-Za-z0-9_\-]{1,64}")
TIMEOUT_EXPRESS = re.compile(r"(?:[1-9][0-9]{0,3}[mhd]|1c)")
LOGON_ID = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[A-Za-z]{2,}|1[3-9][0-9]{9}")
USER_ID = re.compile(r"2088[0-9]{12}")


# ---------------------------------------------------------------------------------------
# Signatures
# ---------------------------------------------------------------------------------------


def load_rsa_private_key(pem: str) -> rsa.RSAPrivateKey:
    """Load a PKCS#1 or PKCS#8 PEM RSA private key; ValueError if it is not one."""
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("expected an RSA private key")
    return key


def sign_content(params: Mapping[str, Any], exclude: tuple[str, ...]) -> str:
    """Alipay's string to sign: sorted `k=v` joined by `&`, empty values and `exclude`d
    keys left out, values as sent (no URL encoding)."""
    return "&".join(
        f"{k}={params[k]}"
        for k in sorted(params)
        if k not in exclude and params[k] is not None and str(params[k]) != ""
    )


def rsa2_sign(key: rsa.RSAPrivateKey, content: str) -> str:
    """Base64 SHA256withRSA (PKCS#1 v1.5) signature of the UTF-8 bytes of `content`."""
    signature = key.sign(content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def rsa2_verify(key: rsa.RSAPublicKey, content: str, sign: str) -> bool:
    """True if `sign` (base64) is a valid RSA2 signature of `content`; never raises."""
    try:
        signature = base64.b64decode(sign, validate=True)
        key.verify(signature, content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def sign_notify(fields: Mapping[str, Any], platform_private_key_pem: str) -> dict[str, str]:
    """Return `fields` (as strings) plus `sign_type` RSA2 and `sign`, exactly as Alipay signs
    an async notify: over sorted `k=v` of all non-empty fields but `sign` and `sign_type`.

    Raises ValueError if the key is not an RSA private key PEM.
    """
    key = load_rsa_private_key(platform_private_key_pem)
    signed = {k: str(v) for k, v in fields.items() if k not in ("sign", "sign_type")}
    signed["sign_type"] = "RSA2"
    signed["sign"] = rsa2_sign(key, sign_content(signed, ("sign", "sign_type")))
    return signed
