"""Reading gateway requests (common parameters, signature, biz_content) and shaping
signed answers. A refused request raises `Refusal`, which the gateway answers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import Response, request
from markupsafe import escape

from payments.emulator.alipay.protocol import (
    MAX_TOTAL_FEN,
    MESSAGES,
    METHOD_NAME,
    PAGE_METHODS,
    rsa2_sign,
    rsa2_verify,
    sign_content,
)
from payments.emulator.alipay.state import AlipayEmulatorState, EmulatedTrade
from payments.money import fen_to_yuan, yuan_to_fen

# ---------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------


class Refusal(Exception):
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
        if METHOD_NAME.fullmatch(method)
        else "error_response"
    )
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    sign = rsa2_sign(state.platform_key, text)
    body = '{"' + key + '":' + text + ',"sign":"' + sign + '"}'
    return Response(body.encode("utf-8"), status=200, mimetype="application/json")


def success_answer(state: AlipayEmulatorState, method: str, **fields: Any) -> Response:
    return signed_answer(state, method, {"code": "10000", "msg": "Success", **fields})


def refusal_answer(state: AlipayEmulatorState, method: str, refusal: Refusal) -> Response:
    if method in PAGE_METHODS:
        return _error_page(refusal)
    payload = {
        "code": refusal.code,
        "msg": MESSAGES.get(refusal.code, "Business Failed"),
        "sub_code": refusal.sub_code,
        "sub_msg": refusal.sub_msg,
        **refusal.extra,
    }
    return signed_answer(state, method, payload)


def _error_page(refusal: Refusal) -> Response:
    html = (
        "<!doctype html><html><head><meta charset='utf-8'><title>支付宝 - 错误</title></head>"
        f"<body><h1>支付错误</h1><p>错误码 <code>{escape(refusal.sub_code)}</code></p>"
        f"<p>{escape(refusal.sub_msg)}</p></body></html>"
    )
    return Response(html, status=400, mimetype="text/html")


def cashier_page(trade: EmulatedTrade) -> Response:
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


def collect_params() -> tuple[dict[str, str], str | None]:
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


def check_common(state: AlipayEmulatorState, params: Mapping[str, str]) -> None:
    """Raise Refusal unless the common parameters and the signature are right."""
    for name, sub_code in _REQUIRED_COMMON:
        if not params.get(name):
            raise Refusal("40001", sub_code, f"missing parameter {name}")
    if params["app_id"] != state.settings.alipay_app_id:
        raise Refusal("40002", "isv.invalid-app-id", "无效的AppID参数")
    if params["sign_type"] != "RSA2":
        raise Refusal("40002", "isv.invalid-signature-type", "无效的签名类型, 仅支持 RSA2")
    if params.get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
        raise Refusal("40002", "isv.invalid-charset", "仅支持 utf-8")
    if params.get("format", "json").lower() != "json":
        raise Refusal("40002", "isv.invalid-format", "仅支持 JSON")
    if params["version"] != "1.0":
        raise Refusal("40002", "isv.invalid-version", "version 必须为 1.0")
    content = sign_content(params, ("sign",))
    if not rsa2_verify(state.app_public_key, content, params["sign"]):
        raise Refusal("40002", "isv.invalid-signature", "验签出错")


def parse_biz_content(params: Mapping[str, str]) -> dict[str, Any]:
    raw = params.get("biz_content")
    if not raw:
        raise Refusal("40001", "isv.missing-biz-content", "missing parameter biz_content")
    try:
        biz = json.loads(raw)
    except (ValueError, RecursionError):
        biz = None
    if not isinstance(biz, dict):
        raise Refusal("40002", "isv.invalid-parameter", "biz_content 不是 JSON 对象")
    return biz


def biz_str(
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
        raise Refusal("40004", invalid, f"参数无效: {name}")
    if isinstance(value, (int, float)):
        value = json.dumps(value)
    if value is None or value == "":
        if required:
            raise Refusal("40004", invalid, f"缺少参数 {name}")
        return None
    return str(value)


def biz_amount(biz: Mapping[str, Any], name: str) -> int:
    text = biz_str(biz, name, required=True)
    try:
        fen = yuan_to_fen(text or "")
    except ValueError:
        fen = 0
    if not 1 <= fen <= MAX_TOTAL_FEN:
        raise Refusal("40004", "ACQ.INVALID_PARAMETER", f"参数无效: {name}={text}")
    return fen


def lookup_trade(state: AlipayEmulatorState, biz: Mapping[str, Any]) -> EmulatedTrade:
    """The trade named by out_trade_no / trade_no. Call under the lock."""
    out_trade_no = biz_str(biz, "out_trade_no")
    trade_no = biz_str(biz, "trade_no")
    if not out_trade_no and not trade_no:
        raise Refusal("40004", "ACQ.INVALID_PARAMETER", "out_trade_no 和 trade_no 不能同时为空")
    trade = state.find(out_trade_no, trade_no)
    if trade is None:
        echo = {"out_trade_no": out_trade_no} if out_trade_no else {}
        raise Refusal("40004", "ACQ.TRADE_NOT_EXIST", "交易不存在", **echo)
    return trade
