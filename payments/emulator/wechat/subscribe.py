"""Subscribe messages and the message push, as WeChat's servers do them.

- `POST /cgi-bin/message/subscribe/send` (JSON, access token): 40037 for a template the
  emulator does not know, 40003 for an openid it never issued a form for (empty), 47003
  for data that breaks a keyword's rule (WeChat's "argument invalid! data.thing1.value"),
  43101 for a user marked without consent, else 0 and the message is kept.
- Control: `POST /_emulator/wechat/subscribe/refuse {openid, template_id?}` (the user has no
  consent: every later send to them answers 43101; `{"clear": true}` undoes it),
  `POST /_emulator/wechat/subscribe/templates {template_id}` (know one more template),
  `GET /_emulator/wechat/subscribe/sent` (what was sent, and the counters),
  `POST /_emulator/wechat/message-push {url, message, format?, tamper?}` (post a signed,
  encrypted push to the app: `format` json or xml; `tamper` "signature" signs wrongly,
  "ciphertext" alters the ciphertext after signing it, "garbage" signs a ciphertext that
  is no message).

The keyword rules are WeChat's, written here independently of the app's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
import unicodedata
from collections import Counter
from typing import Any

import requests
import xmltodict
from flask import Blueprint, Response, current_app, jsonify, request
from wechatpy.crypto import PrpCrypto

from payments.emulator.settings import EmulatorSettings
from payments.emulator.wechat.state import current_state
from payments.emulator.wechat.wire import json_error, refused_call

bp = Blueprint("emulator_wechat_subscribe", __name__)

HAN = "\u3400-\u4dbf\u4e00-\u9fff"
DATE = (
    r"(\d{4}年\d{1,2}月(\d{1,2}日)?|\d{1,2}月\d{1,2}日"
    r"|\d{4}[-/.]\d{1,2}([-/.]\d{1,2})?|\d{1,2}[-/.]\d{1,2})"
)
CLOCK = r"([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?"
RULES: dict[str, str] = {
    "number": r"[0-9.]{1,32}",
    "letter": r"[A-Za-z]{1,32}",
    "character_string": r"[\x21-\x7e]{1,32}",
    "time": rf"({DATE} ?)?{CLOCK}( ?~ ?({DATE} ?)?{CLOCK})?",
    "date": rf"{DATE}( ?{CLOCK})?( ?~ ?{DATE}( ?{CLOCK})?)?",
    "amount": r"[¥￥$€£]?[0-9]{1,10}(\.[0-9]+)?元?",
    "phone_number": r"[0-9+\-()#*]{1,17}",
    "car_number": rf"[{HAN}A-Za-z0-9][A-Za-z0-9]{{0,6}}[{HAN}A-Za-z0-9]?",
    "name": rf"[{HAN}A-Za-z·]{{1,10}}|[A-Za-z .\-·']{{1,20}}",
    "phrase": rf"[{HAN}]{{1,5}}",
}


def value_ok(keyword: str, value: Any) -> bool:
    """Whether `value` obeys the rule of `keyword`'s type (its name less the digits)."""
    kind = keyword.rstrip("0123456789")
    if not isinstance(value, str) or not value or kind == keyword:
        return False
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in value):
        return False
    if kind == "thing":
        return len(value) <= 20
    if kind == "symbol":
        return len(value) <= 5 and all(unicodedata.category(c)[0] in "PS" for c in value)
    rule = RULES.get(kind)
    return rule is not None and re.fullmatch(rule, value) is not None


class SubscribeState:
    """Templates known, users without consent, messages sent; every access under `lock`."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.templates: set[str] = set(self.settings.subscribe_templates)
            self.refused: set[tuple[str, str]] = set()  # (openid, template id or "*")
            self.sent: list[dict[str, Any]] = []
            self.stats: Counter[str] = Counter()

    def refuses(self, openid: str, template_id: str) -> bool:
        return (openid, template_id) in self.refused or (openid, "*") in self.refused


def subscribe_state() -> SubscribeState:
    return current_app.extensions["emulator_wechat_subscribe"]  # type: ignore[no-any-return]


def _bad_data(data: Any) -> str | None:
    """The first keyword at fault, or None."""
    if not isinstance(data, dict) or not data:
        return "data"
    for keyword, item in data.items():
        if not isinstance(item, dict) or not value_ok(keyword, item.get("value")):
            return keyword
    return None


@bp.post("/cgi-bin/message/subscribe/send")
def send() -> Response:
    state = subscribe_state()
    with state.lock:
        state.stats["send_requests"] += 1
    refused = refused_call()
    if refused is not None:
        return refused
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        return json_error(47001, "data format error")
    openid, template_id = body.get("touser"), body.get("template_id")
    if not isinstance(openid, str) or not openid:
        return json_error(40003, "invalid openid")
    with state.lock:
        if template_id not in state.templates:
            return json_error(40037, "invalid template_id")
        refused = state.refuses(openid, str(template_id))
    bad = _bad_data(body.get("data"))
    if bad is not None:
        return json_error(47003, f"argument invalid! data.{bad}.value invalid")
    if body.get("miniprogram_state", "formal") not in ("developer", "trial", "formal"):
        return json_error(47003, "argument invalid! miniprogram_state invalid")
    if refused:
        with state.lock:
            state.stats["refused"] += 1
        return json_error(43101, "user refuse to accept the msg")
    with state.lock:
        state.sent.append(
            {
                k: body.get(k)
                for k in ("touser", "template_id", "page", "data", "miniprogram_state", "lang")
            }
        )
        state.stats["sent"] += 1
    return json_error(0, "ok")


@bp.post("/_emulator/wechat/subscribe/refuse")
def control_refuse() -> tuple[Response, int] | Response:
    body = request.get_json(silent=True) or {}
    state = subscribe_state()
    with state.lock:
        if body.get("clear"):
            state.refused.clear()
            return jsonify(ok=True)
        openid = str(body.get("openid", ""))
        if not openid:
            return jsonify(error="openid is required"), 400
        state.refused.add((openid, str(body.get("template_id") or "*")))
    return jsonify(ok=True)


@bp.post("/_emulator/wechat/subscribe/templates")
def control_templates() -> tuple[Response, int] | Response:
    template_id = str((request.get_json(silent=True) or {}).get("template_id", ""))
    if not template_id:
        return jsonify(error="template_id is required"), 400
    state = subscribe_state()
    with state.lock:
        state.templates.add(template_id)
    return jsonify(ok=True)


@bp.get("/_emulator/wechat/subscribe/sent")
def control_sent() -> Response:
    state = subscribe_state()
    with state.lock:
        return jsonify(sent=list(state.sent), stats=dict(state.stats))


def _signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _envelope(plain: str, fmt: str, tamper: str | None) -> tuple[str, str, str, str, str]:
    """(body, signature, msg_signature, timestamp, nonce) of an encrypted push."""
    s = current_state().settings
    token = s.wechat_message_token
    key = base64.b64decode(s.wechat_message_aes_key + "=")
    encrypt = PrpCrypto(key).encrypt(plain, s.wechat_appid).decode()
    if tamper == "garbage":
        encrypt = base64.b64encode(secrets.token_bytes(64)).decode()
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    signature = _signature(token, timestamp, nonce)
    msg_signature = _signature(token, timestamp, nonce, encrypt)
    if tamper == "ciphertext":
        flipped = "A" if encrypt[10] != "A" else "B"
        encrypt = encrypt[:10] + flipped + encrypt[11:]
    if tamper == "signature":
        signature = _signature("not-the-token", timestamp, nonce)
    envelope = {"ToUserName": "gh_emulator0000", "Encrypt": encrypt}
    body = (
        json.dumps(envelope)
        if fmt == "json"
        else xmltodict.unparse({"xml": envelope}, full_document=False)
    )
    return body, signature, msg_signature, timestamp, nonce


@bp.post("/_emulator/wechat/message-push")
def control_message_push() -> tuple[Response, int] | Response:
    """Body: {"url", "message": {event fields}, "format": "json"|"xml", "tamper"?}."""
    body = request.get_json(silent=True) or {}
    url, fields = body.get("url"), body.get("message")
    fmt, tamper = body.get("format", "json"), body.get("tamper")
    if not isinstance(url, str) or not isinstance(fields, dict) or fmt not in ("json", "xml"):
        return jsonify(error="url, message (an object) and format json|xml are required"), 400
    openid = str(fields.get("FromUserName") or "oEmulatorPushUser")
    message = {
        "ToUserName": "gh_emulator0000",
        "FromUserName": openid,
        "CreateTime": int(time.time()),
        "MsgType": "event",
        **fields,
    }
    plain = (
        json.dumps(message, ensure_ascii=False)
        if fmt == "json"
        else xmltodict.unparse({"xml": message}, full_document=False)
    )
    payload, signature, msg_signature, timestamp, nonce = _envelope(plain, fmt, tamper)
    params = {
        "signature": signature,
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": openid,
        "encrypt_type": "aes",
        "msg_signature": msg_signature,
    }
    content_type = "application/json" if fmt == "json" else "text/xml"
    try:
        res = requests.post(
            url,
            params=params,
            data=payload.encode(),
            headers={"Content-Type": content_type},
            timeout=10,
        )
    except requests.RequestException as exc:
        return jsonify(status=None, body=str(exc))
    with subscribe_state().lock:
        subscribe_state().stats["pushes"] += 1
    return jsonify(status=res.status_code, body=res.text)
