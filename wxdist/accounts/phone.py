"""The shopper's phone number, from the mini-program's `getPhoneNumber` button.

The button gives the mini-program a one-time code; the server exchanges it with WeChat
(`wxa/business/getuserphonenumber`), checks that the answer's watermark names this
store's appid, and keeps the number on the user. People see it masked (`mask_phone`):
every API answer and panel page, except the staff's reveal on the panel, which is audited.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _

from payments.errors import GatewayRejected, GatewayUnavailable
from wxdist.core.errors import ApiError, GatewayFailed
from wxdist.core.extensions import db
from wxdist.core.gateways import gateways
from wxdist.models import User

PHONE_PATH = "wxa/business/getuserphonenumber"


def mask_phone(phone: str | None) -> str | None:
    """13800138000 → 138****8000; a short number keeps only its last two digits; None stays
    None."""
    if not phone:
        return None
    if len(phone) >= 7:
        return f"{phone[:3]}****{phone[-4:]}"
    return "*" * (len(phone) - 2) + phone[-2:]


def bind_phone(user: User, code: str) -> User:
    """Exchange a getPhoneNumber `code` and store the number on `user`; commits.

    Raises ApiError 400 `invalid_phone_code` (field `code`) when WeChat refuses the code
    (unknown, expired or used: errcode 40029), GatewayFailed when WeChat cannot be reached
    or answers something that is not a phone number of this store's appid.
    """
    try:
        answer = gateways().miniprogram.post_json(PHONE_PATH, {"code": code})
    except GatewayRejected as exc:
        raise ApiError(
            _("WeChat refused the phone number code"),
            code="invalid_phone_code",
            fields={
                "code": _("unknown, expired or already used (WeChat %(errcode)s)", errcode=exc.code)
            },
        ) from None
    except GatewayUnavailable:
        raise GatewayFailed(_("WeChat did not answer; try again")) from None
    country, number = _phone_in(answer)
    user.phone, user.phone_country_code = number, country
    db.session.commit()
    return user


def _phone_in(answer: dict[str, Any]) -> tuple[str, str]:
    """(country code, pure number) of a genuine answer for this appid. Raises GatewayFailed."""
    info = answer.get("phone_info")
    if not isinstance(info, dict):
        raise GatewayFailed(_("WeChat answered without a phone number"))
    watermark = info.get("watermark")
    appid = watermark.get("appid") if isinstance(watermark, dict) else None
    if appid != current_app.config["WECHAT_APPID"]:
        raise GatewayFailed(_("WeChat's answer is for another mini-program"))
    number, country = info.get("purePhoneNumber"), info.get("countryCode")
    if not isinstance(number, str) or not number.isdigit() or not 5 <= len(number) <= 20:
        raise GatewayFailed(_("WeChat answered without a phone number"))
    return (str(country) if country else "86")[:8], number
