"""The WeChat half of the gateway emulator: mini-program server API and WeChat Pay v2.

Endpoints speak the official wire formats so that wechatpy runs unchanged against them:

- `GET /cgi-bin/token`, `GET /sns/jscode2session`, `POST /wxa/getwxacodeunlimit` (JSON);
- `POST /pay/unifiedorder`, `/pay/orderquery`, `/pay/closeorder`, `/secapi/pay/refund`,
  `/pay/refundquery` (XML, MD5 or HMAC-SHA256 signed with the API key);
- `POST /mmpaymkttransfers/promotion/transfers`, `/mmpaymkttransfers/gettransferinfo`
  (企业付款到零钱, MD5-signed requests; answered unsigned, as WeChat answers these two).

Control endpoints under `/_emulator/wechat/` (JSON) pay trades, (re)post notifies, settle
refunds, expire access tokens, reset state and expose counters; see `register`. For
enterprise payments: `transfer-systemerror {times, paid, return_fail}` makes the next
transfers answer SYSTEMERROR after paying (or without), `transfer-status {partner_trade_no,
status, reason}` sets what gettransferinfo reports, and `stats` has `transfers_paid`
(payments made per partner_trade_no). An openid starting with "invalid" is OPENID_ERROR;
FORCE_CHECK with re_user_name "错误姓名" is NAME_MISMATCH.

Nothing here raises on bad input: malformed XML or a wrong signature is answered with
`return_code FAIL`, as WeChat does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import logging
import secrets
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, NoReturn
from xml.parsers.expat import ExpatError

import qrcode
import requests
import xmltodict
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from flask import Blueprint, Flask, Response, current_app, jsonify, request
from PIL import Image

from payments.emulator.faults import ArmedFault
from payments.emulator.settings import EmulatorSettings

log = logging.getLogger(__name__)

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


def _fail_xml(message: str) -> Response:
    return Response(
        to_xml({"return_code": "FAIL", "return_msg": message}),
        content_type="text/xml; charset=utf-8",
    )


def _digits(n: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(n))


def _now() -> datetime:
    return datetime.now(tz=CHINA_TZ)


# --------------------------------------------------------------------------- state


@dataclass
class Trade:
    out_trade_no: str
    prepay_id: str
    openid: str | None
    total_fee: int
    body: str
    notify_url: str
    trade_type: str
    attach: str | None
    sign_type: str
    fingerprint: tuple[Any, ...]
    state: str = "NOTPAY"  # NOTPAY / SUCCESS / CLOSED / REFUND
    transaction_id: str | None = None
    time_end: str | None = None
    notify_body: bytes | None = field(default=None, repr=False)
    notifies_sent: int = 0


@dataclass
class Refund:
    out_refund_no: str
    refund_id: str
    out_trade_no: str
    transaction_id: str
    total_fee: int
    refund_fee: int
    notify_url: str | None
    status: str = "PROCESSING"  # PROCESSING / SUCCESS
    success_time: str | None = None
    notifies_sent: int = 0


@dataclass
class Transfer:
    """An enterprise payment (企业付款到零钱) that was made: the money left the merchant."""

    partner_trade_no: str
    payment_no: str
    openid: str
    amount: int
    desc: str
    check_name: str
    re_user_name: str | None
    payment_time: str  # "YYYY-MM-DD HH:MM:SS", China time
    fingerprint: tuple[Any, ...]
    status: str = "SUCCESS"  # what gettransferinfo reports: SUCCESS / FAILED / PROCESSING
    reason: str | None = None


@dataclass
class TransferSystemError:
    """Armed by `/_emulator/wechat/transfer-systemerror`: the next `remaining` transfers
    answer SYSTEMERROR, after paying (`paid`) or without paying."""

    remaining: int
    paid: bool
    return_fail: bool  # answer return_code FAIL too, as WeChat sometimes does


class WeChatState:
    """Everything the WeChat emulator remembers; every access goes through `lock`."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.tokens: dict[str, float] = {}
            self.stats: Counter[str] = Counter()
            self.wxacode_by_key: Counter[str] = Counter()
            self.trades: dict[str, Trade] = {}
            self.refunds: dict[str, Refund] = {}
            self.auto_refund_notify = True
            self.transfers: dict[str, Transfer] = {}
            self.transfers_paid: Counter[str] = Counter()
            self.transfer_systemerror: TransferSystemError | None = None

    def take_transfer_systemerror(self) -> TransferSystemError | None:
        """Consume one use of the armed SYSTEMERROR answer, if any."""
        with self.lock:
            armed = self.transfer_systemerror
            if armed is None:
                return None
            armed.remaining -= 1
            if armed.remaining <= 0:
                self.transfer_systemerror = None
            return armed

    # tokens -------------------------------------------------------------------------
    def issue_token(self) -> str:
        token = secrets.token_urlsafe(96)
        with self.lock:
            self.tokens[token] = time.time() + TOKEN_TTL_SECONDS
        return token

    def token_valid(self, token: str) -> bool:
        with self.lock:
            expires = self.tokens.get(token)
            return expires is not None and expires > time.time()

    # lookups ------------------------------------------------------------------------
    def find_trade(
        self, out_trade_no: str | None = None, transaction_id: str | None = None
    ) -> Trade | None:
        with self.lock:
            if transaction_id:
                return next(
                    (t for t in self.trades.values() if t.transaction_id == transaction_id),
                    None,
                )
            return self.trades.get(out_trade_no or "")

    def find_by_prepay(self, prepay_id: str) -> Trade | None:
        with self.lock:
            return next((t for t in self.trades.values() if t.prepay_id == prepay_id), None)

    def refunded_total(self, out_trade_no: str) -> int:
        with self.lock:
            return sum(
                r.refund_fee for r in self.refunds.values() if r.out_trade_no == out_trade_no
            )

    # notifies -----------------------------------------------------------------------
    def pay_notify_body(self, trade: Trade) -> bytes:
        s = self.settings
        fields: dict[str, Any] = {
            "return_code": "SUCCESS",
            "return_msg": "OK",
            "appid": s.wechat_appid,
            "mch_id": s.wechat_mch_id,
            "nonce_str": secrets.token_hex(16),
            "result_code": "SUCCESS",
            "openid": trade.openid,
            "is_subscribe": "N",
            "trade_type": trade.trade_type,
            "bank_type": "OTHERS",
            "total_fee": trade.total_fee,
            "cash_fee": trade.total_fee,
            "fee_type": "CNY",
            "transaction_id": trade.transaction_id,
            "out_trade_no": trade.out_trade_no,
            "attach": trade.attach,
            "time_end": trade.time_end,
        }
        if trade.sign_type != "MD5":
            fields["sign_type"] = trade.sign_type
        return sign_notify(fields, s.wechat_pay_api_key)

    def refund_notify_body(self, refund: Refund) -> bytes:
        s = self.settings
        inner = {
            "out_trade_no": refund.out_trade_no,
            "transaction_id": refund.transaction_id,
            "out_refund_no": refund.out_refund_no,
            "refund_id": refund.refund_id,
            "total_fee": refund.total_fee,
            "settlement_total_fee": refund.total_fee,
            "refund_fee": refund.refund_fee,
            "settlement_refund_fee": refund.refund_fee,
            "refund_status": refund.status,
            "success_time": refund.success_time,
            "refund_recv_accout": "支付用户零钱",
            "refund_account": "REFUND_SOURCE_RECHARGE_FUNDS",
            "refund_request_source": "API",
        }
        return to_xml(
            {
                "return_code": "SUCCESS",
                "appid": s.wechat_appid,
                "mch_id": s.wechat_mch_id,
                "nonce_str": secrets.token_hex(16),
                "req_info": encrypt_refund_info(inner, s.wechat_pay_api_key),
            }
        )

    def settle_refund(self, out_refund_no: str, *, force_notify: bool) -> dict[str, Any] | None:
        """Mark a refund SUCCESS and post its notify. A refund already settled is only
        notified again when `force_notify` (the control endpoint); None if unknown."""
        with self.lock:
            refund = self.refunds.get(out_refund_no)
            if refund is None:
                return None
            if refund.status == "SUCCESS" and not force_notify:
                return {"refund_status": refund.status, "notify_status": None}
            refund.status = "SUCCESS"
            refund.success_time = refund.success_time or _now().strftime("%Y-%m-%d %H:%M:%S")
            url = refund.notify_url
            body = self.refund_notify_body(refund)
            if url:
                refund.notifies_sent += 1
                self.stats["refund_notifies"] += 1
        result: dict[str, Any] = {"refund_status": "SUCCESS", "out_refund_no": out_refund_no}
        if url:
            status, text = post_notify(url, body)
            result.update(notify_status=status, notify_response=text)
        else:
            result.update(notify_status=None, notify_response="no notify_url")
        return result


def post_notify(url: str, body: bytes) -> tuple[int | None, str]:
    """POST a notify as WeChat does; never raises (a dead receiver gives (None, error))."""
    try:
        res = requests.post(
            url, data=body, headers={"Content-Type": "text/xml"}, timeout=NOTIFY_TIMEOUT_SECONDS
        )
    except requests.RequestException as exc:
        log.warning("notify to %s failed: %s", url, exc)
        return None, str(exc)
    return res.status_code, res.text


# --------------------------------------------------------------------------- requests


class _ProtocolFail(Exception):
    """Answered as `return_code FAIL` (unsigned), like WeChat's format/signature errors."""


@dataclass
class _PayRequest:
    fields: dict[str, str]
    sign_type: str


def _state() -> WeChatState:
    return current_app.extensions["emulator_wechat"]  # type: ignore[no-any-return]


def _take_fail() -> ArmedFault | None:
    return current_app.extensions["emulator_faults"].take(request.path, ("fail",))  # type: ignore[no-any-return]


def _protocol_fail(message: str) -> NoReturn:
    raise _ProtocolFail(message)


def _read_pay_request(
    state: WeChatState,
    required: tuple[str, ...],
    mch_field: str = "mch_id",
    appid_field: str = "appid",
) -> _PayRequest:
    """Parse and verify a signed XML request; raises _ProtocolFail on any defect. Enterprise
    payments name the merchant and app `mchid` and `mch_appid`."""
    try:
        doc = xmltodict.parse(request.get_data())
    except (ExpatError, ValueError, xmltodict.ParsingInterrupted):
        _protocol_fail("XML格式错误 (malformed XML)")
    root = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(root, dict):
        _protocol_fail("XML格式错误 (no <xml> root)")
    fields: dict[str, str] = {}
    for key, value in root.items():
        if value is None:
            continue
        if not isinstance(value, str):
            _protocol_fail(f"XML格式错误 ({key} is not a flat value)")
        fields[key] = value
    s = state.settings
    if fields.get(mch_field) != s.wechat_mch_id:
        _protocol_fail(f"{mch_field}参数格式错误 (unknown merchant)")
    sign_type = fields.get("sign_type", "MD5")
    if sign_type not in SIGN_TYPES:
        _protocol_fail("sign_type参数格式错误")
    given = fields.get("sign", "")
    expected = sign_fields(fields, s.wechat_pay_api_key, sign_type)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        _protocol_fail("签名错误")
    if fields.get(appid_field) != s.wechat_appid:
        _protocol_fail(f"{appid_field}和{mch_field}不匹配")
    for name in required:
        if not fields.get(name):
            _protocol_fail(f"缺少参数{name} (missing parameter)")
    return _PayRequest(fields, sign_type)


def _int_field(req: _PayRequest, name: str) -> int:
    raw = req.fields.get(name, "")
    if not (raw.isascii() and raw.isdigit()) or int(raw) <= 0:
        _protocol_fail(f"{name}参数格式错误 (a positive integer of fen)")
    return int(raw)


def _signed(req: _PayRequest, fields: Mapping[str, Any]) -> Response:
    s = _state().settings
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


def _ok(req: _PayRequest, fields: Mapping[str, Any]) -> Response:
    return _signed(req, {"result_code": "SUCCESS", **fields})


def _biz_fail(req: _PayRequest, code: str, message: str) -> Response:
    return _signed(req, {"result_code": "FAIL", "err_code": code, "err_code_des": message})


def _unsigned(fields: Mapping[str, Any]) -> Response:
    """An enterprise-payment answer: WeChat does not sign these (the channel is TLS with the
    merchant's client certificate), so neither does the emulator."""
    body = {"nonce_str": secrets.token_hex(16), **fields}
    return Response(to_xml(body), content_type="text/xml; charset=utf-8")


def _transfer_answer(fields: Mapping[str, Any], return_code: str = "SUCCESS") -> Response:
    s = _state().settings
    return _unsigned(
        {
            "return_code": return_code,
            "return_msg": "" if return_code == "SUCCESS" else BUSY,
            "mch_appid": s.wechat_appid,
            "mchid": s.wechat_mch_id,
            **fields,
        }
    )


def _transfer_fail(code: str, message: str, return_code: str = "SUCCESS") -> Response:
    return _transfer_answer(
        {"result_code": "FAIL", "err_code": code, "err_code_des": message}, return_code
    )


def _json_error(errcode: int, errmsg: str) -> Response:
    return jsonify(errcode=errcode, errmsg=errmsg)


def _json_fault(fault: ArmedFault) -> Response:
    code = int(fault.code) if fault.code.lstrip("-").isdigit() else -1
    return _json_error(code, fault.message)


# --------------------------------------------------------------------------- mini-program


def _stable_id(prefix: str, *parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return prefix + base64.urlsafe_b64encode(digest).decode()[:27]


def wxacode_png(text: str, width: int, line_color: tuple[int, int, int], hyaline: bool) -> bytes:
    """A PNG of `width`×`width` pixels holding a QR code (level M, 4-module border) of
    `text`, scaled with nearest-neighbour so each module stays a solid square."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    n = len(matrix)
    background = (255, 255, 255, 0) if hyaline else (255, 255, 255, 255)
    image = Image.new("RGBA", (n, n), background)
    pixels = image.load()
    assert pixels is not None
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                pixels[x, y] = (*line_color, 255)
    image = image.resize((width, width), Image.Resampling.NEAREST)
    if not hyaline:
        image = image.convert("RGB")
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _line_color(raw: Any) -> tuple[int, int, int]:
    try:
        return (int(raw["r"]), int(raw["g"]), int(raw["b"]))
    except (KeyError, TypeError, ValueError):
        return (0, 0, 0)


def _blueprint() -> Blueprint:
    bp = Blueprint("emulator_wechat", __name__)

    @bp.errorhandler(_ProtocolFail)
    def protocol_fail(exc: _ProtocolFail) -> Response:
        return _fail_xml(str(exc))

    # ----------------------------------------------------------------- mini-program API
    @bp.get("/cgi-bin/token")
    def token() -> Response:
        state = _state()
        with state.lock:
            state.stats["token_fetches"] += 1
        fault = _take_fail()
        if fault is not None:
            return _json_fault(fault)
        args = request.args
        if args.get("grant_type") != "client_credential":
            return _json_error(40002, "invalid grant_type")
        if args.get("appid") != state.settings.wechat_appid:
            return _json_error(40013, "invalid appid")
        if args.get("secret") != state.settings.wechat_appsecret:
            return _json_error(40125, "invalid appsecret")
        return jsonify(access_token=state.issue_token(), expires_in=TOKEN_TTL_SECONDS)

    @bp.get("/sns/jscode2session")
    def jscode2session() -> Response:
        state = _state()
        with state.lock:
            state.stats["jscode2session"] += 1
        fault = _take_fail()
        if fault is not None:
            return _json_fault(fault)
        args = request.args
        appid = args.get("appid", "")
        if appid != state.settings.wechat_appid:
            return _json_error(40013, "invalid appid")
        if args.get("secret") != state.settings.wechat_appsecret:
            return _json_error(40125, "invalid appsecret")
        if args.get("grant_type") != "authorization_code":
            return _json_error(40002, "invalid grant_type")
        code = args.get("js_code", "")
        if not code or code.startswith("invalid"):
            return _json_error(40029, "invalid code")
        return jsonify(
            openid=_stable_id("o", "openid", appid, code),
            session_key=base64.b64encode(secrets.token_bytes(16)).decode(),
            unionid=_stable_id("u", "unionid", code),
        )

    @bp.post("/wxa/getwxacodeunlimit")
    def getwxacodeunlimit() -> Response:
        state = _state()
        with state.lock:
            state.stats["wxacode"] += 1
        if not state.token_valid(request.args.get("access_token", "")):
            return _json_error(40001, "invalid credential, access_token is invalid or not latest")
        fault = _take_fail()
        if fault is not None:
            return _json_fault(fault)
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            return _json_error(47001, "data format error")
        scene = body.get("scene")
        if not isinstance(scene, str) or not 1 <= len(scene) <= 32:
            return _json_error(40169, "invalid length for scene, or the data is not json string")
        page = body.get("page") or DEFAULT_PAGE
        env_version = body.get("env_version") or "release"
        if not isinstance(page, str) or env_version not in ENV_VERSIONS:
            return _json_error(40097, "invalid args")
        if body.get("check_path", True) and page.startswith("/"):
            return _json_error(41030, "invalid page")
        try:
            width = min(max(int(body.get("width") or 430), 280), 1280)
        except (TypeError, ValueError):
            return _json_error(40097, "invalid args")
        png = wxacode_png(
            f"{page}?scene={scene}",
            width,
            _line_color(body.get("line_color")),
            bool(body.get("is_hyaline")),
        )
        with state.lock:
            state.wxacode_by_key[f"{scene}|{page}|{env_version}"] += 1
        return Response(png, content_type="image/png")

    # ----------------------------------------------------------------- WeChat Pay v2
    @bp.post("/pay/unifiedorder")
    def unifiedorder() -> Response:
        state = _state()
        with state.lock:
            state.stats["unifiedorder"] += 1
        req = _read_pay_request(
            state,
            (
                "nonce_str",
                "body",
                "out_trade_no",
                "total_fee",
                "spbill_create_ip",
                "notify_url",
                "trade_type",
            ),
        )
        total_fee = _int_field(req, "total_fee")
        f = req.fields
        if f["trade_type"] not in ("JSAPI", "NATIVE", "APP", "MWEB"):
            _protocol_fail("trade_type参数格式错误")
        fault = _take_fail()
        if fault is not None:
            return _biz_fail(req, fault.code, fault.message)
        if f["trade_type"] == "JSAPI" and not f.get("openid"):
            return _biz_fail(req, "PARAM_ERROR", "JSAPI支付必须传openid")
        fingerprint = (total_fee, f.get("openid"), f["trade_type"], f["body"], f.get("fee_type"))
        with state.lock:
            trade = state.trades.get(f["out_trade_no"])
            if trade is None:
                trade = Trade(
                    out_trade_no=f["out_trade_no"],
                    prepay_id="wx" + _now().strftime("%Y%m%d%H%M%S") + _digits(16),
                    openid=f.get("openid"),
                    total_fee=total_fee,
                    body=f["body"],
                    notify_url=f["notify_url"],
                    trade_type=f["trade_type"],
                    attach=f.get("attach"),
                    sign_type=req.sign_type,
                    fingerprint=fingerprint,
                )
                state.trades[trade.out_trade_no] = trade
            elif trade.state in PAID_STATES:
                return _biz_fail(req, "ORDERPAID", "该订单已支付")
            elif trade.state == "CLOSED":
                return _biz_fail(req, "ORDERCLOSED", "该订单已关闭")
            elif trade.fingerprint != fingerprint:
                return _biz_fail(req, "INVALID_REQUEST", "201 商户订单号重复")
            prepay_id = trade.prepay_id
        return _ok(req, {"prepay_id": prepay_id, "trade_type": f["trade_type"]})

    @bp.post("/pay/orderquery")
    def orderquery() -> Response:
        state = _state()
        with state.lock:
            state.stats["orderquery"] += 1
        req = _read_pay_request(state, ("nonce_str",))
        f = req.fields
        if not f.get("out_trade_no") and not f.get("transaction_id"):
            _protocol_fail("缺少参数out_trade_no或transaction_id")
        fault = _take_fail()
        if fault is not None:
            return _biz_fail(req, fault.code, fault.message)
        with state.lock:
            trade = state.find_trade(f.get("out_trade_no"), f.get("transaction_id"))
            if trade is None:
                return _biz_fail(req, "ORDERNOTEXIST", "订单不存在")
            answer: dict[str, Any] = {
                "out_trade_no": trade.out_trade_no,
                "trade_state": trade.state,
                "trade_state_desc": {
                    "NOTPAY": "订单未支付",
                    "SUCCESS": "支付成功",
                    "CLOSED": "订单已关闭",
                    "REFUND": "订单发生过退款",
                }[trade.state],
                "attach": trade.attach,
            }
            if trade.state in PAID_STATES:
                answer.update(
                    openid=trade.openid,
                    is_subscribe="N",
                    trade_type=trade.trade_type,
                    bank_type="OTHERS",
                    total_fee=trade.total_fee,
                    cash_fee=trade.total_fee,
                    fee_type="CNY",
                    transaction_id=trade.transaction_id,
                    time_end=trade.time_end,
                )
        return _ok(req, answer)

    @bp.post("/pay/closeorder")
    def closeorder() -> Response:
        state = _state()
        with state.lock:
            state.stats["closeorder"] += 1
        req = _read_pay_request(state, ("nonce_str", "out_trade_no"))
        fault = _take_fail()
        if fault is not None:
            return _biz_fail(req, fault.code, fault.message)
        with state.lock:
            trade = state.trades.get(req.fields["out_trade_no"])
            if trade is None:
                return _biz_fail(req, "ORDERNOTEXIST", "订单不存在")
            if trade.state in PAID_STATES:
                return _biz_fail(req, "ORDERPAID", "订单已支付，不能发起关单")
            if trade.state == "CLOSED":
                return _biz_fail(req, "ORDERCLOSED", "订单已关闭，无法重复关闭")
            trade.state = "CLOSED"
        return _ok(req, {})

    @bp.post("/secapi/pay/refund")
    def refund() -> Response:
        state = _state()
        with state.lock:
            state.stats["refunds"] += 1
        req = _read_pay_request(state, ("nonce_str", "out_refund_no", "total_fee", "refund_fee"))
        f = req.fields
        if not f.get("out_trade_no") and not f.get("transaction_id"):
            _protocol_fail("缺少参数out_trade_no或transaction_id")
        total_fee = _int_field(req, "total_fee")
        refund_fee = _int_field(req, "refund_fee")
        fault = _take_fail()
        if fault is not None:
            return _biz_fail(req, fault.code, fault.message)
        with state.lock:
            trade = state.find_trade(f.get("out_trade_no"), f.get("transaction_id"))
            if trade is None:
                return _biz_fail(req, "ORDERNOTEXIST", "订单不存在")
            existing = state.refunds.get(f["out_refund_no"])
            if existing is not None:
                if (
                    existing.out_trade_no != trade.out_trade_no
                    or existing.refund_fee != refund_fee
                    or existing.total_fee != total_fee
                ):
                    return _biz_fail(
                        req, "INVALID_REQUEST", "订单金额或退款金额与之前请求不一致，请核实后再试"
                    )
                refund_row = existing
                new = False
            else:
                if trade.state not in PAID_STATES:
                    return _biz_fail(req, "ERROR", "订单未支付，不能退款 (trade not paid)")
                if total_fee != trade.total_fee:
                    return _biz_fail(
                        req, "INVALID_REQUEST", "订单金额total_fee与实际支付金额不一致"
                    )
                if state.refunded_total(trade.out_trade_no) + refund_fee > trade.total_fee:
                    return _biz_fail(
                        req, "INVALID_REQUEST", "退款金额大于订单可退金额 (exceeds refundable)"
                    )
                assert trade.transaction_id is not None
                refund_row = Refund(
                    out_refund_no=f["out_refund_no"],
                    refund_id="503" + _digits(26),
                    out_trade_no=trade.out_trade_no,
                    transaction_id=trade.transaction_id,
                    total_fee=total_fee,
                    refund_fee=refund_fee,
                    notify_url=f.get("notify_url"),
                )
                state.refunds[refund_row.out_refund_no] = refund_row
                trade.state = "REFUND"
                new = True
            auto = state.auto_refund_notify
        if new and auto:
            threading.Thread(
                target=_settle_later,
                args=(state, refund_row.out_refund_no),
                name="emulator-refund-settle",
                daemon=True,
            ).start()
        return _ok(
            req,
            {
                "transaction_id": refund_row.transaction_id,
                "out_trade_no": refund_row.out_trade_no,
                "out_refund_no": refund_row.out_refund_no,
                "refund_id": refund_row.refund_id,
                "refund_fee": refund_row.refund_fee,
                "settlement_refund_fee": refund_row.refund_fee,
                "total_fee": refund_row.total_fee,
                "settlement_total_fee": refund_row.total_fee,
                "fee_type": "CNY",
                "cash_fee": refund_row.total_fee,
                "cash_refund_fee": refund_row.refund_fee,
            },
        )

    @bp.post("/pay/refundquery")
    def refundquery() -> Response:
        state = _state()
        with state.lock:
            state.stats["refundquery"] += 1
        req = _read_pay_request(state, ("nonce_str",))
        f = req.fields
        keys = ("out_refund_no", "refund_id", "out_trade_no", "transaction_id")
        if not any(f.get(k) for k in keys):
            _protocol_fail("缺少参数out_refund_no")
        fault = _take_fail()
        if fault is not None:
            return _biz_fail(req, fault.code, fault.message)
        with state.lock:
            rows = [
                r
                for r in state.refunds.values()
                if (not f.get("out_refund_no") or r.out_refund_no == f["out_refund_no"])
                and (not f.get("refund_id") or r.refund_id == f["refund_id"])
                and (not f.get("out_trade_no") or r.out_trade_no == f["out_trade_no"])
                and (not f.get("transaction_id") or r.transaction_id == f["transaction_id"])
            ]
            if not rows:
                return _biz_fail(req, "REFUNDNOTEXIST", "退款订单查询失败")
            answer: dict[str, Any] = {
                "out_trade_no": rows[0].out_trade_no,
                "transaction_id": rows[0].transaction_id,
                "total_fee": rows[0].total_fee,
                "cash_fee": rows[0].total_fee,
                "fee_type": "CNY",
                "refund_count": len(rows),
                "refund_fee": sum(r.refund_fee for r in rows),
            }
            for i, r in enumerate(rows):
                answer.update(
                    {
                        f"out_refund_no_{i}": r.out_refund_no,
                        f"refund_id_{i}": r.refund_id,
                        f"refund_fee_{i}": r.refund_fee,
                        f"settlement_refund_fee_{i}": r.refund_fee,
                        f"refund_status_{i}": r.status,
                        f"refund_channel_{i}": "ORIGINAL",
                        f"refund_recv_accout_{i}": "支付用户零钱",
                        f"refund_success_time_{i}": r.success_time,
                    }
                )
        return _ok(req, answer)

    # ----------------------------------------------------------------- enterprise payments
    @bp.post("/mmpaymkttransfers/promotion/transfers")
    def transfers() -> Response:
        """企业付款到零钱, idempotent by partner_trade_no: a repeat with the same parameters
        answers the first payment again, with other parameters FATAL_ERROR. A refused payment
        leaves nothing behind, so its number can be tried again."""
        state = _state()
        with state.lock:
            state.stats["transfers"] += 1
        req = _read_pay_request(
            state,
            ("nonce_str", "partner_trade_no", "openid", "check_name", "amount", "desc"),
            mch_field="mchid",
            appid_field="mch_appid",
        )
        if req.sign_type != "MD5":
            _protocol_fail("签名类型错误 (enterprise payments are signed with MD5)")
        amount = _int_field(req, "amount")
        f = req.fields
        fault = _take_fail()
        if fault is not None:
            return _transfer_fail(fault.code, fault.message)
        armed = state.take_transfer_systemerror()
        if armed is not None and not armed.paid:
            return _transfer_fail("SYSTEMERROR", BUSY, "FAIL" if armed.return_fail else "SUCCESS")
        answer = _do_transfer(state, f, amount)
        if armed is not None:
            return _transfer_fail("SYSTEMERROR", BUSY, "FAIL" if armed.return_fail else "SUCCESS")
        return answer

    @bp.post("/mmpaymkttransfers/gettransferinfo")
    def gettransferinfo() -> Response:
        state = _state()
        with state.lock:
            state.stats["gettransferinfo"] += 1
        req = _read_pay_request(state, ("nonce_str", "partner_trade_no"))
        fault = _take_fail()
        s = state.settings
        ids = {"appid": s.wechat_appid, "mch_id": s.wechat_mch_id}
        if fault is not None:
            return _unsigned(
                {
                    "return_code": "SUCCESS",
                    "result_code": "FAIL",
                    "err_code": fault.code,
                    "err_code_des": fault.message,
                    **ids,
                }
            )
        with state.lock:
            transfer = state.transfers.get(req.fields["partner_trade_no"])
            if transfer is None:
                return _unsigned(
                    {
                        "return_code": "SUCCESS",
                        "return_msg": "获取失败",
                        "result_code": "FAIL",
                        "err_code": "NOT_FOUND",
                        "err_code_des": "指定单号数据不存在",
                        **ids,
                    }
                )
            return _unsigned(
                {
                    "return_code": "SUCCESS",
                    "return_msg": "获取成功",
                    "result_code": "SUCCESS",
                    **ids,
                    "partner_trade_no": transfer.partner_trade_no,
                    "detail_id": transfer.payment_no,
                    "status": transfer.status,
                    "reason": transfer.reason,
                    "openid": transfer.openid,
                    "transfer_name": transfer.re_user_name,
                    "payment_amount": transfer.amount,
                    "transfer_time": transfer.payment_time,
                    "payment_time": transfer.payment_time,
                    "desc": transfer.desc,
                }
            )

    # ----------------------------------------------------------------- control
    @bp.post("/_emulator/wechat/transfer-systemerror")
    def control_transfer_systemerror() -> tuple[Response, int] | Response:
        """Body: {"times": 1, "paid": true, "return_fail": false}: the next `times` transfers
        answer SYSTEMERROR, after making the payment (`paid`) or without making it."""
        body = request.get_json(silent=True) or {}
        try:
            times = int(body.get("times", 1))
        except (TypeError, ValueError):
            return jsonify(error="times must be an integer"), 400
        state = _state()
        with state.lock:
            state.transfer_systemerror = (
                TransferSystemError(
                    remaining=times,
                    paid=body.get("paid", True) is not False,
                    return_fail=bool(body.get("return_fail", False)),
                )
                if times > 0
                else None
            )
        return jsonify(ok=True)

    @bp.post("/_emulator/wechat/transfer-status")
    def control_transfer_status() -> tuple[Response, int] | Response:
        """Body: {"partner_trade_no", "status": SUCCESS|FAILED|PROCESSING, "reason"?}: what
        gettransferinfo reports for a payment made (the payment counts are untouched)."""
        body = request.get_json(silent=True) or {}
        status = str(body.get("status", ""))
        if status not in TRANSFER_STATUSES:
            return jsonify(error=f"status must be one of {TRANSFER_STATUSES}"), 400
        state = _state()
        with state.lock:
            transfer = state.transfers.get(str(body.get("partner_trade_no", "")))
            if transfer is None:
                return jsonify(error="no such transfer"), 404
            transfer.status = status
            transfer.reason = str(body["reason"]) if body.get("reason") else None
        return jsonify(ok=True)

    @bp.post("/_emulator/wechat/pay")
    def control_pay() -> tuple[Response, int] | Response:
        state = _state()
        body = request.get_json(silent=True) or {}
        with state.lock:
            if body.get("out_trade_no"):
                trade = state.trades.get(str(body["out_trade_no"]))
            else:
                trade = state.find_by_prepay(str(body.get("prepay_id", "")))
            if trade is None:
                return jsonify(error="no such trade"), 404
            if trade.state == "CLOSED":
                return jsonify(error="trade is closed"), 409
            if trade.state == "NOTPAY":
                now = _now()
                trade.state = "SUCCESS"
                trade.transaction_id = "4200" + _digits(6) + now.strftime("%Y%m%d") + _digits(10)
                trade.time_end = now.strftime("%Y%m%d%H%M%S")
                trade.notify_body = state.pay_notify_body(trade)
            answer: dict[str, Any] = {"transaction_id": trade.transaction_id}
            notify = body.get("notify", True) is not False
            url, payload = trade.notify_url, trade.notify_body
            if notify:
                trade.notifies_sent += 1
                state.stats["pay_notifies"] += 1
        if notify and payload is not None:
            status, text = post_notify(url, payload)
            answer.update(notify_status=status, notify_response=text)
        return jsonify(answer)

    @bp.post("/_emulator/wechat/notify")
    def control_notify() -> tuple[Response, int] | Response:
        state = _state()
        body = request.get_json(silent=True) or {}
        with state.lock:
            trade = state.trades.get(str(body.get("out_trade_no", "")))
            if trade is None:
                return jsonify(error="no such trade"), 404
            if trade.notify_body is None:
                return jsonify(error="trade not paid"), 409
            url, payload = trade.notify_url, trade.notify_body
            trade.notifies_sent += 1
            state.stats["pay_notifies"] += 1
        status, text = post_notify(url, payload)
        return jsonify(
            transaction_id=trade.transaction_id, notify_status=status, notify_response=text
        )

    @bp.post("/_emulator/wechat/settle-refund")
    def control_settle_refund() -> tuple[Response, int] | Response:
        body = request.get_json(silent=True) or {}
        result = _state().settle_refund(str(body.get("out_refund_no", "")), force_notify=True)
        if result is None:
            return jsonify(error="no such refund"), 404
        return jsonify(result)

    @bp.post("/_emulator/wechat/config")
    def control_config() -> Response:
        state = _state()
        body = request.get_json(silent=True) or {}
        with state.lock:
            if "auto_refund_notify" in body:
                state.auto_refund_notify = bool(body["auto_refund_notify"])
            return jsonify(auto_refund_notify=state.auto_refund_notify)

    @bp.post("/_emulator/wechat/expire-tokens")
    def control_expire_tokens() -> Response:
        state = _state()
        with state.lock:
            expired = len(state.tokens)
            state.tokens.clear()
        return jsonify(expired=expired)

    @bp.post("/_emulator/wechat/reset")
    def control_reset() -> Response:
        _state().reset()
        v3_state = current_app.extensions.get("emulator_wechat_v3")  # merchant transfers
        if v3_state is not None:
            v3_state.reset()
        return jsonify(ok=True)

    @bp.get("/_emulator/wechat/stats")
    def control_stats() -> Response:
        state = _state()
        with state.lock:
            names = (
                "token_fetches",
                "jscode2session",
                "wxacode",
                "unifiedorder",
                "orderquery",
                "closeorder",
                "refunds",
                "refundquery",
                "pay_notifies",
                "refund_notifies",
                "transfers",
                "gettransferinfo",
            )
            stats: dict[str, Any] = {name: state.stats[name] for name in names}
            stats["transfers_paid"] = dict(state.transfers_paid)
            stats["wxacode_by_key"] = dict(state.wxacode_by_key)
            stats["valid_tokens"] = len(state.tokens)
        return jsonify(stats)

    @bp.get("/_emulator/wechat/trades/<out_trade_no>")
    def control_trade(out_trade_no: str) -> tuple[Response, int] | Response:
        state = _state()
        with state.lock:
            trade = state.trades.get(out_trade_no)
            if trade is None:
                return jsonify(error="no such trade"), 404
            data = asdict(trade)
            data.pop("notify_body")
            data.pop("fingerprint")
            data["refunds"] = [
                asdict(r) for r in state.refunds.values() if r.out_trade_no == out_trade_no
            ]
        return jsonify(data)

    return bp


def _do_transfer(state: WeChatState, f: Mapping[str, str], amount: int) -> Response:
    """Make (or find again) the payment a verified transfers request asks for."""
    check_name = f["check_name"]
    if check_name not in TRANSFER_CHECK_NAMES:
        return _transfer_fail("PARAM_ERROR", "check_name参数错误 (NO_CHECK or FORCE_CHECK)")
    name = f.get("re_user_name") if check_name == "FORCE_CHECK" else None
    if check_name == "FORCE_CHECK" and not name:
        return _transfer_fail("PARAM_ERROR", "收款用户姓名不能为空 (re_user_name)")
    fingerprint = (f["openid"], amount, check_name, name, f["desc"])
    with state.lock:
        transfer = state.transfers.get(f["partner_trade_no"])
        if transfer is not None:
            if transfer.fingerprint != fingerprint:
                return _transfer_fail("FATAL_ERROR", "已存在该单，并且订单信息不一致")
        else:
            if f["openid"].startswith("invalid"):
                return _transfer_fail("OPENID_ERROR", "Openid格式错误或者不属于商家公众账号")
            if amount < TRANSFER_MIN_FEN:
                return _transfer_fail("AMOUNT_LIMIT", "付款金额不能小于最低限额")
            if amount > TRANSFER_MAX_FEN:
                return _transfer_fail("AMOUNT_LIMIT", "付款金额超出限制")
            if name == WRONG_NAME:
                return _transfer_fail("NAME_MISMATCH", "真实姓名不一致")
            now = _now()
            transfer = Transfer(
                partner_trade_no=f["partner_trade_no"],
                payment_no="1000018301" + now.strftime("%Y%m%d") + _digits(10),
                openid=f["openid"],
                amount=amount,
                desc=f["desc"],
                check_name=check_name,
                re_user_name=name,
                payment_time=now.strftime("%Y-%m-%d %H:%M:%S"),
                fingerprint=fingerprint,
            )
            state.transfers[transfer.partner_trade_no] = transfer
            state.transfers_paid[transfer.partner_trade_no] += 1
        return _transfer_answer(
            {
                "result_code": "SUCCESS",
                "partner_trade_no": transfer.partner_trade_no,
                "payment_no": transfer.payment_no,
                "payment_time": transfer.payment_time,
            }
        )


def _settle_later(state: WeChatState, out_refund_no: str) -> None:
    time.sleep(REFUND_SETTLE_DELAY_SECONDS)
    state.settle_refund(out_refund_no, force_notify=False)


def register(app: Flask, settings: EmulatorSettings) -> None:
    """Add the WeChat endpoints to the emulator app; state goes in
    `app.extensions["emulator_wechat"]` (a `WeChatState`)."""
    app.extensions["emulator_wechat"] = WeChatState(settings)
    app.register_blueprint(_blueprint())
