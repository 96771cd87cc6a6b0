"""Reading signed Pay v2 requests and shaping answers. A defective request raises
`ProtocolFail`, answered `return_code FAIL` by `answer_protocol_fail`.
"""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn
from xml.parsers.expat import ExpatError

import xmltodict
from flask import Response, current_app, jsonify, request

from payments.emulator.faults import ArmedFault
from payments.emulator.wechat.protocol import BUSY, SIGN_TYPES, fail_xml, sign_fields, to_xml
from payments.emulator.wechat.state import WeChatState, current_state


class ProtocolFail(Exception):
    """Answered as `return_code FAIL` (unsigned), like WeChat's format/signature errors."""


@dataclass
class PayRequest:
    fields: dict[str, str]
    sign_type: str


def take_fail() -> ArmedFault | None:
    return current_app.extensions["emulator_faults"].take(request.path, ("fail",))  # type: ignore[no-any-return]


def protocol_fail(message: str) -> NoReturn:
    raise ProtocolFail(message)


def read_pay_request(
    state: WeChatState,
    required: tuple[str, ...],
    mch_field: str = "mch_id",
    appid_field: str = "appid",
) -> PayRequest:
    """Parse and verify a signed XML request; raises ProtocolFail on any defect. Enterprise
    payments name the merchant and app `mchid` and `mch_appid`."""
    try:
        doc = xmltodict.parse(request.get_data())
    except (ExpatError, ValueError, xmltodict.ParsingInterrupted):
        protocol_fail("XML格式错误 (malformed XML)")
    root = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(root, dict):
        protocol_fail("XML格式错误 (no <xml> root)")
    fields: dict[str, str] = {}
    for key, value in root.items():
        if value is None:
            continue
        if not isinstance(value, str):
            protocol_fail(f"XML格式错误 ({key} is not a flat value)")
        fields[key] = value
    s = state.settings
    if fields.get(mch_field) != s.wechat_mch_id:
        protocol_fail(f"{mch_field}参数格式错误 (unknown merchant)")
    sign_type = fields.get("sign_type", "MD5")
    if sign_type not in SIGN_TYPES:
        protocol_fail("sign_type参数格式错误")
    given = fields.get("sign", "")
    expected = sign_fields(fields, s.wechat_pay_api_key, sign_type)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        protocol_fail("签名错误")
    if fields.get(appid_field) != s.wechat_appid:
        protocol_fail(f"{appid_field}和{mch_field}不匹配")
    for name in required:
        if not fields.get(name):
            protocol_fail(f"缺少参数{name} (missing parameter)")
    return PayRequest(fields, sign_type)


def int_field(req: PayRequest, name: str) -> int:
    raw = req.fields.get(name, "")
    if not (raw.isascii() and raw.isdigit()) or int(raw) <= 0:
        protocol_fail(f"{name}参数格式错误 (a positive integer of fen)")
    return int(raw)


def signed_answer(req: PayRequest, fields: Mapping[str, Any]) -> Response:
    s = current_state().settings
    body: dict[str, Any] = {
        "return_code": "SUCCESS",
        "return_msg": "OK",
        "appid": s.wechat_appid,
        "mch_id": s.wechat_mch_id,
        "nonce_str": secrets.token_hex(16),
        **fields,
    }
    body["sign"] = sign_fields(body, s.wechat_pay_api_key, req.sign_type)
    return Response(to_xml(body), content_type="text/xml; charset=utf-8")


def signed_ok(req: PayRequest, fields: Mapping[str, Any]) -> Response:
    return signed_answer(req, {"result_code": "SUCCESS", **fields})


def biz_fail(req: PayRequest, code: str, message: str) -> Response:
    return signed_answer(req, {"result_code": "FAIL", "err_code": code, "err_code_des": message})


def unsigned_answer(fields: Mapping[str, Any]) -> Response:
    """An enterprise-payment answer: WeChat does not sign these (the channel is TLS with the
    merchant's client certificate), so neither does the emulator."""
    body = {"nonce_str": secrets.token_hex(16), **fields}
    return Response(to_xml(body), content_type="text/xml; charset=utf-8")


def transfer_answer(fields: Mapping[str, Any], return_code: str = "SUCCESS") -> Response:
    s = current_state().settings
    return unsigned_answer(
        {
            "return_code": return_code,
            "return_msg": "" if return_code == "SUCCESS" else BUSY,
            "mch_appid": s.wechat_appid,
            "mchid": s.wechat_mch_id,
            **fields,
        }
    )


def transfer_fail(code: str, message: str, return_code: str = "SUCCESS") -> Response:
    return transfer_answer(
        {"result_code": "FAIL", "err_code": code, "err_code_des": message}, return_code
    )


def json_error(errcode: int, errmsg: str) -> Response:
    return jsonify(errcode=errcode, errmsg=errmsg)


def json_fault(fault: ArmedFault) -> Response:
    code = int(fault.code) if fault.code.lstrip("-").isdigit() else -1
    return json_error(code, fault.message)


def refused_call() -> Response | None:
    """What WeChat answers a mini-program API call before reading its body: 40001 for an
    access_token it did not issue (or that expired), else an injected fault; None when the
    call goes ahead."""
    if not current_state().token_valid(request.args.get("access_token", "")):
        return json_error(40001, "invalid credential, access_token is invalid or not latest")
    fault = take_fail()
    return json_fault(fault) if fault is not None else None


class NotAnObject(Exception):
    """The body of a mini-program API call is not a JSON object: WeChat's 47001."""


def json_object() -> dict[str, Any]:
    """The call's JSON object body. Raises NotAnObject (answered 47001 by `api_call`)."""
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise NotAnObject
    return body


def api_call(counter: str) -> Callable[[Callable[[], Response]], Callable[[], Response]]:
    """A mini-program API handler as WeChat runs one: the call counted in the state's stats
    as `counter`, `refused_call()`'s answer when it refuses, 47001 "data format error" when
    the handler's `json_object()` finds no JSON object."""

    def decorate(handler: Callable[[], Response]) -> Callable[[], Response]:
        @functools.wraps(handler)
        def call() -> Response:
            current_state().count(counter)
            refused = refused_call()
            if refused is not None:
                return refused
            try:
                return handler()
            except NotAnObject:
                return json_error(47001, "data format error")

        return call

    return decorate


def answer_protocol_fail(exc: ProtocolFail) -> Response:
    """The unsigned `return_code FAIL` WeChat gives a malformed or badly signed request."""
    return fail_xml(str(exc))
