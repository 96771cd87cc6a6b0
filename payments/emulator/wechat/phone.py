"""The phone number behind a `getPhoneNumber` button, as WeChat's servers give it.

- `POST /wxa/business/getuserphonenumber?access_token=…` body `{"code": …}`: 40001 for a
  token the emulator did not issue (or an injected fault, `wire.refused_call`), 47001 for a
  body that is not a JSON object, 40029 for a code it does not know or that was used
  already (a code is good once, as WeChat's are), else `errcode 0` and `phone_info`
  (phoneNumber, purePhoneNumber, countryCode, watermark {appid, timestamp}).
- Control: `POST /_emulator/wechat/phone-code {code, phone, country_code?, appid?}` makes
  `code` stand for `phone` (country code "86" by default); `appid` overrides the watermark's
  appid, to test that the app checks it.
"""

from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify, request

from payments.emulator.wechat.state import current_state
from payments.emulator.wechat.wire import api_call, json_error, json_object

bp = Blueprint("emulator_wechat_phone", __name__)


@bp.post("/wxa/business/getuserphonenumber")
@api_call("getuserphonenumber")
def getuserphonenumber() -> Response:
    state = current_state()
    body = json_object()
    code = body.get("code")
    with state.lock:
        found = state.phone_codes.pop(code, None) if isinstance(code, str) else None
    if found is None:
        return json_error(40029, "invalid code")
    country, number, appid = found
    return jsonify(
        errcode=0,
        errmsg="ok",
        phone_info={
            "phoneNumber": number if country == "86" else f"+{country}{number}",
            "purePhoneNumber": number,
            "countryCode": country,
            "watermark": {
                "appid": appid or state.settings.wechat_appid,
                "timestamp": int(time.time()),
            },
        },
    )


@bp.post("/_emulator/wechat/phone-code")
def control_phone_code() -> tuple[Response, int] | Response:
    body = request.get_json(silent=True) or {}
    code, phone = str(body.get("code") or ""), str(body.get("phone") or "")
    if not code or not phone:
        return jsonify(error="code and phone are required"), 400
    country = str(body.get("country_code") or "86")
    state = current_state()
    with state.lock:
        state.phone_codes[code] = (country, phone, str(body.get("appid") or ""))
    return jsonify(ok=True)
