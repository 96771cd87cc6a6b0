"""Mini-program server API: `/cgi-bin/token`, `/sns/jscode2session`,
`/wxa/getwxacodeunlimit` (JSON answers, errcode/errmsg on failure).
"""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
from typing import Any

import qrcode
from flask import Blueprint, Response, jsonify, request
from PIL import Image

from payments.emulator.wechat.protocol import DEFAULT_PAGE, ENV_VERSIONS, TOKEN_TTL_SECONDS
from payments.emulator.wechat.state import current_state
from payments.emulator.wechat.wire import api_call, json_error, json_fault, json_object, take_fail

bp = Blueprint("emulator_wechat_miniprogram", __name__)


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


@bp.get("/cgi-bin/token")
def token() -> Response:
    state = current_state()
    state.count("token_fetches")
    fault = take_fail()
    if fault is not None:
        return json_fault(fault)
    args = request.args
    if args.get("grant_type") != "client_credential":
        return json_error(40002, "invalid grant_type")
    if args.get("appid") != state.settings.wechat_appid:
        return json_error(40013, "invalid appid")
    if args.get("secret") != state.settings.wechat_appsecret:
        return json_error(40125, "invalid appsecret")
    return jsonify(access_token=state.issue_token(), expires_in=TOKEN_TTL_SECONDS)


@bp.get("/sns/jscode2session")
def jscode2session() -> Response:
    state = current_state()
    state.count("jscode2session")
    fault = take_fail()
    if fault is not None:
        return json_fault(fault)
    args = request.args
    appid = args.get("appid", "")
    if appid != state.settings.wechat_appid:
        return json_error(40013, "invalid appid")
    if args.get("secret") != state.settings.wechat_appsecret:
        return json_error(40125, "invalid appsecret")
    if args.get("grant_type") != "authorization_code":
        return json_error(40002, "invalid grant_type")
    code = args.get("js_code", "")
    if not code or code.startswith("invalid"):
        return json_error(40029, "invalid code")
    return jsonify(
        openid=_stable_id("o", "openid", appid, code),
        session_key=base64.b64encode(secrets.token_bytes(16)).decode(),
        unionid=_stable_id("u", "unionid", code),
    )


@bp.post("/wxa/getwxacodeunlimit")
@api_call("wxacode")
def getwxacodeunlimit() -> Response:
    state = current_state()
    body = json_object()
    scene = body.get("scene")
    if not isinstance(scene, str) or not 1 <= len(scene) <= 32:
        return json_error(40169, "invalid length for scene, or the data is not json string")
    page = body.get("page") or DEFAULT_PAGE
    env_version = body.get("env_version") or "release"
    if not isinstance(page, str) or env_version not in ENV_VERSIONS:
        return json_error(40097, "invalid args")
    if body.get("check_path", True) and page.startswith("/"):
        return json_error(41030, "invalid page")
    try:
        width = min(max(int(body.get("width") or 430), 280), 1280)
    except (TypeError, ValueError):
        return json_error(40097, "invalid args")
    png = wxacode_png(
        f"{page}?scene={scene}",
        width,
        _line_color(body.get("line_color")),
        bool(body.get("is_hyaline")),
    )
    with state.lock:
        state.wxacode_by_key[f"{scene}|{page}|{env_version}"] += 1
    return Response(png, content_type="image/png")
