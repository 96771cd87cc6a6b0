"""Emulated Alipay open-platform gateway (`/gateway.do`) plus control endpoints.

Speaks what alipay-sdk-python speaks: common parameters in the query string (and/or form),
`biz_content` in the form body (or the query string of a page-method GET), an RSA2
(SHA256withRSA) signature over the sorted `k=v&…` string of every non-empty parameter but
`sign` (so `sign_type` is signed), and JSON answers shaped
`{"<method_with_underscores>_response": {...}, "sign": "..."}` where `sign` is RSA2 by the
platform key over the exact text of the response object.

Methods: `alipay.trade.wap.pay` (page method: records the trade and shows a cashier page),
`alipay.trade.query`, `alipay.trade.close`, `alipay.trade.refund`, and the payouts
`alipay.fund.trans.uni.transfer` (TRANS_ACCOUNT_NO_PWD / DIRECT_TRANSFER to an Alipay
account; idempotent by out_biz_no, PAYMENT_INFO_INCONSISTENCY when the same number comes
with other parameters) and `alipay.fund.trans.common.query`. Payees for tests: name
`错误姓名` → PAYEE_USER_INFO_ERROR, login id `nobody@example.com` → PAYEE_NOT_EXIST,
`frozen@example.com` → PAYEE_ACCOUNT_STATUS_ERROR.

Control endpoints (JSON, for tests and manual runs):

- `POST /_emulator/alipay/pay` `{"out_trade_no", "notify": true}`: the buyer pays; posts the
  signed `trade_status_sync` notify to the trade's notify_url unless `notify` is false.
  Unknown trade → 404, closed trade → 409, already paid → 200 without a new notify.
- `POST /_emulator/alipay/notify` `{"out_trade_no"}`: post the notify again (current status).
- `POST /_emulator/alipay/finish` `{"out_trade_no"}`: a paid trade becomes TRADE_FINISHED.
- `POST /_emulator/alipay/reset`: forget every trade and zero the counters.
- `GET /_emulator/alipay/stats`: `{method: count}` of gateway calls, plus
  `"transfers_paid": {out_biz_no: count}`, how many times money actually left for a payout.
- `GET /_emulator/alipay/trades/<out_trade_no>`: the emulator's record of a trade.
- `GET /_emulator/alipay/transfers/<out_biz_no>`: the emulator's record of a payout.
- `POST /_emulator/alipay/transfers/<out_biz_no>/status` `{"status", "error_code"?,
  "fail_reason"?}`: move a payout to SUCCESS, DEALING, FAIL or REFUND (as later seen by
  `alipay.fund.trans.common.query`); the paid count is not changed.
- `POST /_emulator/alipay/balance` `{"balance_fen": int | null}`: the merchant's balance for
  payouts (null, the default after reset: unlimited); short → PAYER_BALANCE_NOT_ENOUGH.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from flask import Blueprint, Flask, Response, current_app, jsonify, request
from markupsafe import escape

from payments.emulator.settings import EmulatorSettings
from payments.money import fen_to_yuan, yuan_to_fen

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

_MSG = {
    "10000": "Success",
    "20000": "Service Currently Unavailable",
    "40001": "Missing Required Arguments",
    "40002": "Invalid Arguments",
    "40004": "Business Failed",
}
_METHOD_NAME = re.compile(r"[a-z]+(?:\.[a-z]+)+")
_OUT_NO = re.compile(r"[A-Za-z0-9_\-]{1,64}")
_TIMEOUT_EXPRESS = re.compile(r"(?:[1-9][0-9]{0,3}[mhd]|1c)")
_LOGON_ID = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[A-Za-z]{2,}|1[3-9][0-9]{9}")
_USER_ID = re.compile(r"2088[0-9]{12}")


# ---------------------------------------------------------------------------------------
# Signatures
# ---------------------------------------------------------------------------------------


def _load_rsa_private_key(pem: str) -> rsa.RSAPrivateKey:
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
    key = _load_rsa_private_key(platform_private_key_pem)
    signed = {k: str(v) for k, v in fields.items() if k not in ("sign", "sign_type")}
    signed["sign_type"] = "RSA2"
    signed["sign"] = rsa2_sign(key, sign_content(signed, ("sign", "sign_type")))
    return signed


# ---------------------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(CN_TZ).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class EmulatedTrade:
    """One trade as the emulated Alipay knows it."""

    out_trade_no: str
    total_fen: int
    subject: str
    product_code: str
    notify_url: str | None
    return_url: str | None
    timeout_express: str | None
    gmt_create: str
    status: str = WAIT_BUYER_PAY
    trade_no: str | None = None
    buyer_id: str | None = None
    buyer_logon_id: str | None = None
    gmt_payment: str | None = None
    gmt_close: str | None = None
    refunds: dict[str, int] = field(default_factory=dict)  # out_request_no -> fen
    refunded_fen: int = 0
    notifies_sent: int = 0

    @property
    def paid(self) -> bool:
        return self.trade_no is not None

    def as_json(self) -> dict[str, Any]:
        return {
            "out_trade_no": self.out_trade_no,
            "trade_no": self.trade_no,
            "trade_status": self.status,
            "total_amount": fen_to_yuan(self.total_fen),
            "total_fen": self.total_fen,
            "subject": self.subject,
            "product_code": self.product_code,
            "notify_url": self.notify_url,
            "return_url": self.return_url,
            "timeout_express": self.timeout_express,
            "gmt_create": self.gmt_create,
            "gmt_payment": self.gmt_payment,
            "gmt_close": self.gmt_close,
            "buyer_id": self.buyer_id,
            "buyer_logon_id": self.buyer_logon_id,
            "refunded_fen": self.refunded_fen,
            "refund_fee": fen_to_yuan(self.refunded_fen),
            "refunds": dict(self.refunds),
            "notifies_sent": self.notifies_sent,
        }


@dataclass(frozen=True)
class TransferRequest:
    """What a payout asked for; a repeat of the out_biz_no must ask for exactly this."""

    amount_fen: int
    product_code: str
    biz_scene: str
    payee_identity: str
    payee_identity_type: str
    payee_name: str | None
    order_title: str
    remark: str | None


@dataclass
class EmulatedTransfer:
    """One payout (`alipay.fund.trans.uni.transfer`) that took place."""

    out_biz_no: str
    request: TransferRequest
    order_id: str
    pay_fund_order_id: str
    trans_date: str
    status: str = "SUCCESS"
    error_code: str | None = None
    fail_reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "out_biz_no": self.out_biz_no,
            "order_id": self.order_id,
            "pay_fund_order_id": self.pay_fund_order_id,
            "status": self.status,
            "trans_date": self.trans_date,
            "trans_amount": fen_to_yuan(self.request.amount_fen),
            "amount_fen": self.request.amount_fen,
            "product_code": self.request.product_code,
            "biz_scene": self.request.biz_scene,
            "payee_info": {
                "identity": self.request.payee_identity,
                "identity_type": self.request.payee_identity_type,
                "name": self.request.payee_name,
            },
            "order_title": self.request.order_title,
            "remark": self.request.remark,
            "error_code": self.error_code,
            "fail_reason": self.fail_reason,
        }


class AlipayEmulatorState:
    """Trades, payouts and call counts, guarded by one lock (the server is threaded)."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.app_public_key = _load_rsa_private_key(settings.alipay_app_private_key).public_key()
        self.platform_key = _load_rsa_private_key(settings.alipay_platform_private_key)
        self.lock = threading.RLock()
        self.trades: dict[str, EmulatedTrade] = {}
        self.by_trade_no: dict[str, str] = {}
        self.stats: Counter[str] = Counter()
        self.transfers: dict[str, EmulatedTransfer] = {}
        self.transfers_paid: Counter[str] = Counter()  # out_biz_no -> times money left
        self.merchant_balance_fen: int | None = None  # None: unlimited
        # A random start keeps trade numbers unique across emulator restarts.
        self._seq = secrets.randbelow(10**12) * 100

    def reset(self) -> None:
        with self.lock:
            self.trades.clear()
            self.by_trade_no.clear()
            self.stats.clear()
            self.transfers.clear()
            self.transfers_paid.clear()
            self.merchant_balance_fen = None

    def count(self, method: str) -> None:
        with self.lock:
            self.stats[method or "<missing>"] += 1

    def next_trade_no(self) -> str:
        """28 digits like Alipay's: date + 220014 + 14-digit sequence. Call under the lock."""
        self._seq = (self._seq + 1) % 10**14
        return datetime.now(CN_TZ).strftime("%Y%m%d") + f"220014{self._seq:014d}"

    def next_transfer_ids(self) -> tuple[str, str]:
        """(order_id, pay_fund_order_id), 32 digits each like Alipay's. Call under the lock."""
        self._seq = (self._seq + 1) % 10**14
        head = datetime.now(CN_TZ).strftime("%Y%m%d") + "110070"
        return f"{head}0001{self._seq:014d}", f"{head}0015{self._seq:014d}"

    def find(self, out_trade_no: str | None, trade_no: str | None) -> EmulatedTrade | None:
        """Look a trade up by out_trade_no, else trade_no. Call under the lock."""
        if out_trade_no:
            trade = self.trades.get(out_trade_no)
            if trade is not None and trade_no and trade.trade_no != trade_no:
                return None
            return trade
        if trade_no and trade_no in self.by_trade_no:
            return self.trades[self.by_trade_no[trade_no]]
        return None


def _state() -> AlipayEmulatorState:
    return current_app.extensions[EXTENSION]


# ---------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------


class _Refusal(Exception):
    """An answer other than success, raised from deep inside a handler."""

    def __init__(self, code: str, sub_code: str, sub_msg: str, **extra: str) -> None:
        super().__init__(sub_msg)
        self.code = code
        self.sub_code = sub_code
        self.sub_msg = sub_msg
        self.extra = extra


def signed_answer(state: AlipayEmulatorState, method: str, payload: Mapping[str, Any]) -> Response:
    """`{"<method>_response": payload, "sign": RSA2(exact payload text)}` as Alipay emits it."""
    key = (
        method.replace(".", "_") + "_response"
        if _METHOD_NAME.fullmatch(method)
        else "error_response"
    )
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    sign = rsa2_sign(state.platform_key, text)
    body = '{"' + key + '":' + text + ',"sign":"' + sign + '"}'
    return Response(body.encode("utf-8"), status=200, mimetype="application/json")


def _success(state: AlipayEmulatorState, method: str, **fields: Any) -> Response:
    return signed_answer(state, method, {"code": "10000", "msg": "Success", **fields})


def _refusal_answer(state: AlipayEmulatorState, method: str, refusal: _Refusal) -> Response:
    if method in PAGE_METHODS:
        return _error_page(refusal)
    payload = {
        "code": refusal.code,
        "msg": _MSG.get(refusal.code, "Business Failed"),
        "sub_code": refusal.sub_code,
        "sub_msg": refusal.sub_msg,
        **refusal.extra,
    }
    return signed_answer(state, method, payload)


def _error_page(refusal: _Refusal) -> Response:
    html = (
        "<!doctype html><html><head><meta charset='utf-8'><title>支付宝 - 错误</title></head>"
        f"<body><h1>支付错误</h1><p>错误码 <code>{escape(refusal.sub_code)}</code></p>"
        f"<p>{escape(refusal.sub_msg)}</p></body></html>"
    )
    return Response(html, status=400, mimetype="text/html")


def _cashier_page(trade: EmulatedTrade) -> Response:
    amount = fen_to_yuan(trade.total_fen)
    back = f"<p><a href='{escape(trade.return_url)}'>返回商户</a></p>" if trade.return_url else ""
    html = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width'>"
        "<title>支付宝收银台 (emulator)</title></head><body>"
        "<h1>支付宝收银台</h1>"
        f"<p>商品: <span id='subject'>{escape(trade.subject)}</span></p>"
        f"<p>金额: ¥<span id='total_amount'>{amount}</span></p>"
        f"<p>订单号: <span id='out_trade_no'>{escape(trade.out_trade_no)}</span></p>"
        "<form method='post' action='/_emulator/alipay/pay'>"
        f"<input type='hidden' name='out_trade_no' value='{escape(trade.out_trade_no)}'>"
        "<button type='submit'>确认付款</button></form>"
        f"{back}</body></html>"
    )
    return Response(html, status=200, mimetype="text/html")


# ---------------------------------------------------------------------------------------
# Request parsing
# ---------------------------------------------------------------------------------------

_REQUIRED_COMMON = (
    ("app_id", "isv.missing-app-id"),
    ("sign_type", "isv.missing-signature-type"),
    ("sign", "isv.missing-signature"),
    ("timestamp", "isv.missing-timestamp"),
    ("version", "isv.missing-version"),
)


def _collect_params() -> tuple[dict[str, str], str | None]:
    """Query string and form merged; (params, problem) where problem names a parameter given
    twice with different values."""
    params: dict[str, str] = {}
    for source in (request.args, request.form):
        for name in source:
            values = source.getlist(name)
            if len(set(values)) > 1 or (name in params and params[name] != values[0]):
                return params, f"parameter {name} given twice"
            params[name] = values[0]
    return params, None


def _check_common(state: AlipayEmulatorState, params: Mapping[str, str]) -> None:
    """Raise _Refusal unless the common parameters and the signature are right."""
    for name, sub_code in _REQUIRED_COMMON:
        if not params.get(name):
            raise _Refusal("40001", sub_code, f"missing parameter {name}")
    if params["app_id"] != state.settings.alipay_app_id:
        raise _Refusal("40002", "isv.invalid-app-id", "无效的AppID参数")
    if params["sign_type"] != "RSA2":
        raise _Refusal("40002", "isv.invalid-signature-type", "无效的签名类型, 仅支持 RSA2")
    if params.get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
        raise _Refusal("40002", "isv.invalid-charset", "仅支持 utf-8")
    if params.get("format", "json").lower() != "json":
        raise _Refusal("40002", "isv.invalid-format", "仅支持 JSON")
    if params["version"] != "1.0":
        raise _Refusal("40002", "isv.invalid-version", "version 必须为 1.0")
    content = sign_content(params, ("sign",))
    if not rsa2_verify(state.app_public_key, content, params["sign"]):
        raise _Refusal("40002", "isv.invalid-signature", "验签出错")


def _biz(params: Mapping[str, str]) -> dict[str, Any]:
    raw = params.get("biz_content")
    if not raw:
        raise _Refusal("40001", "isv.missing-biz-content", "missing parameter biz_content")
    try:
        biz = json.loads(raw)
    except (ValueError, RecursionError):
        biz = None
    if not isinstance(biz, dict):
        raise _Refusal("40002", "isv.invalid-parameter", "biz_content 不是 JSON 对象")
    return biz


def _biz_str(
    biz: Mapping[str, Any],
    name: str,
    *,
    required: bool = False,
    invalid: str = "ACQ.INVALID_PARAMETER",
) -> str | None:
    """A biz_content field as text (numbers accepted as their JSON text). `invalid` is the
    sub_code of the refusal for a missing or malformed field."""
    value = biz.get(name)
    if isinstance(value, (bool, dict, list)):
        raise _Refusal("40004", invalid, f"参数无效: {name}")
    if isinstance(value, (int, float)):
        value = json.dumps(value)
    if value is None or value == "":
        if required:
            raise _Refusal("40004", invalid, f"缺少参数 {name}")
        return None
    return str(value)


def _biz_amount(biz: Mapping[str, Any], name: str) -> int:
    text = _biz_str(biz, name, required=True)
    try:
        fen = yuan_to_fen(text or "")
    except ValueError:
        fen = 0
    if not 1 <= fen <= MAX_TOTAL_FEN:
        raise _Refusal("40004", "ACQ.INVALID_PARAMETER", f"参数无效: {name}={text}")
    return fen


def _lookup(state: AlipayEmulatorState, biz: Mapping[str, Any]) -> EmulatedTrade:
    """The trade named by out_trade_no / trade_no. Call under the lock."""
    out_trade_no = _biz_str(biz, "out_trade_no")
    trade_no = _biz_str(biz, "trade_no")
    if not out_trade_no and not trade_no:
        raise _Refusal("40004", "ACQ.INVALID_PARAMETER", "out_trade_no 和 trade_no 不能同时为空")
    trade = state.find(out_trade_no, trade_no)
    if trade is None:
        echo = {"out_trade_no": out_trade_no} if out_trade_no else {}
        raise _Refusal("40004", "ACQ.TRADE_NOT_EXIST", "交易不存在", **echo)
    return trade


# ---------------------------------------------------------------------------------------
# Methods
# ---------------------------------------------------------------------------------------


def _wap_pay(
    state: AlipayEmulatorState, params: Mapping[str, str], biz: dict[str, Any]
) -> Response:
    out_trade_no = _biz_str(biz, "out_trade_no", required=True) or ""
    if not _OUT_NO.fullmatch(out_trade_no):
        raise _Refusal("40004", "ACQ.INVALID_PARAMETER", "out_trade_no 格式错误")
    total_fen = _biz_amount(biz, "total_amount")
    subject = _biz_str(biz, "subject", required=True) or ""
    if len(subject) > 256:
        raise _Refusal("40004", "ACQ.INVALID_PARAMETER", "subject 过长")
    product_code = _biz_str(biz, "product_code") or "QUICK_WAP_WAY"
    if product_code != "QUICK_WAP_WAY":
        raise _Refusal("40004", "ACQ.INVALID_PARAMETER", "product_code 必须为 QUICK_WAP_WAY")
    timeout_express = _biz_str(biz, "timeout_express")
    if timeout_express is not None and not _TIMEOUT_EXPRESS.fullmatch(timeout_express):
        raise _Refusal("40004", "ACQ.INVALID_PARAMETER", "timeout_express 格式错误")
    with state.lock:
        trade = state.trades.get(out_trade_no)
        if trade is None:
            trade = EmulatedTrade(
                out_trade_no=out_trade_no,
                total_fen=total_fen,
                subject=subject,
                product_code=product_code,
                notify_url=params.get("notify_url") or None,
                return_url=params.get("return_url") or None,
                timeout_express=timeout_express,
                gmt_create=_now(),
            )
            state.trades[out_trade_no] = trade
        elif trade.total_fen != total_fen:
            raise _Refusal("40004", "ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改: 金额不一致")
        elif trade.status in (TRADE_SUCCESS, TRADE_FINISHED):
            raise _Refusal("40004", "ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
        elif trade.status == TRADE_CLOSED:
            raise _Refusal("40004", "ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
        return _cashier_page(trade)


def _trade_query(
    state: AlipayEmulatorState, params: Mapping[str, str], biz: dict[str, Any]
) -> Response:
    with state.lock:
        trade = _lookup(state, biz)
        fields: dict[str, Any] = {"out_trade_no": trade.out_trade_no}
        if trade.trade_no:
            fields["trade_no"] = trade.trade_no
        fields["trade_status"] = trade.status
        fields["total_amount"] = fen_to_yuan(trade.total_fen)
        if trade.paid:
            fields.update(
                buyer_logon_id=trade.buyer_logon_id,
                buyer_user_id=trade.buyer_id,
                buyer_pay_amount=fen_to_yuan(trade.total_fen),
                receipt_amount=fen_to_yuan(trade.total_fen),
                send_pay_date=trade.gmt_payment,
            )
        return _success(state, "alipay.trade.query", **fields)


def _trade_close(
    state: AlipayEmulatorState, params: Mapping[str, str], biz: dict[str, Any]
) -> Response:
    with state.lock:
        trade = _lookup(state, biz)
        if trade.paid:
            raise _Refusal("40004", "ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        if trade.status == WAIT_BUYER_PAY:
            trade.status = TRADE_CLOSED
            trade.gmt_close = _now()
        return _success(state, "alipay.trade.close", out_trade_no=trade.out_trade_no)


def _trade_refund(
    state: AlipayEmulatorState, params: Mapping[str, str], biz: dict[str, Any]
) -> Response:
    refund_fen = _biz_amount(biz, "refund_amount")
    out_request_no = _biz_str(biz, "out_request_no")
    if out_request_no is not None and not _OUT_NO.fullmatch(out_request_no):
        raise _Refusal("40004", "ACQ.INVALID_PARAMETER", "out_request_no 格式错误")
    with state.lock:
        trade = _lookup(state, biz)
        echo = {"out_trade_no": trade.out_trade_no}
        request_no = out_request_no or trade.out_trade_no  # none given: one full refund
        previous = trade.refunds.get(request_no)
        if previous is not None:
            if previous != refund_fen:
                raise _Refusal(
                    "40004", "ACQ.CONTEXT_INCONSISTENT", "同一退款请求号的退款金额不一致", **echo
                )
            fund_change = "N"
        else:
            if not trade.paid:
                raise _Refusal("40004", "ACQ.TRADE_STATUS_ERROR", "交易状态不合法", **echo)
            if trade.status == TRADE_CLOSED:
                raise _Refusal("40004", "ACQ.TRADE_HAS_CLOSE", "交易已经关闭", **echo)
            if trade.status == TRADE_FINISHED:
                raise _Refusal("40004", "ACQ.TRADE_HAS_FINISHED", "交易已完结", **echo)
            if out_request_no is None and refund_fen != trade.total_fen:
                raise _Refusal(
                    "40004",
                    "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
                    "撤销或退款金额与订单金额不一致",
                    **echo,
                )
            if trade.refunded_fen + refund_fen > trade.total_fen:
                raise _Refusal(
                    "40004", "ACQ.REASON_TRADE_REFUND_FEE_ERR", "退款金额超过可退金额", **echo
                )
            trade.refunds[request_no] = refund_fen
            trade.refunded_fen += refund_fen
            if trade.refunded_fen == trade.total_fen:
                trade.status = TRADE_CLOSED
                trade.gmt_close = _now()
            fund_change = "Y"
        return _success(
            state,
            "alipay.trade.refund",
            trade_no=trade.trade_no,
            out_trade_no=trade.out_trade_no,
            buyer_logon_id=trade.buyer_logon_id,
            buyer_user_id=trade.buyer_id,
            fund_change=fund_change,
            refund_fee=fen_to_yuan(trade.refunded_fen),
            send_back_fee=fen_to_yuan(refund_fen),
            gmt_refund_pay=_now(),
        )


def _transfer_request(biz: Mapping[str, Any], echo: dict[str, str]) -> TransferRequest:
    """Check a payout's biz_content as Alipay does; raise _Refusal for a bad one."""

    def text(source: Mapping[str, Any], name: str, required: bool, limit: int) -> str | None:
        try:
            value = _biz_str(source, name, required=required, invalid=FUND_INVALID)
        except _Refusal as refusal:
            refusal.extra.update(echo)
            raise
        if value is not None and len(value) > limit:
            raise _Refusal("40004", FUND_INVALID, f"{name} 过长", **echo)
        return value

    amount_text = text(biz, "trans_amount", True, 32) or ""
    try:
        amount_fen = yuan_to_fen(amount_text)
    except ValueError:
        raise _Refusal(
            "40004", FUND_INVALID, f"参数无效: trans_amount={amount_text}", **echo
        ) from None
    if amount_fen < TRANSFER_MIN_FEN:
        raise _Refusal("40004", "EXCEED_LIMIT_SM_MIN_AMOUNT", "单笔最低转账金额0.1元", **echo)
    if amount_fen > TRANSFER_MAX_FEN:
        raise _Refusal("40004", "EXCEED_LIMIT_SM_AMOUNT", "单笔额度超限", **echo)
    if text(biz, "product_code", True, 64) != TRANSFER_PRODUCT_CODE:
        raise _Refusal("40004", FUND_INVALID, "product_code 须为 TRANS_ACCOUNT_NO_PWD", **echo)
    if text(biz, "biz_scene", True, 64) != TRANSFER_BIZ_SCENE:
        raise _Refusal("40004", FUND_INVALID, f"biz_scene 必须为 {TRANSFER_BIZ_SCENE}", **echo)
    payee = biz.get("payee_info")
    if not isinstance(payee, dict):
        raise _Refusal("40004", FUND_INVALID, "缺少参数 payee_info", **echo)
    identity = text(payee, "identity", True, 100) or ""
    identity_type = text(payee, "identity_type", True, 64) or ""
    name = text(payee, "name", False, 64)
    if identity_type == "ALIPAY_LOGON_ID":
        if name is None:
            raise _Refusal("40004", FUND_INVALID, "ALIPAY_LOGON_ID 收款方须提供 name", **echo)
    elif identity_type != "ALIPAY_USER_ID":
        raise _Refusal("40004", FUND_INVALID, f"不支持的 identity_type {identity_type}", **echo)
    return TransferRequest(
        amount_fen=amount_fen,
        product_code=TRANSFER_PRODUCT_CODE,
        biz_scene=TRANSFER_BIZ_SCENE,
        payee_identity=identity,
        payee_identity_type=identity_type,
        payee_name=name,
        order_title=text(biz, "order_title", True, 128) or "",
        remark=text(biz, "remark", False, 200),
    )


def _check_payee(wanted: TransferRequest, echo: dict[str, str]) -> None:
    """The emulated accounts: raise _Refusal for a payee Alipay would refuse."""
    pattern = _LOGON_ID if wanted.payee_identity_type == "ALIPAY_LOGON_ID" else _USER_ID
    if wanted.payee_identity == MISSING_PAYEE or not pattern.fullmatch(wanted.payee_identity):
        raise _Refusal("40004", "PAYEE_NOT_EXIST", "收款账号不存在", **echo)
    if wanted.payee_identity == FROZEN_PAYEE:
        raise _Refusal("40004", "PAYEE_ACCOUNT_STATUS_ERROR", "收款方账号异常", **echo)
    if wanted.payee_name == WRONG_PAYEE_NAME:
        raise _Refusal(
            "40004", "PAYEE_USER_INFO_ERROR", "支付宝账号和姓名不匹配，请确认姓名是否正确", **echo
        )


def _fund_transfer(
    state: AlipayEmulatorState, params: Mapping[str, str], biz: dict[str, Any]
) -> Response:
    out_biz_no = _biz_str(biz, "out_biz_no", required=True, invalid=FUND_INVALID) or ""
    if not _OUT_NO.fullmatch(out_biz_no):
        raise _Refusal("40004", FUND_INVALID, "out_biz_no 格式错误")
    echo = {"out_biz_no": out_biz_no}
    wanted = _transfer_request(biz, echo)
    with state.lock:
        transfer = state.transfers.get(out_biz_no)
        if transfer is not None:
            if transfer.request != wanted:
                raise _Refusal(
                    "40004",
                    "PAYMENT_INFO_INCONSISTENCY",
                    "两次请求商户单号一样，但是参数不一致",
                    **echo,
                )
        else:
            _check_payee(wanted, echo)
            balance = state.merchant_balance_fen
            if balance is not None and balance < wanted.amount_fen:
                raise _Refusal("40004", "PAYER_BALANCE_NOT_ENOUGH", "付款方余额不足", **echo)
            order_id, pay_fund_order_id = state.next_transfer_ids()
            transfer = EmulatedTransfer(
                out_biz_no=out_biz_no,
                request=wanted,
                order_id=order_id,
                pay_fund_order_id=pay_fund_order_id,
                trans_date=_now(),
            )
            state.transfers[out_biz_no] = transfer
            state.transfers_paid[out_biz_no] += 1
            if balance is not None:
                state.merchant_balance_fen = balance - wanted.amount_fen
        return _success(
            state,
            "alipay.fund.trans.uni.transfer",
            out_biz_no=transfer.out_biz_no,
            order_id=transfer.order_id,
            pay_fund_order_id=transfer.pay_fund_order_id,
            status=transfer.status,
            trans_date=transfer.trans_date,
        )


def _fund_query(
    state: AlipayEmulatorState, params: Mapping[str, str], biz: dict[str, Any]
) -> Response:
    out_biz_no = _biz_str(biz, "out_biz_no", invalid=FUND_INVALID)
    order_id = _biz_str(biz, "order_id", invalid=FUND_INVALID)
    pay_fund_order_id = _biz_str(biz, "pay_fund_order_id", invalid=FUND_INVALID)
    product_code = _biz_str(biz, "product_code", invalid=FUND_INVALID)
    biz_scene = _biz_str(biz, "biz_scene", invalid=FUND_INVALID)
    if not (out_biz_no or order_id or pay_fund_order_id):
        raise _Refusal(
            "40004", FUND_INVALID, "out_biz_no、order_id、pay_fund_order_id 不能同时为空"
        )
    if out_biz_no and not (product_code and biz_scene):
        raise _Refusal("40004", FUND_INVALID, "传入 out_biz_no 时 product_code、biz_scene 必传")
    with state.lock:
        found: EmulatedTransfer | None = None
        if order_id or pay_fund_order_id:  # Alipay's numbers take precedence
            for candidate in state.transfers.values():
                if order_id in (None, candidate.order_id) and pay_fund_order_id in (
                    None,
                    candidate.pay_fund_order_id,
                ):
                    found = candidate
                    break
        elif out_biz_no:
            found = state.transfers.get(out_biz_no)
            if found is not None and (product_code, biz_scene) != (
                found.request.product_code,
                found.request.biz_scene,
            ):
                found = None
        if found is None:
            raise _Refusal("40004", "ORDER_NOT_EXIST", "转账订单不存在")
        fields: dict[str, Any] = {
            "order_id": found.order_id,
            "pay_fund_order_id": found.pay_fund_order_id,
            "out_biz_no": found.out_biz_no,
            "trans_amount": fen_to_yuan(found.request.amount_fen),
            "status": found.status,
            "order_fee": "0.00",
        }
        if found.status == "SUCCESS":
            fields["pay_date"] = found.trans_date
            fields["arrival_time_end"] = found.trans_date
        if found.error_code:
            fields["error_code"] = found.error_code
        if found.fail_reason:
            fields["fail_reason"] = found.fail_reason
        return _success(state, "alipay.fund.trans.common.query", **fields)


Handler = Callable[[AlipayEmulatorState, Mapping[str, str], dict[str, Any]], Response]
METHODS: dict[str, Handler] = {
    "alipay.trade.wap.pay": _wap_pay,
    "alipay.trade.query": _trade_query,
    "alipay.trade.close": _trade_close,
    "alipay.trade.refund": _trade_refund,
    "alipay.fund.trans.uni.transfer": _fund_transfer,
    "alipay.fund.trans.common.query": _fund_query,
}


# ---------------------------------------------------------------------------------------
# Notifies
# ---------------------------------------------------------------------------------------


def notify_fields(state: AlipayEmulatorState, trade: EmulatedTrade) -> dict[str, str]:
    """The signed `trade_status_sync` notify for the trade's current status. Call under the
    lock; the trade must have been paid."""
    amount = fen_to_yuan(trade.total_fen)
    fields = {
        "notify_time": _now(),
        "notify_type": "trade_status_sync",
        "notify_id": uuid.uuid4().hex,
        "app_id": state.settings.alipay_app_id,
        "auth_app_id": state.settings.alipay_app_id,
        "charset": "utf-8",
        "version": "1.0",
        "trade_no": trade.trade_no or "",
        "out_trade_no": trade.out_trade_no,
        "trade_status": trade.status,
        "total_amount": amount,
        "receipt_amount": amount,
        "buyer_pay_amount": amount,
        "invoice_amount": amount,
        "gmt_create": trade.gmt_create,
        "gmt_payment": trade.gmt_payment or "",
        "subject": trade.subject,
        "buyer_id": trade.buyer_id or "",
        "seller_id": SELLER_ID,
    }
    if trade.refunded_fen:
        fields["refund_fee"] = fen_to_yuan(trade.refunded_fen)
    if trade.gmt_close:
        fields["gmt_close"] = trade.gmt_close
    fields = {k: v for k, v in fields.items() if v != ""}
    signed = {k: str(v) for k, v in fields.items()}
    signed["sign_type"] = "RSA2"
    signed["sign"] = rsa2_sign(state.platform_key, sign_content(signed, ("sign", "sign_type")))
    return signed


def post_notify(notify_url: str | None, fields: Mapping[str, str]) -> tuple[int | None, str]:
    """POST the notify form; (HTTP status or None, body or error text). Never raises."""
    if not notify_url:
        return None, "no notify_url"
    try:
        answer = requests.post(notify_url, data=dict(fields), timeout=NOTIFY_TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        return None, f"notify failed: {exc}"
    return answer.status_code, answer.text[:2000]


# ---------------------------------------------------------------------------------------
# Blueprint
# ---------------------------------------------------------------------------------------


def _control_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if isinstance(body, dict):
        return body
    return {k: request.form[k] for k in request.form}


def _flag(value: Any, default: bool = True) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in ("0", "false", "no", "off")


def _control_trade(body: Mapping[str, Any]) -> tuple[EmulatedTrade | None, Response | None]:
    out_trade_no = body.get("out_trade_no")
    if not isinstance(out_trade_no, str) or not out_trade_no:
        return None, _json_error(400, "out_trade_no is required")
    trade = _state().trades.get(out_trade_no)
    if trade is None:
        return None, _json_error(404, f"no trade {out_trade_no}")
    return trade, None


def _json_error(status: int, message: str) -> Response:
    response = jsonify(error=message)
    response.status_code = status
    return response


def _make_blueprint() -> Blueprint:
    bp = Blueprint("emulator_alipay", __name__)

    @bp.route("/gateway.do", methods=["GET", "POST"])
    def gateway() -> Response:
        state = _state()
        params, problem = _collect_params()
        method = params.get("method", "")
        state.count(method)
        try:
            if problem:
                raise _Refusal("40002", "isv.invalid-parameter", problem)
            if not method:
                raise _Refusal("40001", "isv.missing-method", "missing parameter method")
            _check_common(state, params)
            handler = METHODS.get(method)
            if handler is None:
                raise _Refusal("40002", "isv.invalid-method", f"不存在的方法名 {method}")
            fault = current_app.extensions["emulator_faults"].take(method, ("fail",))
            if fault is not None:
                raise _Refusal("40004", fault.code, fault.message)
            return handler(state, params, _biz(params))
        except _Refusal as refusal:
            return _refusal_answer(state, method, refusal)

    @bp.post("/_emulator/alipay/pay")
    def pay() -> Response:
        state = _state()
        body = _control_body()
        with state.lock:
            trade, error = _control_trade(body)
            if trade is None:
                assert error is not None
                return error
            if trade.paid:
                return jsonify(
                    trade_no=trade.trade_no,
                    already_paid=True,
                    notify_status=None,
                    notify_response=None,
                )
            if trade.status != WAIT_BUYER_PAY:
                return _json_error(409, f"trade {trade.out_trade_no} is {trade.status}")
            trade.trade_no = state.next_trade_no()
            state.by_trade_no[trade.trade_no] = trade.out_trade_no
            trade.status = TRADE_SUCCESS
            trade.gmt_payment = _now()
            trade.buyer_id = "2088" + f"{secrets.randbelow(10**12):012d}"
            phone_head, phone_tail = secrets.randbelow(90) + 10, secrets.randbelow(10**4)
            trade.buyer_logon_id = f"1{phone_head}****{phone_tail:04d}"
            fields = notify_fields(state, trade) if _flag(body.get("notify")) else None
            trade_no, notify_url = trade.trade_no, trade.notify_url
        status, text = None, None
        if fields is not None:
            status, text = post_notify(notify_url, fields)
            with state.lock:
                trade.notifies_sent += 1
        return jsonify(trade_no=trade_no, notify_status=status, notify_response=text)

    @bp.post("/_emulator/alipay/notify")
    def notify() -> Response:
        state = _state()
        with state.lock:
            trade, error = _control_trade(_control_body())
            if trade is None:
                assert error is not None
                return error
            if not trade.paid:
                return _json_error(409, f"trade {trade.out_trade_no} was never paid")
            fields = notify_fields(state, trade)
            notify_url = trade.notify_url
        status, text = post_notify(notify_url, fields)
        with state.lock:
            trade.notifies_sent += 1
        return jsonify(trade_no=trade.trade_no, notify_status=status, notify_response=text)

    @bp.post("/_emulator/alipay/finish")
    def finish() -> Response:
        state = _state()
        with state.lock:
            trade, error = _control_trade(_control_body())
            if trade is None:
                assert error is not None
                return error
            if trade.status not in (TRADE_SUCCESS, TRADE_FINISHED):
                return _json_error(409, f"trade {trade.out_trade_no} is {trade.status}")
            trade.status = TRADE_FINISHED
            return jsonify(trade.as_json())

    @bp.post("/_emulator/alipay/reset")
    def reset() -> Response:
        _state().reset()
        return jsonify(ok=True)

    @bp.get("/_emulator/alipay/stats")
    def stats() -> Response:
        state = _state()
        with state.lock:
            return jsonify({**state.stats, "transfers_paid": dict(state.transfers_paid)})

    @bp.get("/_emulator/alipay/transfers/<out_biz_no>")
    def transfer_record(out_biz_no: str) -> Response:
        state = _state()
        with state.lock:
            transfer = state.transfers.get(out_biz_no)
            if transfer is None:
                return _json_error(404, f"no transfer {out_biz_no}")
            return jsonify({**transfer.as_json(), "paid": state.transfers_paid[out_biz_no]})

    @bp.post("/_emulator/alipay/transfers/<out_biz_no>/status")
    def transfer_status(out_biz_no: str) -> Response:
        state = _state()
        body = _control_body()
        status = body.get("status")
        if status not in TRANSFER_STATUSES:
            return _json_error(400, f"status must be one of {', '.join(TRANSFER_STATUSES)}")
        with state.lock:
            transfer = state.transfers.get(out_biz_no)
            if transfer is None:
                return _json_error(404, f"no transfer {out_biz_no}")
            transfer.status = status
            transfer.error_code = str(body["error_code"]) if body.get("error_code") else None
            transfer.fail_reason = str(body["fail_reason"]) if body.get("fail_reason") else None
            return jsonify(transfer.as_json())

    @bp.post("/_emulator/alipay/balance")
    def merchant_balance() -> Response:
        state = _state()
        balance = _control_body().get("balance_fen")
        if balance is not None and (
            not isinstance(balance, int) or isinstance(balance, bool) or balance < 0
        ):
            return _json_error(400, "balance_fen must be a non-negative integer or null")
        with state.lock:
            state.merchant_balance_fen = balance
        return jsonify(balance_fen=balance)

    @bp.get("/_emulator/alipay/trades/<out_trade_no>")
    def trade_record(out_trade_no: str) -> Response:
        state = _state()
        with state.lock:
            trade = state.trades.get(out_trade_no)
            if trade is None:
                return _json_error(404, f"no trade {out_trade_no}")
            return jsonify(trade.as_json())

    return bp


def register(app: Flask, settings: EmulatorSettings) -> None:
    """Mount the Alipay gateway on `app` with fresh state. Raises ValueError if the settings'
    keys are not RSA private keys."""
    app.extensions[EXTENSION] = AlipayEmulatorState(settings)
    app.register_blueprint(_make_blueprint())
