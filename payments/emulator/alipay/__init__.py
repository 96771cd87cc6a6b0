"""Emulated Alipay open-platform gateway (`/gateway.do`) plus control endpoints.

Speaks what alipay-sdk-python speaks: common parameters in the query string (and/or form),
`biz_content` in the form body (or the query string of a page-method GET), an RSA2
(SHA256withRSA) signature over the sorted `k=v&…` string of every non-empty parameter but
`sign` (so `sign_type` is signed), and JSON answers shaped
`{"<method_with_underscores>_response": {...}, "sign": "..."}` where `sign` is RSA2 by the
platform key over the exact text of the response object.

Methods: `alipay.trade.wap.pay` (page method: records the trade and shows a cashier page),
`alipay.trade.query`, `alipay.trade.close`, `alipay.trade.refund`, and the payouts
`alipay.fund.trans.uni.transfer` (TRANS_ACCOUNT_NO_PWD / DIRECT_TRANSFER to an Alipay
account; idempotent by out_biz_no, PAYMENT_INFO_INCONSISTENCY when the same number comes
with other parameters) and `alipay.fund.trans.common.query`. Payees for tests: name
`错误姓名` → PAYEE_USER_INFO_ERROR, login id `nobody@example.com` → PAYEE_NOT_EXIST,
`frozen@example.com` → PAYEE_ACCOUNT_STATUS_ERROR.

Control endpoints (JSON, for tests and manual runs):

- `POST /_emulator/alipay/pay` `{"out_trade_no", "notify": true}`: the buyer pays; posts the
  signed `trade_status_sync` notify to the trade's notify_url unless `notify` is false.
  Unknown trade → 404, closed trade → 409, already paid → 200 without a new notify.
- `POST /_emulator/alipay/notify` `{"out_trade_no"}`: post the notify again (current status).
- `POST /_emulator/alipay/finish` `{"out_trade_no"}`: a paid trade becomes TRADE_FINISHED.
- `POST /_emulator/alipay/reset`: forget every trade and zero the counters.
- `GET /_emulator/alipay/stats`: `{method: count}` of gateway calls, plus
  `"transfers_paid": {out_biz_no: count}`, how many times money actually left for a payout.
- `GET /_emulator/alipay/trades/<out_trade_no>`: the emulator's record of a trade.
- `GET /_emulator/alipay/transfers/<out_biz_no>`: the emulator's record of a payout.
- `POST /_emulator/alipay/transfers/<out_biz_no>/status` `{"status", "error_code"?,
  "fail_reason"?}`: move a payout to SUCCESS, DEALING, FAIL or REFUND (as later seen by
  `alipay.fund.trans.common.query`); the paid count is not changed.
- `POST /_emulator/alipay/balance` `{"balance_fen": int | null}`: the merchant's balance for
  payouts (null, the default after reset: unlimited); short → PAYER_BALANCE_NOT_ENOUGH.

Layout: `protocol` (constants, signing), `state`, `wire` (reading requests, shaping
answers), `trade` and `fund` (the gateway methods), `notify`, `gateway` (the one endpoint
that dispatches them) and `control`.
"""

from __future__ import annotations

from flask import Flask

from payments.emulator.alipay import control, gateway
from payments.emulator.alipay.notify import notify_fields, post_notify
from payments.emulator.alipay.protocol import (
    EXTENSION,
    rsa2_sign,
    rsa2_verify,
    sign_content,
    sign_notify,
)
from payments.emulator.alipay.state import AlipayEmulatorState
from payments.emulator.alipay.wire import signed_answer
from payments.emulator.settings import EmulatorSettings

__all__ = [
    "AlipayEmulatorState",
    "notify_fields",
    "post_notify",
    "register",
    "rsa2_sign",
    "rsa2_verify",
    "sign_content",
    "sign_notify",
    "signed_answer",
]


def register(app: Flask, settings: EmulatorSettings) -> None:
    """Mount the Alipay gateway on `app` with fresh state. Raises ValueError if the settings'
    keys are not RSA private keys."""
    app.extensions[EXTENSION] = AlipayEmulatorState(settings)
    for module in (gateway, control):
        app.register_blueprint(module.bp)
