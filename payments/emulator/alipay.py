"""Emulated Alipay open-platform gateway (`/gateway.do`) plus control endpoints.

Speaks what alipay-sdk-python speaks: common parameters in the query string (and/or form),
`biz_content` in the form body (or the query string of a page-method GET), an RSA2
(SHA256withRSA) signature over the sorted `k=v&…` string of every non-empty parameter but
`sign` (so `sign_type` is signed), and JSON answers shaped
`{"<method_with_underscores>_response": {...}, "sign": "..."}` where `sign` is RSA2 by the
platform key over the exact text of the response object.

Methods: `alipay.trade.wap.pay` (page method: records the trade and shows a cashier page),
`alipay.trade.query`, `alipay.trade.close`, `alipay.trade.refund`.

Control endpoints (JSON, for tests and manual runs):

- `POST /_emulator/alipay/pay` `{"out_trade_no", "notify": true}`: the buyer pays; posts the
  signed `trade_status_sync` notify to the trade's notify_url unless `notify` is false.
  Unknown trade → 404, closed trade → 409, already paid → 200 without a new notify.
- `POST /_emulator/alipay/notify` `{"out_trade_no"}`: post the notify again (current status).
- `POST /_emulator/alipay/finish` `{"out_trade_no"}`: a paid trade becomes TRADE_FINISHED.
- `POST /_emulator/alipay/reset`: forget every trade and zero the counters.
- `GET /_emulator/alipay/stats`: `{method: count}` of gateway calls.
- `GET /_emulator/alipay/trades/<out_trade_no>`: the emulator's record of a trade.
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


class AlipayEmulatorState:
    """Trades and call counts, guarded by one lock (the server is threaded)."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.app_public_key = _load_rsa_private_key(settings.alipay_app_private_key).public_key()
        self.platform_key = _load_rsa_private_key(settings.alipay_platform_private_key)
        self.lock = threading.RLock()
        self.trades: dict[str, EmulatedTrade] = {}
        self.by_trade_no: dict[str, str] = {}
        self.stats: Counter[str] = Counter()
        # A random start keeps trade numbers unique across emulator restarts.
        self._seq = secrets.randbelow(10**12) * 100

    def reset(self) -> None:
        with self.lock:
            self.trades.clear()
            self.by_trade_no.clear()
            self.stats.clear()

    def count(self, method: str) -> None:
        with self.lock:
            self.stats[method or "<missing>"] += 1

    def next_trade_no(self) -> str:
        """28 digits like Alipay's: date + 220014 + 14-digit sequence. Call under the lock."""
        self._seq = (self._seq + 1) % 10**14
        return datetime.now(CN_TZ).strftime("%Y%m%d") + f"220014{self._seq:014d}"

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


def _biz_str(biz: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    """A biz_content field as text (numbers accepted as their JSON text)."""
    value = biz.get(name)
    if isinstance(value, (bool, dict, list)):
        raise _Refusal("40004", "ACQ.INVALID_PARAMETER", f"参数无效: {name}")
    if isinstance(value, (int, float)):
        value = json.dumps(value)
    if value is None or value == "":
        if required:
            raise _Refusal("40004", "ACQ.INVALID_PARAMETER", f"缺少参数 {name}")
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


Handler = Callable[[AlipayEmulatorState, Mapping[str, str], dict[str, Any]], Response]
METHODS: dict[str, Handler] = {
    "alipay.trade.wap.pay": _wap_pay,
    "alipay.trade.query": _trade_query,
    "alipay.trade.close": _trade_close,
    "alipay.trade.refund": _trade_refund,
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
            return jsonify(dict(state.stats))

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
