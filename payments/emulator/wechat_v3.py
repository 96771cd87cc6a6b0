"""WeChat Pay v3 merchant transfers (商家转账, user-confirmation mode) for the emulator.

Endpoints speak APIv3 as `wechatpayv3` expects it:

- `POST /v3/fund-app/mch-transfer/transfer-bills`: create a bill, idempotent by out_bill_no
  (the same parameters answer the same bill; other parameters a 400 INVALID_REQUEST);
- `GET  /v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{out_bill_no}` (and
  `/transfer-bill-no/{transfer_bill_no}`): query; 404 NOT_FOUND for an unknown number;
- `POST /v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{out_bill_no}/cancel`: revoke
  a bill the user has not confirmed (CANCELING, then CANCELLED with a notify).

Every request must carry `Authorization: WECHATPAY2-SHA256-RSA2048 mchid=…,nonce_str=…,
signature=…,timestamp=…,serial_no=…`, signed with the merchant key (the emulator derives
the public half from the configured private key) and presenting the configured certificate
serial; else 401 SIGN_ERROR. Answers are JSON signed with the platform key in the
`Wechatpay-Signature/-Timestamp/-Nonce/-Serial/-Signature-Type` headers; errors are
`{"code", "message"}` with a 4xx (definite) or 5xx (unknown) status, as WeChat answers.

A new bill waits for the user (WAIT_USER_CONFIRM, with the `package_info` the mini-program
hands to `wx.requestMerchantTransfer`). Control endpoints under `/_emulator/wechat/v3/`
(JSON) stand in for the user and for WeChat's back office:

- `POST confirm {out_bill_no, notify?}`: the user confirms → SUCCESS (the money is paid,
  counted in stats) and the encrypted, signed notify is posted to the bill's notify_url;
- `POST expire {out_bill_no, notify?}`: never confirmed (or a cancel finishing) → CANCELLED;
- `POST fail {out_bill_no, reason?, notify?}`: WeChat fails it → FAIL with `fail_reason`;
- `POST notify {out_bill_no}`: post the final-state notify again (a duplicate);
- `POST config {auto_settle_cancel}`: whether a cancel becomes CANCELLED by itself after
  `CANCEL_SETTLE_DELAY_SECONDS` (default on);
- `GET stats`: request counters and `paid: {out_bill_no: times paid}`;
- `GET bills/{out_bill_no}`: a bill as the emulator holds it.

`POST /_emulator/wechat/reset` clears this state too. `build_notify` makes a notify like
the emulator's, so tests can craft genuine ones and forge bad ones.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Blueprint, Flask, Response, current_app, jsonify, request

from payments.emulator.settings import EmulatorSettings

log = logging.getLogger(__name__)

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
_OUT_BILL_NO = re.compile(r"[0-9A-Za-z]{5,32}")
_AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')


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
            "create_time": _rfc3339(_now()),
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


def _now() -> datetime:
    return datetime.now(tz=CHINA_TZ)


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _digits(n: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(n))


# --------------------------------------------------------------------------- state


@dataclass
class Bill:
    out_bill_no: str
    transfer_bill_no: str
    appid: str
    openid: str
    transfer_amount: int
    transfer_remark: str
    user_name: str | None  # decrypted
    notify_url: str | None
    transfer_scene_id: str
    user_recv_perception: str | None
    fingerprint: tuple[Any, ...] = field(repr=False)
    state: str = "WAIT_USER_CONFIRM"
    package_info: str | None = None
    fail_reason: str | None = None
    create_time: str = ""
    update_time: str = ""
    notifies_sent: int = 0

    def answer(self) -> dict[str, Any]:
        """The bill as the create and cancel answers show it."""
        data: dict[str, Any] = {
            "out_bill_no": self.out_bill_no,
            "transfer_bill_no": self.transfer_bill_no,
            "create_time": self.create_time,
            "state": self.state,
        }
        if self.state == "WAIT_USER_CONFIRM":
            data["package_info"] = self.package_info
        if self.fail_reason:
            data["fail_reason"] = self.fail_reason
        return data


class WeChatV3State:
    """What the v3 emulator remembers; every access goes through `lock`."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.lock = threading.RLock()
        self.merchant_public_key: rsa.RSAPublicKey | None = None
        self.platform_key: rsa.RSAPrivateKey | None = None
        if settings.wechat_pay_v3_merchant_private_key:
            merchant = load_private_key(settings.wechat_pay_v3_merchant_private_key)
            self.merchant_public_key = merchant.public_key()
        if settings.wechat_pay_v3_platform_private_key:
            self.platform_key = load_private_key(settings.wechat_pay_v3_platform_private_key)
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.bills: dict[str, Bill] = {}
            self.paid: Counter[str] = Counter()
            self.stats: Counter[str] = Counter()
            self.auto_settle_cancel = True

    def find(self, out_bill_no: str = "", transfer_bill_no: str = "") -> Bill | None:
        with self.lock:
            if transfer_bill_no:
                return next(
                    (b for b in self.bills.values() if b.transfer_bill_no == transfer_bill_no),
                    None,
                )
            return self.bills.get(out_bill_no)

    def notify_payload(self, bill: Bill) -> tuple[dict[str, str], bytes]:
        assert self.platform_key is not None
        s = self.settings
        resource: dict[str, Any] = {
            "out_bill_no": bill.out_bill_no,
            "transfer_bill_no": bill.transfer_bill_no,
            "state": bill.state,
            "mch_id": s.wechat_mch_id,
            "transfer_amount": bill.transfer_amount,
            "openid": bill.openid,
            "create_time": bill.create_time,
            "update_time": bill.update_time,
        }
        if bill.fail_reason:
            resource["fail_reason"] = bill.fail_reason
        return build_notify(
            resource,
            apiv3_key=s.wechat_pay_v3_apiv3_key,
            platform_private_key=self.platform_key,
            public_key_id=s.wechat_pay_v3_public_key_id,
        )

    def finish(
        self, out_bill_no: str, to: str, from_states: tuple[str, ...], reason: str | None = None
    ) -> tuple[Bill | None, str | None]:
        """Move a bill to a final state; (bill, None) or (bill or None, why not)."""
        with self.lock:
            bill = self.bills.get(out_bill_no)
            if bill is None:
                return None, "no such bill"
            if bill.state not in from_states:
                return bill, f"bill is {bill.state}"
            bill.state = to
            bill.fail_reason = reason
            bill.package_info = None
            bill.update_time = _rfc3339(_now())
            if to == "SUCCESS":
                self.paid[out_bill_no] += 1
            return bill, None

    def post_notify(self, bill: Bill) -> tuple[int | None, str]:
        """POST the bill's notify (never raises: a dead receiver gives (None, error))."""
        with self.lock:
            url = bill.notify_url
            headers, body = self.notify_payload(bill)
            if url:
                bill.notifies_sent += 1
                self.stats["notifies"] += 1
        if not url:
            return None, "no notify_url"
        try:
            res = requests.post(url, data=body, headers=headers, timeout=NOTIFY_TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            log.warning("v3 notify to %s failed: %s", url, exc)
            return None, str(exc)
        return res.status_code, res.text


# --------------------------------------------------------------------------- HTTP helpers


class _V3Error(Exception):
    def __init__(self, status: int, code: str, message: str, signed: bool = True) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.signed = status, code, message, signed


def _state() -> WeChatV3State:
    return current_app.extensions["emulator_wechat_v3"]  # type: ignore[no-any-return]


def _json_answer(data: Mapping[str, Any], status: int = 200, signed: bool = True) -> Response:
    state = _state()
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    res = Response(body, status=status, content_type="application/json; charset=utf-8")
    res.headers["Request-ID"] = str(uuid.uuid4())
    if signed and state.platform_key is not None:
        res.headers.update(
            signed_headers(body, state.platform_key, state.settings.wechat_pay_v3_public_key_id)
        )
    return res


def _error(status: int, code: str, message: str) -> _V3Error:
    return _V3Error(status, code, message)


def _verify_authorization() -> None:
    """Check the merchant's request signature; raises _V3Error 401 SIGN_ERROR."""
    state = _state()
    s = state.settings
    if state.merchant_public_key is None or state.platform_key is None:
        raise _V3Error(500, "SYSTEM_ERROR", "emulator has no WeChat Pay v3 keys configured")
    header = request.headers.get("Authorization", "")
    scheme, _, rest = header.partition(" ")
    if scheme != SIGNATURE_TYPE:
        raise _V3Error(401, "SIGN_ERROR", "错误的签名认证方式", signed=False)
    params = dict(_AUTH_PARAM.findall(rest))
    if params.get("mchid") != s.wechat_mch_id:
        raise _V3Error(401, "SIGN_ERROR", "商户号mchid与签名不匹配", signed=False)
    if params.get("serial_no", "").upper() != s.wechat_pay_v3_cert_serial.upper():
        raise _V3Error(401, "SIGN_ERROR", "商户证书序列号有误", signed=False)
    ts = params.get("timestamp", "")
    if not ts.isdigit() or abs(int(ts) - time.time()) > AUTH_MAX_SKEW_SECONDS:
        raise _V3Error(401, "SIGN_ERROR", "请求的时间戳已过期", signed=False)
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
        raise _V3Error(401, "SIGN_ERROR", "签名错误", signed=False) from None


def _take_fail() -> None:
    """Raise the business failure armed with the `fail` fault for this path, if any."""
    fault = current_app.extensions["emulator_faults"].take(request.path, ("fail",))
    if fault is not None:
        raise _V3Error(STATUS_BY_CODE.get(fault.code, 400), fault.code, fault.message)


def _decrypt_user_name(ciphertext: str) -> str:
    state = _state()
    assert state.platform_key is not None
    if request.headers.get("Wechatpay-Serial") != state.settings.wechat_pay_v3_public_key_id:
        raise _error(400, "PARAM_ERROR", "Wechatpay-Serial与微信支付公钥ID不匹配")
    try:
        plain = state.platform_key.decrypt(
            base64.b64decode(ciphertext, validate=True),
            padding.OAEP(
                mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None
            ),
        )
        return plain.decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _error(400, "PARAM_ERROR", "user_name解密失败") from None


def _read_create(body: Any) -> dict[str, Any]:
    """Validate a create request's JSON; raises _V3Error 400/403."""
    s = _state().settings
    if not isinstance(body, dict):
        raise _error(400, "PARAM_ERROR", "请求体不是JSON对象")
    for name in ("appid", "out_bill_no", "transfer_scene_id", "openid", "transfer_remark"):
        if not isinstance(body.get(name), str) or not body[name]:
            raise _error(400, "PARAM_ERROR", f"缺少参数{name}")
    if body["appid"] != s.wechat_appid:
        raise _error(400, "INVALID_REQUEST", "appid与mchid不匹配")
    if not _OUT_BILL_NO.fullmatch(body["out_bill_no"]):
        raise _error(400, "PARAM_ERROR", "out_bill_no须为5-32位数字或字母")
    amount = body.get("transfer_amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise _error(400, "PARAM_ERROR", "transfer_amount须为正整数(分)")
    if len(body["transfer_remark"]) > REMARK_MAX_CHARS:
        raise _error(400, "PARAM_ERROR", "转账备注不能超过32个字符")
    notify_url = body.get("notify_url")
    if notify_url is not None and (
        not isinstance(notify_url, str) or not notify_url.startswith(("http://", "https://"))
    ):
        raise _error(400, "PARAM_ERROR", "notify_url格式错误")
    scene = body["transfer_scene_id"]
    if scene not in SCENE_REPORT_TYPES:
        raise _error(403, "NO_AUTH", "商户号未开通该转账场景")
    infos = body.get("transfer_scene_report_infos") or []
    if not isinstance(infos, list) or not all(
        isinstance(i, dict)
        and isinstance(i.get("info_type"), str)
        and isinstance(i.get("info_content"), str)
        and i["info_content"]
        for i in infos
    ):
        raise _error(400, "PARAM_ERROR", "transfer_scene_report_infos格式错误")
    given_types = {i["info_type"] for i in infos}
    missing = [t for t in SCENE_REPORT_TYPES[scene] if t not in given_types]
    if missing:
        raise _error(400, "PARAM_ERROR", f"转账场景报备信息缺少{'、'.join(missing)}")
    perception = body.get("user_recv_perception")
    if perception is not None and not isinstance(perception, str):
        raise _error(400, "PARAM_ERROR", "user_recv_perception格式错误")
    user_name = body.get("user_name")
    if user_name is not None:
        if not isinstance(user_name, str):
            raise _error(400, "PARAM_ERROR", "user_name格式错误")
        user_name = _decrypt_user_name(user_name)
    return {
        **body,
        "user_name": user_name,
        "transfer_scene_report_infos": infos,
        "notify_url": notify_url,
    }


# --------------------------------------------------------------------------- blueprint


def _blueprint() -> Blueprint:
    bp = Blueprint("emulator_wechat_v3", __name__)
    prefix = "/v3/fund-app/mch-transfer/transfer-bills"

    @bp.errorhandler(_V3Error)
    def v3_error(exc: _V3Error) -> Response:
        return _json_answer(
            {"code": exc.code, "message": exc.message}, status=exc.status, signed=exc.signed
        )

    @bp.post(prefix)
    def create_bill() -> Response:
        state = _state()
        with state.lock:
            state.stats["create"] += 1
        _verify_authorization()
        _take_fail()
        f = _read_create(request.get_json(silent=True))
        amount = f["transfer_amount"]
        if f["openid"].startswith("invalid"):
            raise _error(400, "PARAM_ERROR", "openid与appid不匹配")
        if amount < MIN_AMOUNT_FEN:
            raise _error(400, "PARAM_ERROR", "转账金额不能低于0.1元")
        if amount > MAX_AMOUNT_FEN:
            raise _error(400, "PARAM_ERROR", "转账金额超出单笔限额")
        if amount >= NAME_REQUIRED_FROM_FEN and not f["user_name"]:
            raise _error(400, "PARAM_ERROR", "转账金额>=2000元时user_name必填")
        fingerprint = (
            f["openid"],
            amount,
            f["transfer_remark"],
            f["user_name"],
            f["transfer_scene_id"],
        )
        with state.lock:
            bill = state.bills.get(f["out_bill_no"])
            if bill is not None:
                if bill.fingerprint != fingerprint:
                    raise _error(400, "INVALID_REQUEST", "商户单号已存在，请求参数与原单不一致")
                return _json_answer(bill.answer())
            now = _rfc3339(_now())
            bill = Bill(
                out_bill_no=f["out_bill_no"],
                transfer_bill_no="1330"
                + state.settings.wechat_mch_id[-10:].rjust(10, "0")
                + _now().strftime("%Y%m%d")
                + _digits(18),
                appid=f["appid"],
                openid=f["openid"],
                transfer_amount=amount,
                transfer_remark=f["transfer_remark"],
                user_name=f["user_name"],
                notify_url=f["notify_url"],
                transfer_scene_id=f["transfer_scene_id"],
                user_recv_perception=f.get("user_recv_perception"),
                fingerprint=fingerprint,
                package_info=base64.b64encode(secrets.token_bytes(48)).decode(),
                create_time=now,
                update_time=now,
            )
            state.bills[bill.out_bill_no] = bill
            return _json_answer(bill.answer())

    def query_answer(bill: Bill | None) -> Response:
        if bill is None:
            raise _error(404, "NOT_FOUND", "记录不存在")
        s = _state().settings
        with _state().lock:
            data: dict[str, Any] = {
                "mch_id": s.wechat_mch_id,
                "out_bill_no": bill.out_bill_no,
                "transfer_bill_no": bill.transfer_bill_no,
                "appid": bill.appid,
                "state": bill.state,
                "transfer_amount": bill.transfer_amount,
                "transfer_remark": bill.transfer_remark,
                "openid": bill.openid,
                "create_time": bill.create_time,
                "update_time": bill.update_time,
            }
            if bill.fail_reason:
                data["fail_reason"] = bill.fail_reason
        return _json_answer(data)

    @bp.get(f"{prefix}/out-bill-no/<out_bill_no>")
    def query_by_out_bill_no(out_bill_no: str) -> Response:
        state = _state()
        with state.lock:
            state.stats["query"] += 1
        _verify_authorization()
        _take_fail()
        return query_answer(state.find(out_bill_no=out_bill_no))

    @bp.get(f"{prefix}/transfer-bill-no/<transfer_bill_no>")
    def query_by_transfer_bill_no(transfer_bill_no: str) -> Response:
        state = _state()
        with state.lock:
            state.stats["query"] += 1
        _verify_authorization()
        _take_fail()
        return query_answer(state.find(transfer_bill_no=transfer_bill_no))

    @bp.post(f"{prefix}/out-bill-no/<out_bill_no>/cancel")
    def cancel_bill(out_bill_no: str) -> Response:
        state = _state()
        with state.lock:
            state.stats["cancel"] += 1
        _verify_authorization()
        _take_fail()
        with state.lock:
            bill = state.bills.get(out_bill_no)
            if bill is None:
                raise _error(404, "NOT_FOUND", "记录不存在")
            if bill.state not in (*CANCELABLE_STATES, "CANCELING", "CANCELLED"):
                raise _error(400, "INVALID_REQUEST", f"单据状态为{bill.state}，不允许撤销")
            settle = bill.state in CANCELABLE_STATES and state.auto_settle_cancel
            if bill.state in CANCELABLE_STATES:
                bill.state = "CANCELING"
                bill.package_info = None
                bill.update_time = _rfc3339(_now())
            answer = {
                "out_bill_no": bill.out_bill_no,
                "transfer_bill_no": bill.transfer_bill_no,
                "state": bill.state,
                "update_time": bill.update_time,
            }
        if settle:
            threading.Thread(
                target=_settle_cancel_later,
                args=(state, out_bill_no),
                name="emulator-v3-cancel",
                daemon=True,
            ).start()
        return _json_answer(answer)

    # ----------------------------------------------------------------- control
    def control_finish(to: str, from_states: tuple[str, ...]) -> tuple[Response, int] | Response:
        body = request.get_json(silent=True) or {}
        reason = None
        if to == "FAIL":
            reason = str(body.get("reason") or "PAYEE_ACCOUNT_ABNORMAL")
        state = _state()
        bill, why = state.finish(str(body.get("out_bill_no", "")), to, from_states, reason)
        if bill is None:
            return jsonify(error=why), 404
        if why is not None:
            return jsonify(error=why), 409
        answer: dict[str, Any] = {"state": bill.state, "transfer_bill_no": bill.transfer_bill_no}
        if body.get("notify", True) is not False:
            status, text = state.post_notify(bill)
            answer.update(notify_status=status, notify_response=text)
        return jsonify(answer)

    @bp.post("/_emulator/wechat/v3/confirm")
    def control_confirm() -> tuple[Response, int] | Response:
        return control_finish("SUCCESS", ("WAIT_USER_CONFIRM",))

    @bp.post("/_emulator/wechat/v3/expire")
    def control_expire() -> tuple[Response, int] | Response:
        return control_finish("CANCELLED", (*CANCELABLE_STATES, "CANCELING"))

    @bp.post("/_emulator/wechat/v3/fail")
    def control_fail() -> tuple[Response, int] | Response:
        return control_finish("FAIL", (*CANCELABLE_STATES, "PROCESSING", "TRANSFERING"))

    @bp.post("/_emulator/wechat/v3/notify")
    def control_notify() -> tuple[Response, int] | Response:
        body = request.get_json(silent=True) or {}
        state = _state()
        bill = state.find(out_bill_no=str(body.get("out_bill_no", "")))
        if bill is None:
            return jsonify(error="no such bill"), 404
        if bill.state not in FINAL_STATES:
            return jsonify(error=f"bill is {bill.state}, not final"), 409
        status, text = state.post_notify(bill)
        return jsonify(state=bill.state, notify_status=status, notify_response=text)

    @bp.post("/_emulator/wechat/v3/config")
    def control_config() -> Response:
        state = _state()
        body = request.get_json(silent=True) or {}
        with state.lock:
            if "auto_settle_cancel" in body:
                state.auto_settle_cancel = bool(body["auto_settle_cancel"])
            return jsonify(auto_settle_cancel=state.auto_settle_cancel)

    @bp.get("/_emulator/wechat/v3/stats")
    def control_stats() -> Response:
        state = _state()
        with state.lock:
            stats: dict[str, Any] = {
                name: state.stats[name] for name in ("create", "query", "cancel", "notifies")
            }
            stats["paid"] = dict(state.paid)
        return jsonify(stats)

    @bp.get("/_emulator/wechat/v3/bills/<out_bill_no>")
    def control_bill(out_bill_no: str) -> tuple[Response, int] | Response:
        state = _state()
        with state.lock:
            bill = state.bills.get(out_bill_no)
            if bill is None:
                return jsonify(error="no such bill"), 404
            data = asdict(bill)
            data.pop("fingerprint")
            data["times_paid"] = state.paid[out_bill_no]
        return jsonify(data)

    return bp


def _settle_cancel_later(state: WeChatV3State, out_bill_no: str) -> None:
    time.sleep(CANCEL_SETTLE_DELAY_SECONDS)
    bill, why = state.finish(out_bill_no, "CANCELLED", ("CANCELING",))
    if bill is not None and why is None:
        state.post_notify(bill)


def register(app: Flask, settings: EmulatorSettings) -> None:
    """Add the v3 merchant-transfer endpoints; state goes in
    `app.extensions["emulator_wechat_v3"]` (a `WeChatV3State`)."""
    app.extensions["emulator_wechat_v3"] = WeChatV3State(settings)
    app.register_blueprint(_blueprint())
