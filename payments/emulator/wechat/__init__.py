"""The WeChat half of the gateway emulator: mini-program server API and WeChat Pay v2.

Endpoints speak the official wire formats so that wechatpy runs unchanged against them:

- `GET /cgi-bin/token`, `GET /sns/jscode2session`, `POST /wxa/getwxacodeunlimit` (JSON);
- `POST /pay/unifiedorder`, `/pay/orderquery`, `/pay/closeorder`, `/secapi/pay/refund`,
  `/pay/refundquery` (XML, MD5 or HMAC-SHA256 signed with the API key);
- shipping information and the carrier list (`shipping`: upload_shipping_info, get_order,
  notify_confirm_receive, get_delivery_list; JSON);
- `POST /mmpaymkttransfers/promotion/transfers`, `/mmpaymkttransfers/gettransferinfo`
  (企业付款到零钱, MD5-signed requests; answered unsigned, as WeChat answers these two).

Control endpoints under `/_emulator/wechat/` (JSON) pay trades, (re)post notifies, settle
refunds, expire access tokens, reset state and expose counters; see `register`. For
enterprise payments: `transfer-systemerror {times, paid, return_fail}` makes the next
transfers answer SYSTEMERROR after paying (or without), `transfer-status {partner_trade_no,
status, reason}` sets what gettransferinfo reports, and `stats` has `transfers_paid`
(payments made per partner_trade_no). An openid starting with "invalid" is OPENID_ERROR;
FORCE_CHECK with re_user_name "错误姓名" is NAME_MISMATCH.

Subscribe messages and the message push (`subscribe`): `POST /cgi-bin/message/subscribe/send`
checks the token, the template and each keyword's value (47003 for bad data, 43101 for a
user the control endpoint `subscribe/refuse` marked as without consent);
`/_emulator/wechat/subscribe/sent` lists what was sent, and `/_emulator/wechat/message-push`
posts a signed, encrypted push to the app.

Phone numbers (`phone`): `POST /wxa/business/getuserphonenumber {code}` (access token)
answers the number a control call `POST /_emulator/wechat/phone-code {code, phone,
country_code?}` registered for that code, once: an unknown or used code is 40029.

Nothing here raises on bad input: malformed XML or a wrong signature is answered with
`return_code FAIL`, as WeChat does.

Layout: `protocol` (signing, XML, constants), `state` (what is remembered), `wire` (reading
requests, shaping answers), one module of endpoints per concern (`miniprogram`, `pay`,
`refund`, `transfer`) and `control`.
"""

from __future__ import annotations

from flask import Flask

from payments.emulator.settings import EmulatorSettings
from payments.emulator.wechat import (
    control,
    miniprogram,
    pay,
    phone,
    refund,
    shipping,
    subscribe,
    transfer,
)
from payments.emulator.wechat.protocol import (
    encrypt_refund_info,
    sign_fields,
    sign_notify,
    to_xml,
)
from payments.emulator.wechat.state import WeChatState, post_notify

__all__ = [
    "WeChatState",
    "encrypt_refund_info",
    "post_notify",
    "register",
    "sign_fields",
    "sign_notify",
    "to_xml",
]


def register(app: Flask, settings: EmulatorSettings) -> None:
    """Add the WeChat endpoints to the emulator app; state goes in
    `app.extensions["emulator_wechat"]` (a `WeChatState`)."""
    app.extensions["emulator_wechat"] = WeChatState(settings)
    app.extensions["emulator_wechat_subscribe"] = subscribe.SubscribeState(settings)
    for module in (miniprogram, phone, pay, refund, transfer, shipping, subscribe, control):
        app.register_blueprint(module.bp)
