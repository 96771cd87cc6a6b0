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

Layout: `protocol` (signing, notify crypto, constants), `state`, `wire` (reading requests,
shaping answers), `bills` (the merchant API) and `control`.
"""

from __future__ import annotations

from flask import Flask

from payments.emulator.settings import EmulatorSettings
from payments.emulator.wechat_v3 import bills, control
from payments.emulator.wechat_v3.protocol import (
    build_notify,
    encrypt_resource,
    load_private_key,
    sign_message,
    signed_headers,
)
from payments.emulator.wechat_v3.state import Bill, WeChatV3State

__all__ = [
    "Bill",
    "WeChatV3State",
    "build_notify",
    "encrypt_resource",
    "load_private_key",
    "register",
    "sign_message",
    "signed_headers",
]


def register(app: Flask, settings: EmulatorSettings) -> None:
    """Add the v3 merchant-transfer endpoints; state goes in
    `app.extensions["emulator_wechat_v3"]` (a `WeChatV3State`)."""
    app.extensions["emulator_wechat_v3"] = WeChatV3State(settings)
    for module in (bills, control):
        app.register_blueprint(module.bp)
