"""Reading APIv3 requests (Authorization, the create body) and shaping signed JSON
answers. A refused request raises `V3Error`, answered by `answer_v3_error`.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from flask import Response, current_app, request

from payments.emulator.wechat_v3.protocol import (
    AUTH_MAX_SKEW_SECONDS,
    AUTH_PARAM,
    OUT_BILL_NO,
    REMARK_MAX_CHARS,
    SCENE_REPORT_TYPES,
    SIGNATURE_TYPE,
    STATUS_BY_CODE,
    signed_headers,
)
from payments.emulator.wechat_v3.state import current_state


class V3Error(Exception):
    def __init__(self, status: int, code: str, message: str, signed: bool = True) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.signed = status, code, message, signed


def json_answer(data: Mapping[str, Any], status: int = 200, signed: bool = True) -> Response:
    state = current_state()
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    res = Response(body, status=status, content_type="application/json; charset=utf-8")
    res.headers["Request-ID"] = str(uuid.uuid4())
    if signed and state.platform_key is not None:
        res.headers.update(
            signed_headers(body, state.platform_key, state.settings.wechat_pay_v3_public_key_id)
        )
    return res


def v3_error(status: int, code: str, message: str) -> V3Error:
    return V3Error(status, code, message)


def verify_authorization() -> None:
    """Check the merchant's request signature; raises V3Error 401 SIGN_ERROR."""
    state = current_state()
    s = state.settings
    if state.merchant_public_key is None or state.platform_key is None:
        raise V3Error(500, "SYSTEM_ERROR", "emulator has no WeChat Pay v3 keys configured")
    header = request.headers.get("Authorization", "")
    scheme, _, rest = header.partition(" ")
    if scheme != SIGNATURE_TYPE:
        raise V3Error(401, "SIGN_ERROR", "错误的签名认证方式", signed=False)
    params = dict(AUTH_PARAM.findall(rest))
    if params.get("mchid") != s.wechat_mch_id:
        raise V3Error(401, "SIGN_ERROR", "商户号mchid与签名不匹配", signed=False)
    if params.get("serial_no", "").upper() != s.wechat_pay_v3_cert_serial.upper():
        raise V3Error(401, "SIGN_ERROR", "商户证书序列号有误", signed=False)
    ts = params.get("timestamp", "")
    if not ts.isdigit() or abs(int(ts) - time.time()) > AUTH_MAX_SKEW_SECONDS:
        raise V3Error(401, "SIGN_ERROR", "请求的时间戳已过期", signed=False)
    uri = request.environ.get("RAW_URI") or request.full_path.rstrip("?")
    message = "".join(
        f"{line}\n"
        for line in (
            request.method,
            uri,
            ts,
            params.get("nonce_str", ""),
            request.get_data(as_text=True),
        )
    ).encode()
    try:
        signature = base64.b64decode(params.get("signature", ""), validate=True)
        state.merchant_public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except (binascii.Error, InvalidSignature):
        raise V3Error(401, "SIGN_ERROR", "签名错误", signed=False) from None


def take_fail() -> None:
    """Raise the business failure armed with the `fail` fault for this path, if any."""
    fault = current_app.extensions["emulator_faults"].take(request.path, ("fail",))
    if fault is not None:
        raise V3Error(STATUS_BY_CODE.get(fault.code, 400), fault.code, fault.message)


def decrypt_user_name(ciphertext: str) -> str:
    state = current_state()
    assert state.platform_key is not None
    if request.headers.get("Wechatpay-Serial") != state.settings.wechat_pay_v3_public_key_id:
        raise v3_error(400, "PARAM_ERROR", "Wechatpay-Serial与微信支付公钥ID不匹配")
    try:
        plain = state.platform_key.decrypt(
            base64.b64decode(ciphertext, validate=True),
            padding.OAEP(
                mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None
            ),
        )
        return plain.decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise v3_error(400, "PARAM_ERROR", "user_name解密失败") from None


def read_create(body: Any) -> dict[str, Any]:
    """Validate a create request's JSON; raises V3Error 400/403."""
    s = current_state().settings
    if not isinstance(body, dict):
        raise v3_error(400, "PARAM_ERROR", "请求体不是JSON对象")
    for name in ("appid", "out_bill_no", "transfer_scene_id", "openid", "transfer_remark"):
        if not isinstance(body.get(name), str) or not body[name]:
            raise v3_error(400, "PARAM_ERROR", f"缺少参数{name}")
    if body["appid"] != s.wechat_appid:
        raise v3_error(400, "INVALID_REQUEST", "appid与mchid不匹配")
    if not OUT_BILL_NO.fullmatch(body["out_bill_no"]):
        raise v3_error(400, "PARAM_ERROR", "out_bill_no须为5-32位数字或字母")
    amount = body.get("transfer_amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise v3_error(400, "PARAM_ERROR", "transfer_amount须为正整数(分)")
    if len(body["transfer_remark"]) > REMARK_MAX_CHARS:
        raise v3_error(400, "PARAM_ERROR", "转账备注不能超过32个字符")
    notify_url = body.get("notify_url")
    if notify_url is not None and (
        not isinstance(notify_url, str) or not notify_url.startswith(("http://", "https://"))
    ):
        raise v3_error(400, "PARAM_ERROR", "notify_url格式错误")
    scene = body["transfer_scene_id"]
    if scene not in SCENE_REPORT_TYPES:
        raise v3_error(403, "NO_AUTH", "商户号未开通该转账场景")
    infos = body.get("transfer_scene_report_infos") or []
    if not isinstance(infos, list) or not all(
        isinstance(i, dict)
        and isinstance(i.get("info_type"), str)
        and isinstance(i.get("info_content"), str)
        and i["info_content"]
        for i in infos
    ):
        raise v3_error(400, "PARAM_ERROR", "transfer_scene_report_infos格式错误")
    given_types = {i["info_type"] for i in infos}
    missing = [t for t in SCENE_REPORT_TYPES[scene] if t not in given_types]
    if missing:
        raise v3_error(400, "PARAM_ERROR", f"转账场景报备信息缺少{'、'.join(missing)}")
    perception = body.get("user_recv_perception")
    if perception is not None and not isinstance(perception, str):
        raise v3_error(400, "PARAM_ERROR", "user_recv_perception格式错误")
    user_name = body.get("user_name")
    if user_name is not None:
        if not isinstance(user_name, str):
            raise v3_error(400, "PARAM_ERROR", "user_name格式错误")
        user_name = decrypt_user_name(user_name)
    return {
        **body,
        "user_name": user_name,
        "transfer_scene_report_infos": infos,
        "notify_url": notify_url,
    }


def answer_v3_error(exc: V3Error) -> Response:
    """`{code, message}` with the error's status, signed unless the error says not."""
    return json_answer(
        {"code": exc.code, "message": exc.message}, status=exc.status, signed=exc.signed
    )
